"""The sequence encoder interface (SequenceEncoderModel): a small plugin-style subclass passes the
kit; the shared next-item losses and negatives."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from recplug.errors import ModelError
from recplug.models.sequential._encoder import LOSSES, SequenceEncoderModel, item_table
from recplug.testing import parametrize_models
from recplug.testing.generated import batch_of, make_train, options
from recplug.training.constraints import Integer, Options, Real
from recplug.training.sequences import next_item_prefixes, next_item_windows


class MeanPool(SequenceEncoderModel):
    """The interface's smallest user: the mean of the embeddings seen so far, plus an item bias."""

    target_positions = "all"
    parameter_constraints = {"max_len": Integer(1), "size": Integer(1), "lr": Real(0, closed="neither"),
                             "batch_size": Integer(1), "epochs": Integer(1), "loss": Options(*LOSSES),
                             "n_negatives": Integer(1), "eval_every": Integer(1)}

    def __init__(self, max_len=6, size=8, lr=1e-2, batch_size=16, epochs=3, loss="ce", n_negatives=1,
                 eval_every=1):
        self.max_len, self.size, self.lr, self.batch_size = max_len, size, lr, batch_size
        self.epochs, self.loss, self.n_negatives, self.eval_every = epochs, loss, n_negatives, eval_every

    def build(self, n_users, n_items):
        module = torch.nn.Module()
        module.items = item_table(n_items, self.size)
        module.position = torch.nn.Parameter(torch.linspace(0.5, 1.5, int(self.max_len))[:, None])
        module.bias = torch.nn.Parameter(torch.zeros(n_items))
        return module

    def encode_positions(self, seqs):
        x = self.module_.items(seqs) * self.module_.position[-seqs.shape[1]:]
        counts = (seqs != 0).cumsum(1).clamp(min=1).unsqueeze(-1)
        return x.cumsum(1) / counts

    def item_vectors(self):
        return self.module_.items.weight[1:]

    def item_bias(self):
        return self.module_.bias


class LastOnly(MeanPool):
    target_positions = "last"

    def encode(self, seqs):
        return self.encode_positions(seqs)[:, -1]


@parametrize_models((MeanPool, {}), (MeanPool, {"loss": "bce", "n_negatives": 3}), (LastOnly, {"loss": "sampled"}))
def test_conformance(model_check):
    model_check()


@pytest.fixture(scope="module")
def train():
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(12), 6)
    return make_train(users, rng.integers(0, 10, len(users)), 12, 10)


def _fitted(cls, train, **params):
    return cls(epochs=1, **params).fit(train, options())


def test_ce_is_full_softmax_with_the_item_bias(train):
    model = _fitted(MeanPool, train)
    with torch.no_grad():
        model.module_.bias.copy_(torch.linspace(-1, 1, 10))
        hidden = torch.randn(3, 4, 8)
        targets = torch.tensor([[0, 1, 5, 10], [0, 0, 0, 2], [3, 3, 4, 7]])
        mask = targets != 0
        logits = hidden[mask] @ model.item_vectors().T + model.item_bias()
        expected = F.cross_entropy(logits, targets[mask] - 1)
        torch.testing.assert_close(model.next_item_loss(hidden, targets), expected)
        # one vector per row ("last"): the same loss on the rows
        torch.testing.assert_close(model.next_item_loss(hidden[:, -1], targets[:, -1]),
                                   F.cross_entropy(hidden[:, -1] @ model.item_vectors().T + model.item_bias(),
                                                   targets[:, -1] - 1))


def test_bce_and_sampled_softmax_against_n_negatives(train):
    for loss in ("bce", "sampled"):
        model = _fitted(MeanPool, train, loss=loss, n_negatives=2)
        with torch.no_grad():
            hidden, targets = torch.randn(2, 3, 8), torch.tensor([[0, 4, 5], [1, 2, 3]])
            negatives = torch.tensor([[[0, 0], [6, 7], [8, 9]], [[1, 2], [3, 4], [5, 6]]])
            mask = targets != 0
            vec, bias = model.item_vectors(), model.item_bias()
            pos = (hidden[mask] * vec[targets[mask] - 1]).sum(-1) + bias[targets[mask] - 1]
            neg = (hidden[mask].unsqueeze(1) * vec[negatives[mask] - 1]).sum(-1) + bias[negatives[mask] - 1]
            if loss == "bce":
                expected = F.softplus(-pos).mean() + F.softplus(neg).mean()
            else:
                z = torch.cat([pos[:, None], neg], 1)
                expected = (torch.logsumexp(z, 1) - pos).mean()
            torch.testing.assert_close(model.next_item_loss(hidden, targets, negatives), expected)


@pytest.mark.parametrize("cls", [MeanPool, LastOnly])
def test_sampled_negatives_are_never_the_users_items(train, cls):
    model = cls(loss="bce", n_negatives=4, batch_size=1000)
    model.shapes_, model.device_ = {"n_users": 12, "n_items": 10}, torch.device("cpu")
    model.prepare(train, options())
    (seqs, targets, negatives), = list(model.epoch_batches(1, seed=3))
    assert negatives.shape == targets.shape + (4,)
    rows = next_item_windows if cls.target_positions == "all" else next_item_prefixes
    row_users = rows(train.seq_indptr, train.seq_items, model.max_len)[0]
    row_users = row_users[np.random.default_rng(3).permutation(len(row_users))]   # the batch's shuffle
    users = np.broadcast_to(row_users.reshape((-1,) + (1,) * (targets.dim() - 1)), targets.shape)
    users = users[(targets != 0).numpy()]
    drawn = negatives[(targets != 0)].numpy() - 1
    seen = train.csr[users].toarray() > 0
    assert not np.take_along_axis(seen, drawn, 1).any()


def test_a_user_who_consumed_every_item_trains_and_scores(train):
    small = make_train(np.array([0, 0, 0, 1, 1]), np.array([0, 1, 2, 2, 0]), 2, 3)
    for cls, loss in [(MeanPool, "bce"), (LastOnly, "sampled"), (LastOnly, "bce")]:
        model = cls(loss=loss, n_negatives=2, epochs=2).fit(small, options())
        assert all(np.isfinite(r.loss) for r in model.train_result_.history)
        assert torch.isfinite(model.score(batch_of(small, np.array([0, 1])))).all()


def test_latent_factors_are_the_scores(train):
    model = _fitted(MeanPool, train)
    batch = batch_of(train, np.arange(12))
    users, items, bias = model.latent_factors(batch)
    assert users.dtype == items.dtype == bias.dtype == torch.float32 and users.device.type == "cpu"
    torch.testing.assert_close(users @ items.T + bias, model.score(batch))


def test_unknown_target_positions(train):
    class Wrong(MeanPool):
        target_positions = "first"

    with pytest.raises(ModelError, match="target_positions"):
        Wrong().fit(train, options())


class Invariant(MeanPool):
    padding_invariant = True


@pytest.mark.parametrize("cls", [Invariant, type("InvariantLast", (LastOnly,), {"padding_invariant": True})])
def test_length_batches_visit_every_row_once_and_group_lengths(train, cls):
    model = cls(batch_size=4, max_len=6)
    model.shapes_, model.device_ = {"n_users": 12, "n_items": 10}, torch.device("cpu")
    model.prepare(train, options())
    batches = list(model.epoch_batches(1, seed=5))
    seen = torch.cat([b[0] for b in batches]).numpy()
    expected = model._inputs
    assert sorted(map(tuple, seen)) == sorted(map(tuple, expected))
    lengths = [(b[0] != 0).sum(1) for b in batches]
    assert max(int(x.max() - x.min()) for x in lengths) <= 1   # sorted within one group
    again = [b[0] for b in model.epoch_batches(1, seed=5)]
    assert all(torch.equal(a[0], b) for a, b in zip(batches, again))


def test_dropping_padding_columns_changes_no_loss(train):
    model = _fitted(Invariant, train, max_len=12)
    model.module_.eval()
    model.shapes_ = {"n_users": 12, "n_items": 10}
    model.prepare(train, options())
    batch = next(iter(model.epoch_batches(1, seed=0)))
    assert bool((batch[0][:, 0] == 0).all())                        # there is padding to drop
    trimmed = model.batch_loss(batch)
    model.padding_invariant = False
    torch.testing.assert_close(trimmed, model.batch_loss(batch))
