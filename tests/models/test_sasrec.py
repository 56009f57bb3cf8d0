"""SASRec: training windows, the learned order, determinism, losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.contract import PAD, ScoreBatch
from recplug.errors import ConfigError, ModelError
from recplug.models._torch import TorchModel
from recplug.models.baselines.pop import Popularity
from recplug.models.sequential.sasrec import SASRec
from recplug.testing import to_numpy
from recplug.testing.generated import batch_of, chains, hit_rate, options
from recplug.training import shuffled_batches
from recplug.training.losses import bce_loss, l2_batch, softmax_ce
from recplug.training.negatives import NegativeSampler
from recplug.training.sequences import next_item_windows

FAST = dict(epochs=15, lr=5e-3, batch_size=64, hidden=32, max_len=16, dropout=0.1)


@pytest.fixture(scope="module")
def gen():
    return chains(seed=0)


@pytest.fixture(scope="module")
def fitted_ce(gen):
    return SASRec(loss="ce", **FAST).fit(gen.train, options())


def test_learns_the_order_with_full_softmax(gen, fitted_ce):
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(fitted_ce, gen) > hit_rate(pop, gen) + 0.4


def test_scores_shape_dtype_and_empty_histories(gen, fitted_ce):
    batch = batch_of(gen.train, gen.users[:5])
    scores = fitted_ce.score(batch)
    assert isinstance(scores, torch.Tensor) and scores.dtype == torch.float32
    assert tuple(scores.shape) == (5, gen.train.n_items)
    empty = ScoreBatch(np.array([0, 1], np.int32), np.full((2, 1), PAD, np.int32),
                       np.zeros(2, np.int32), gen.train.n_items)
    assert torch.isfinite(fitted_ce.score(empty)).all()


def test_sequence_sensitivity_follows_the_last_item(gen, fitted_ce):
    """Same items, different order: the top item is the successor of whichever comes last."""
    n = gen.train.n_items
    rng = np.random.default_rng(0)
    agree = 0
    for user in range(20):
        a, b = rng.choice(n, size=2, replace=False)
        prefix = gen.train.sequence(user)[:10]
        histories = np.array([np.r_[prefix, a, b], np.r_[prefix, b, a]], dtype=np.int32)
        batch = ScoreBatch(np.array([user, user], np.int32), histories, np.array([12, 12], np.int32), n)
        top = to_numpy(fitted_ce.score(batch)).argmax(axis=1)
        agree += top.tolist() == [gen.successor[b], gen.successor[a]]
    assert agree >= 18
    # a single item is enough context to predict its successor
    singles = ScoreBatch(np.zeros(n, np.int32), np.arange(n, dtype=np.int32)[:, None],
                         np.ones(n, np.int32), n)
    top1 = to_numpy(fitted_ce.score(singles)).argmax(axis=1)
    assert (top1 == gen.successor).mean() > 0.8


def test_scoring_reads_the_batch_history_not_the_training_data(gen, fitted_ce):
    """Validation items joining the history change the prediction (test-time input)."""
    user = 0
    train_seq = gen.train.sequence(user)
    extra = int(gen.successor[gen.successor[train_seq[-1]]] + 7) % gen.train.n_items
    longer = np.concatenate([train_seq, [extra]]).astype(np.int32)
    batch = ScoreBatch(np.array([user], np.int32), longer[None, :], np.array([len(longer)], np.int32),
                       gen.train.n_items)
    assert to_numpy(fitted_ce.score(batch)).argmax() == gen.successor[extra]


def test_same_seed_same_scores_other_seed_differs(gen):
    batch = batch_of(gen.train, gen.users[:30])
    params = dict(FAST, epochs=2, loss="ce")
    a = to_numpy(SASRec(**params).fit(gen.train, options(seed=1)).score(batch))
    b = to_numpy(SASRec(**params).fit(gen.train, options(seed=1)).score(batch))
    c = to_numpy(SASRec(**params).fit(gen.train, options(seed=2)).score(batch))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_learns_the_order_with_sampled_negatives(gen):
    model = SASRec(loss="bce", **FAST).fit(gen.train, options())
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(pop, gen) + 0.4
    batch = batch_of(gen.train, gen.users[:30])
    again = SASRec(loss="bce", **dict(FAST, epochs=2)).fit(gen.train, options())
    twice = SASRec(loss="bce", **dict(FAST, epochs=2)).fit(gen.train, options())
    np.testing.assert_array_equal(to_numpy(again.score(batch)), to_numpy(twice.score(batch)))


def test_l2_emb_is_applied(gen):
    reports_plain, reports_l2 = [], []
    SASRec(loss="ce", **dict(FAST, epochs=1)).fit(gen.train, options(progress=reports_plain.append))
    SASRec(loss="ce", l2_emb=1.0, **dict(FAST, epochs=1)).fit(gen.train, options(progress=reports_l2.append))
    assert reports_l2[0].loss > reports_plain[0].loss


@pytest.mark.parametrize("bad,match", [(dict(loss="bpr"), "loss"), (dict(hidden=50, n_heads=3), "divisible"),
                                       (dict(dropout=1.0), "dropout"), (dict(max_len=0), "max_len")])
def test_bad_hyperparameters(gen, bad, match):
    with pytest.raises(ConfigError, match=match):
        SASRec(**bad).fit(gen.train, options())


def test_score_before_fit():
    with pytest.raises(ModelError, match="before fit"):
        SASRec().score(ScoreBatch(np.array([0], np.int32), np.zeros((1, 1), np.int32),
                                  np.ones(1, np.int32), 3))


def test_bce_with_a_user_who_consumed_every_item():
    from recplug.testing.generated import make_train

    train = make_train(np.array([0, 0, 0, 1, 1]), np.array([0, 1, 2, 2, 0]), 2, 3)
    reports = []
    model = SASRec(max_len=4, hidden=8, epochs=2).fit(train, options(progress=reports.append))
    assert all(np.isfinite(r.loss) for r in reports)
    assert torch.isfinite(model.score(batch_of(train, np.array([0, 1])))).all()


class ReferenceSASRec(TorchModel):
    """SASRec's training and scoring as they were before the sequence encoder interface
    (commit 66af089), kept to show the move changed no number."""

    parameter_constraints = SASRec.parameter_constraints
    __init__ = SASRec.__init__
    build = SASRec.build
    optimizer = SASRec.optimizer
    tags = SASRec.tags

    def prepare(self, train, options):
        row_users, self._inputs, self._targets = next_item_windows(train.seq_indptr, train.seq_items,
                                                                   int(self.max_len))
        self._sampler = NegativeSampler(train.csr, threads=int(options.threads or 0))
        has_negatives = self._sampler.users_with_negatives()[row_users]
        self._valid = (self._targets != 0) & has_negatives[:, None]
        self._position_users = np.broadcast_to(row_users[:, None], self._targets.shape)[self._valid]

    def epoch_batches(self, epoch, seed):
        arrays = [self._inputs, self._targets]
        if self.loss == "bce":
            negatives = np.zeros_like(self._targets)
            negatives[self._valid] = self._sampler.sample(self._position_users, 1, seed=seed)[:, 0] + 1
            arrays.append(negatives)
        return shuffled_batches(arrays, int(self.batch_size), seed=seed, device=self.device_)

    def batch_loss(self, batch):
        net = self.module_
        seqs, pos = batch[0], batch[1]
        hidden = net(seqs)
        mask = pos != 0
        h = hidden[mask]
        if self.loss == "ce":
            loss = softmax_ce(h @ net.items.weight[1:].T, pos[mask] - 1)
            used = net.items(pos[mask])
        else:
            neg = batch[2]
            neg_mask = neg != 0
            pos_emb, neg_emb = net.items(pos[mask]), net.items(neg[neg_mask])
            loss = bce_loss((h * pos_emb).sum(-1), (hidden[neg_mask] * neg_emb).sum(-1))
            used = torch.cat([pos_emb, neg_emb])
        return loss + float(self.l2_emb) * l2_batch(used.float()) if self.l2_emb else loss

    def score_inputs(self, batch):
        return torch.as_tensor(batch.recent(int(self.max_len), pad=0, shift=1), device=self.device_)

    def block_scores(self, seqs):
        return (self.module_(seqs)[:, -1, :] @ self.module_.items.weight[1:].T).float()


@pytest.mark.parametrize("params", [dict(loss="ce"), dict(loss="bce"), dict(loss="bce", l2_emb=0.1),
                                    dict(loss="ce", l2_emb=0.1, n_heads=2)])
def test_the_encoder_interface_changed_no_number(gen, params):
    """Same seed: bit-identical epoch losses and scores to the implementation before the move."""
    params = dict(FAST, epochs=3, **params)
    batch = batch_of(gen.train, gen.users[:40])
    new_reports, old_reports = [], []
    new = SASRec(**params).fit(gen.train, options(seed=4, progress=new_reports.append))
    old = ReferenceSASRec(**params).fit(gen.train, options(seed=4, progress=old_reports.append))
    assert [r.loss for r in new_reports] == [r.loss for r in old_reports]
    np.testing.assert_array_equal(to_numpy(new.score(batch)), to_numpy(old.score(batch)))
