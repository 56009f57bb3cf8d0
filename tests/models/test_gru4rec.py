"""GRU4Rec: the conformance kit, learning the order, the official training details
(hidden-state reset, negatives, loss scale, Adagrad with momentum) and the scoring pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.contract import ScoreBatch
from recplug.errors import ConfigError
from recplug.models.baselines.pop import Popularity
from recplug.models.sequential.gru4rec import GRU4Rec, indexed_adagrad
from recplug.testing import parametrize_models, to_numpy
from recplug.testing.generated import batch_of, chains, hit_rate, options
from recplug.training.constraints import check_model_params

SMALL = dict(hidden=16, batch_size=16, n_sample=8, max_len=12)


@parametrize_models((GRU4Rec, dict(SMALL, loss="bpr-max", constrained_embedding=False, embedding=8, momentum=0.3,
                                   epochs=2)))
def test_conformance(model_check):
    model_check()


@pytest.fixture(scope="module")
def gen():
    return chains(seed=0, n_users=150)


@pytest.fixture(scope="module")
def tiny():
    return chains(seed=1, n_users=24)


@pytest.mark.parametrize("params", [dict(loss="cross-entropy"), dict(loss="bpr-max", momentum=0.2),
                                    dict(loss="top1-max", constrained_embedding=False, n_layers=2, dropout_hidden=0.1)])
def test_learns_the_order(gen, params):
    model = GRU4Rec(hidden=32, batch_size=16, n_sample=16, lr=0.1, epochs=4, **params).fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(Popularity().fit(gen.train, options()), gen) + 0.4


def test_scores_are_the_gru_run_over_the_history(tiny):
    """encode = the network stepped over the real items only (left padding skipped), from zero."""
    gen = tiny
    model = GRU4Rec(**dict(SMALL, epochs=1, n_layers=2)).fit(gen.train, options())
    users = np.array([3, 7], np.int32)
    batch = batch_of(gen.train, users)
    scores = to_numpy(model.score(batch))
    net = model.module_
    for row, user in enumerate(users):
        states = [torch.zeros(1, 16), torch.zeros(1, 16)]
        with torch.no_grad():
            for item in gen.train.sequence(int(user))[-12:]:
                states = net.step(torch.tensor([int(item)]), states)
            expected = states[-1] @ net.outputs.weight.T + net.output_bias.weight[:, 0]
        np.testing.assert_allclose(scores[row], expected[0].numpy(), rtol=1e-5, atol=1e-6)
    empty = ScoreBatch(np.array([0], np.int32), np.full((1, 1), -1, np.int32), np.zeros(1, np.int32),
                       gen.train.n_items)
    np.testing.assert_allclose(to_numpy(model.score(empty))[0], net.output_bias.weight[:, 0].detach().numpy())


def test_a_lane_starts_each_session_from_a_zero_state(tiny):
    """The state a new session's first step sees is zero, whatever the lane ran before."""
    model = GRU4Rec(**dict(SMALL, epochs=1, batch_size=4))
    model.fit(tiny.train, options())          # builds module_, shapes_
    model.prepare(tiny.train, options())
    seen, resets = [], 0
    real_step = model.module_.step

    def spy(items, states):
        seen.append([s.detach().clone() for s in states])
        return real_step(items, states)

    model.module_.step = spy
    for t, batch in enumerate(model.epoch_batches(1, seed=0)):
        model.batch_loss(batch)
        reset = batch[2][batch[1] != 0]
        assert (seen[-1][0][reset] == 0).all()
        if t > 0 and not reset.all():
            assert (seen[-1][0][~reset] != 0).any()     # the running state goes on
        resets += int(reset.sum())
    assert resets > 4 * 4                                 # sessions followed each other in the lanes


def test_negatives_are_the_batch_targets_plus_shared_samples_and_the_loss_scale(tiny):
    model = GRU4Rec(**dict(SMALL, epochs=1, batch_size=8, n_sample=5, logq=0.0))
    model.fit(tiny.train, options())
    model.prepare(tiny.train, options())
    inputs, targets, reset, samples = next(iter(model.epoch_batches(1, seed=0)))
    assert samples.shape == (5,) and inputs.shape == targets.shape == reset.shape == (8,)
    net = model.module_
    model._states = [torch.zeros(8, 16)]
    with torch.no_grad():
        net.eval()
        loss = model.batch_loss((inputs, targets, reset, samples))
        hidden = net.step(inputs - 1, [torch.zeros(8, 16)])[-1]
        columns = torch.cat([targets - 1, samples])
        logits = hidden @ net.outputs.weight[columns].T + net.output_bias.weight[columns, 0]
        expected = -torch.log_softmax(logits, 1).diagonal().sum() / 8
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)


def test_indexed_adagrad_with_momentum_by_hand():
    table = torch.nn.Embedding(3, 1, sparse=True)
    dense = torch.nn.Parameter(torch.tensor([1.0]))
    with torch.no_grad():
        table.weight[:] = torch.tensor([[1.0], [2.0], [3.0]])
    opt = indexed_adagrad([table.weight, dense], lr=0.5, momentum=0.5)
    for rows in ([0], [0, 2]):
        opt.zero_grad()
        (table(torch.tensor(rows)).sum() * 2.0 + dense.sum() * 2.0).backward()
        opt.step()
    # row 0: g=2 twice: acc 4 -> m = -0.5*2/2 = -0.5; acc 8 -> m = 0.5*-0.5 - 0.5*2/sqrt(8)
    m2 = -0.25 - 1.0 / np.sqrt(8.0)
    np.testing.assert_allclose(table.weight[:, 0].detach().numpy(),
                               [1.0 - 0.5 + m2, 2.0, 3.0 - 0.5], rtol=1e-5)   # row 1 never moves
    np.testing.assert_allclose(dense.detach().numpy(), [1.0 - 0.5 + m2], rtol=1e-5)


def test_same_seed_same_scores(tiny):
    batch = batch_of(tiny.train, tiny.users[:20])
    a, b, c = (to_numpy(GRU4Rec(**dict(SMALL, epochs=2)).fit(tiny.train, options(seed=s)).score(batch))
               for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sessions_in_time_order_by_default(tiny):
    model = GRU4Rec(**dict(SMALL, epochs=1))
    model.fit(tiny.train, options())
    model.prepare(tiny.train, options())
    train = tiny.train
    first = np.array([train.timestamps[train.interactions.users == u].min() for u in range(train.n_users)])
    np.testing.assert_array_equal(model._order, np.argsort(first, kind="stable"))


@pytest.mark.parametrize("params,message", [
    (dict(embedding=8), r"embedding=8 needs constrained_embedding=False"),
    (dict(batch_size=1, n_sample=0), r"batch_size \+ n_sample must be at least 2"),
    (dict(loss="bpr"), r"loss='bpr' is not allowed; loss must be one of 'cross-entropy', 'bpr-max', 'top1-max'"),
    (dict(momentum=1.0), r"momentum=1.0 is not allowed"),
])
def test_declared_constraints(params, message):
    with pytest.raises(ConfigError, match=message):
        check_model_params(GRU4Rec, GRU4Rec(**params).get_params())


def test_sessions_in_user_order_without_timestamps(tiny):
    from recplug.contract import TrainData
    from recplug.data.interactions import Interactions

    rows = tiny.train.interactions
    untimed = TrainData(Interactions(rows.users, rows.items, rows.user_vocab, rows.item_vocab))
    assert untimed.timestamps is None
    model = GRU4Rec(**dict(SMALL, epochs=1))
    model.fit(untimed, options())
    model.prepare(untimed, options())
    np.testing.assert_array_equal(model._order, np.arange(untimed.n_users))
