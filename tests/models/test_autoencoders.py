"""The autoencoders (autoencoder, autorec, cdae, multdae, multvae): the kit, the shared row
pieces, learning, determinism, test-time inputs, KL annealing by step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.contract import PAD, ScoreBatch
from recplug.errors import ConfigError
from recplug.models.autoencoders._rows import SparseRows, history_inputs, row_input_layer
from recplug.models.autoencoders.autoencoder import AutoEncoder
from recplug.models.autoencoders.autorec import AutoRec
from recplug.models.autoencoders.cdae import CDAE
from recplug.models.autoencoders.multdae import MultDAE
from recplug.models.autoencoders.multvae import MultVAE
from recplug.models.baselines.pop import Popularity
from recplug.testing import parametrize_models, to_numpy
from recplug.testing.generated import batch_of, clustered, hit_rate, options
from recplug.training.constraints import check_model_params

SMALL = {"epochs": 2, "batch_size": 16}
MODELS = [
    (AutoEncoder, dict(SMALL, width=16, bottleneck=8, dropout=0.2)),
    (AutoRec, dict(SMALL, hidden=16)),
    (AutoRec, dict(SMALL, hidden=16, output="sigmoid", unobserved_weight=1.0, reg=0.0)),
    (CDAE, dict(SMALL, hidden=16)),
    (CDAE, dict(SMALL, hidden=16, activation="relu", reg=0.0)),
    (MultDAE, dict(SMALL, hidden=24, latent=8)),
    (MultVAE, dict(SMALL, hidden=24, latent=8, total_anneal_steps=10)),
]
#: enough epochs on ``clustered`` data to beat popularity by far
LEARN = {AutoEncoder: dict(epochs=30, batch_size=32), AutoRec: dict(epochs=30, batch_size=32),
         CDAE: dict(epochs=30, lr=1e-2, batch_size=32), MultDAE: dict(epochs=30, batch_size=32),
         MultVAE: dict(epochs=30, batch_size=32)}


@parametrize_models(*MODELS)
def test_conformance(model_check):
    model_check()


@pytest.fixture(scope="module")
def gen():
    return clustered(seed=7)


# ---- the shared row pieces -------------------------------------------------------------

def test_sparse_rows_from_dense_and_padded_agree():
    dense = torch.tensor([[0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    padded = torch.tensor([[1, 3], [-1, -1], [0, -1]])
    for sparse in (SparseRows.from_dense(dense), SparseRows.from_padded(padded)):
        assert sparse.n_rows == 3
        assert sparse.rows.tolist() == [0, 0, 2] and sparse.items.tolist() == [1, 3, 0]
        assert sparse.values.tolist() == [1.0, 1.0, 1.0]
        assert sparse.offsets().tolist() == [0, 2, 2]
    normalized = SparseRows.from_dense(dense * 3).l2_normalized()
    np.testing.assert_allclose(normalized.values.numpy(), [2 ** -0.5, 2 ** -0.5, 1.0], rtol=1e-6)


def test_input_dropout_touches_only_training_and_scales_survivors():
    sparse = SparseRows.from_dense(torch.ones(50, 40))
    assert sparse.dropped_out(0.5, training=False) is sparse
    torch.manual_seed(0)
    dropped = sparse.dropped_out(0.5, training=True).values
    assert set(dropped.unique().tolist()) == {0.0, 2.0}
    assert 0.4 < float((dropped == 0).float().mean()) < 0.6


def test_row_input_layer_equals_the_dense_product():
    torch.manual_seed(0)
    layer = row_input_layer(7, 5)
    dense = (torch.rand(6, 7) < 0.4).float() * torch.rand(6, 7)
    dense[2] = 0  # an empty row gives the bias
    expected = dense @ layer.weight + layer.bias
    torch.testing.assert_close(layer(SparseRows.from_dense(dense)), expected, rtol=1e-5, atol=1e-6)


def test_history_inputs_are_the_distinct_items_of_each_history():
    batch = ScoreBatch(np.array([4, 2], np.int32), np.array([[3, 1, 3], [5, PAD, PAD]], np.int32),
                       np.array([3, 1], np.int32), n_items=6)
    assert history_inputs(batch, "cpu").tolist() == [[4, 1, 3], [2, 5, -1]]


# ---- the models ------------------------------------------------------------------------

@pytest.mark.parametrize("cls", list(LEARN), ids=lambda c: c.__name__)
def test_learns_the_clusters(cls, gen):
    model = cls(**LEARN[cls]).fit(gen.train, options())
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(pop, gen) + 0.3


@pytest.mark.parametrize("cls,params", MODELS, ids=lambda p: getattr(p, "__name__", ""))
def test_same_seed_same_scores_other_seed_differs(cls, params, gen):
    batch = batch_of(gen.train, gen.users[:40])
    a = to_numpy(cls(**params).fit(gen.train, options(seed=1)).score(batch))
    b = to_numpy(cls(**params).fit(gen.train, options(seed=1)).score(batch))
    c = to_numpy(cls(**params).fit(gen.train, options(seed=2)).score(batch))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("cls", [AutoEncoder, AutoRec, CDAE, MultDAE, MultVAE], ids=lambda c: c.__name__)
def test_scores_read_the_batch_history(cls, gen):
    """Validation items join the input at test time: a longer history changes the scores."""
    model = cls(epochs=2).fit(gen.train, options())
    user = 0
    seq = gen.train.sequence(user)
    grown = np.concatenate([seq, [int(gen.targets[user])]]).astype(np.int32)
    batch = ScoreBatch(np.array([user, user], np.int32), np.stack([np.r_[seq, PAD], grown]),
                       np.array([len(seq), len(grown)], np.int32), gen.train.n_items)
    scores = to_numpy(model.score(batch))
    np.testing.assert_array_equal(scores[0], to_numpy(model.score(batch_of(gen.train, [user])))[0])
    assert not np.array_equal(scores[0], scores[1])


def test_evaluation_batch_size_changes_no_number():
    from recplug.contract import TrainData
    from recplug.data.synthetic import generate
    from recplug.evaluation import EvalConfig, evaluate
    from recplug.splits import make_split

    split = make_split(generate(90, 60, 1500, seed=4), "loo", seed=0)
    model = MultVAE(hidden=32, latent=8, epochs=2, batch_size=16).fit(TrainData(split.train), options())
    small = evaluate(model, split, "test", EvalConfig(ks=(5, 10), batch_size=7))
    large = evaluate(model, split, "test", EvalConfig(ks=(5, 10), batch_size=500))
    for name in small.per_user:
        np.testing.assert_array_equal(small.per_user[name], large.per_user[name], err_msg=name)


def test_batches_carry_the_trainer_step(gen):
    """The KL weight follows the optimizer steps: the batch of step s is the (s+1)-th of the fit."""
    model = MultVAE(batch_size=128)
    model.prepare(gen.train, options())
    model.device_ = torch.device("cpu")
    per_epoch = -(-gen.train.n_users // 128)
    steps = [b.step for epoch in (1, 2) for b in model.epoch_batches(epoch, seed=epoch)]
    assert steps == list(range(2 * per_epoch))
    rows = next(iter(model.epoch_batches(1, seed=0))).rows
    assert tuple(rows.shape) == (128, gen.train.n_items)  # one batch dense, never all users


def test_kl_weight_anneals_linearly_up_to_the_cap():
    model = MultVAE(anneal_cap=0.2, total_anneal_steps=1000)
    assert [model.beta(s) for s in (0, 100, 200, 5000)] == [0.0, 0.1, 0.2, 0.2]


def test_multvae_scores_decode_the_mean(gen):
    model = MultVAE(hidden=32, latent=8, epochs=2).fit(gen.train, options())
    batch = batch_of(gen.train, gen.users[:9])
    first, second = to_numpy(model.score(batch)), to_numpy(model.score(batch))
    np.testing.assert_array_equal(first, second)  # no sampling, no dropout at scoring time
    sparse = SparseRows.from_padded(history_inputs(batch, "cpu")[:, 1:])
    with torch.no_grad():
        mu, _ = model.encode(sparse)
        np.testing.assert_allclose(first, model.module_.decoder(mu).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls,params,message", [
    (MultVAE, {"dropout": 1.0}, r"dropout=1.0 is not allowed; dropout must be a real number in \[0, 1\)"),
    (MultVAE, {"total_anneal_steps": 0}, r"total_anneal_steps=0 is not allowed"),
    (MultDAE, {"latent": 0}, r"latent=0 is not allowed"),
    (CDAE, {"corruption": -0.1}, r"corruption=-0.1 is not allowed"),
    (AutoRec, {"output": "tanh"}, r"output='tanh' is not allowed; output must be one of 'identity', 'sigmoid'"),
    (AutoEncoder, {"width": 2.5}, r"width=2.5 is not allowed; width must be an integer >= 1"),
])
def test_declared_constraints_reject_without_data(cls, params, message):
    with pytest.raises(ConfigError, match=message):
        check_model_params(cls, cls(**params).get_params())


def test_paper_defaults():
    assert {k: v for k, v in MultVAE().get_params().items() if k not in ("epochs", "eval_every")} == {
        "hidden": 600, "latent": 200, "dropout": 0.5, "anneal_cap": 0.2, "total_anneal_steps": 200000,
        "lr": 1e-3, "batch_size": 500}
    assert MultDAE().get_params()["hidden"] == 600 and MultDAE().get_params()["dropout"] == 0.5
    assert AutoRec().get_params()["hidden"] == 500 and CDAE().activation == "sigmoid"
    assert (AutoEncoder().width, AutoEncoder().bottleneck) == (64, 32)


# ---- the bench pieces ------------------------------------------------------------------

def test_the_straight_multvae_is_a_valid_bench_module_and_trains(gen):
    from recplug.bench import straight

    module = straight.load("multvae")
    assert module.target == 2.0
    params = dict(MultVAE().get_params(), hidden=16, latent=4, batch_size=64)
    module.one_epoch(gen.train, params, seed=0, threads=1)


def test_peak_rss_of_a_fit_and_evaluation_in_a_fresh_process():
    from recplug.bench.straight.multvae import peak_rss

    rss = peak_rss(shape=(400, 300, 6000))
    assert 50 * 2**20 < rss < 4 * 2**30


# ---- I-AutoRec (rating task) -------------------------------------------------------------

from recplug.models.autoencoders.autorec_rating import AutoRecRating  # noqa: E402


@parametrize_models((AutoRecRating, {"hidden": 16, "epochs": 2, "batch_size": 16}))
def test_rating_autorec_conformance(model_check):
    model_check()


def low_rank_ratings(seed=0, n_users=120, n_items=80, per_user=30):
    """Ratings 1..5 from biases and a rank-2 interaction; the last user and item have none."""
    from recplug.contract import TrainData
    from recplug.data.interactions import Interactions, Vocabulary

    rng = np.random.default_rng(seed)
    p, q = rng.normal(0, 0.8, (n_users, 2)), rng.normal(0, 0.8, (n_items, 2))
    users = np.repeat(np.arange(n_users - 1), per_user)
    items = np.concatenate([rng.choice(n_items - 1, per_user, replace=False) for _ in range(n_users - 1)])
    ratings = np.clip(np.round(3.4 + np.einsum("nd,nd->n", p[users], q[items])
                               + rng.normal(0, 0.3, len(users))), 1, 5).astype(np.float32)
    cut = int(0.8 * len(users))
    order = rng.permutation(len(users))
    users, items, ratings = users[order].astype(np.int32), items[order].astype(np.int32), ratings[order]
    train = TrainData(Interactions(users[:cut], items[:cut], Vocabulary(np.arange(n_users)),
                                   Vocabulary(np.arange(n_items)), ratings=ratings[:cut]))
    return train, users[cut:], items[cut:], ratings[cut:]


def test_rating_autorec_beats_the_mean_and_falls_back_to_it():
    train, users, items, ratings = low_rank_ratings()
    model = AutoRecRating(hidden=50, epochs=60, reg=1.0, lr=3e-3, batch_size=16).fit(train, options())
    rmse = float(np.sqrt(np.mean((model.predict(users, items) - ratings) ** 2)))
    mean = float(train.ratings.astype(np.float64).mean())
    assert rmse < 0.9 * float(np.sqrt(np.mean((ratings - mean) ** 2)))
    cold = model.predict(np.array([train.n_users - 1, 0, 10**6]), np.array([0, train.n_items - 1, 0]))
    np.testing.assert_allclose(cold, mean, rtol=1e-6)
    clipped = model.predict(users, items)
    assert clipped.min() >= 1.0 and clipped.max() <= 5.0
    scores = to_numpy(model.score(batch_of(train, np.array([3, 7]))))
    assert scores.shape == (2, train.n_items)


def test_rating_autorec_does_not_depend_on_the_thread_count():
    """tests/models/test_thread_independence.py fits on data without ratings; this is its check
    for the rating network, on rated data."""
    from recplug.contract import FitOptions

    train, users, items, _ = low_rank_ratings()
    runs = [AutoRecRating(epochs=2).fit(train, FitOptions(device="cpu", seed=11, threads=t)) for t in (1, 2)]
    np.testing.assert_array_equal(runs[0].predict(users, items), runs[1].predict(users, items))
    assert [r.loss for r in runs[0].train_result_.history] == [r.loss for r in runs[1].train_result_.history]
