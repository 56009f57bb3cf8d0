"""The rating models: conformance, accuracy on held-out ratings (RMSE by hand), the fallback of
unknown users and items, determinism, and clear errors for data they cannot fit."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.contract import FitOptions, TrainData
from recplug.data.interactions import Interactions, Vocabulary
from recplug.errors import DataError, ModelError
from recplug.models.rating._base import Ratings
from recplug.models.rating.baseline import BaselineOnly
from recplug.models.rating.mf import MF
from recplug.models.rating.svd import SVD
from recplug.models.rating.svdpp import SVDpp
from recplug.testing import parametrize_models
from recplug.testing.checks import to_numpy
from recplug.testing.data import tiny_train, train_batch

MODELS = [(BaselineOnly, {}), (BaselineOnly, {"method": "sgd"}), (SVD, {"n_factors": 8}),
          (SVD, {"n_factors": 8, "biased": False}), (SVDpp, {"n_factors": 4}),
          (MF, {"factors": 8, "batch_size": 32})]


@parametrize_models(*MODELS)
def test_conformance(model_check):
    model_check()


def low_rank(seed=0, n_users=120, n_items=80, per_user=30, rank=3):
    """Ratings 1..5 from user/item biases and a rank-3 interaction, noise added; rows shuffled.
    The last user and the last item have no rating."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(0, 0.7, (n_users, rank)), rng.normal(0, 0.7, (n_items, rank))
    bu, bi = rng.normal(0, 0.5, n_users), rng.normal(0, 0.5, n_items)
    users = np.repeat(np.arange(n_users - 1), per_user)
    items = np.concatenate([rng.choice(n_items - 1, per_user, replace=False) for _ in range(n_users - 1)])
    true = 3.4 + bu[users] + bi[items] + np.einsum("nd,nd->n", p[users], q[items])
    ratings = np.clip(np.round(true + rng.normal(0, 0.3, len(users))), 1, 5).astype(np.float32)
    order = rng.permutation(len(users))
    return users[order].astype(np.int32), items[order].astype(np.int32), ratings[order], n_users, n_items


def rated_train(users, items, ratings, n_users, n_items) -> TrainData:
    return TrainData(Interactions(users, items, Vocabulary(np.arange(n_users)), Vocabulary(np.arange(n_items)),
                                  ratings=ratings, name="low-rank"))


@pytest.fixture(scope="module")
def held_out():
    users, items, ratings, n_users, n_items = low_rank()
    cut = int(0.8 * len(users))
    train = rated_train(users[:cut], items[:cut], ratings[:cut], n_users, n_items)
    return train, users[cut:], items[cut:], ratings[cut:]


def rmse(model, users, items, ratings):
    return float(np.sqrt(np.mean((model.predict(users, items).astype(np.float64) - ratings) ** 2)))


def test_each_model_beats_the_mean_and_the_factor_models_beat_the_biases(held_out):
    train, users, items, ratings = held_out
    mean = float(np.sqrt(np.mean((ratings - train.ratings.mean()) ** 2)))
    options = FitOptions(seed=0, threads=1)
    got = {name: rmse(cls(**params).fit(train, options), users, items, ratings) for name, cls, params in [
        ("baseline", BaselineOnly, {}), ("svd", SVD, {"n_factors": 10, "n_epochs": 60, "lr_all": 0.01}),
        ("svdpp", SVDpp, {"n_factors": 10, "n_epochs": 60, "lr_all": 0.01}),
        ("mf", MF, {"factors": 10, "epochs": 60, "lr": 0.01, "reg": 0.02})]}
    assert got["baseline"] < 0.9 * mean, (got, mean)
    for name in ("svd", "svdpp", "mf"):
        assert got[name] < got["baseline"] - 0.05, (name, got)


@pytest.mark.parametrize("cls,params", MODELS)
def test_unknown_users_and_items_get_the_mean_plus_the_known_biases(cls, params, held_out):
    train = held_out[0]
    model = cls(**params).fit(train, FitOptions(seed=0, threads=1, max_epochs=3))
    mu = float(train.ratings.astype(np.float64).mean())
    cold_user, cold_item, known_user, known_item = train.n_users - 1, train.n_items - 1, 0, int(train.interactions.items[0])
    users = np.array([cold_user, 10_000, known_user, cold_user, known_user], dtype=np.int32)
    items = np.array([cold_item, 10_000, cold_item, known_item, known_item], dtype=np.int32)
    pred = model.predict(users, items)
    assert pred.dtype == np.float32 and pred.shape == (5,)
    np.testing.assert_allclose(pred[:2], mu, rtol=1e-6)                   # nothing known: the mean
    item_only = model.predict(np.array([cold_user, 5_000], np.int32), np.array([known_item] * 2, np.int32))
    user_only = model.predict(np.array([known_user] * 2, np.int32), np.array([cold_item, 5_000], np.int32))
    assert item_only[0] == item_only[1] == pred[3] and user_only[0] == user_only[1] == pred[2]
    if params.get("biased", True):  # mean + b_i and mean + b_u: the known bias moves the fallback
        assert pred[2] != pred[0] and pred[3] != pred[0]
    else:  # PMF knows no biases: the mean for any unknown side
        np.testing.assert_allclose(pred[2:4], mu, rtol=1e-6)
    # the ranking scores agree with predict (unclipped) for the fallback rows
    scores = to_numpy(model.score(train_batch(train, [cold_user, known_user])))
    np.testing.assert_allclose(scores[0, cold_item], mu, rtol=1e-5)
    np.testing.assert_allclose(scores[1, known_item], model.predict(np.array([known_user]), np.array([known_item]))[0],
                               rtol=1e-5)


def test_predictions_are_clipped_to_the_training_scale():
    users, items, ratings, n_users, n_items = low_rank(n_users=20, n_items=10, per_user=8)
    train = rated_train(users, items, np.where(ratings > 3, 5.0, 1.0).astype(np.float32), n_users, n_items)
    model = SVD(n_factors=4, n_epochs=200, lr_all=0.05, reg_all=0.0).fit(train, FitOptions(seed=0))
    pred = model.predict(users, items)
    assert pred.min() >= 1.0 and pred.max() <= 5.0 and (pred == 5.0).any()
    raw = to_numpy(model.score(train_batch(train, list(range(n_users - 1)))))
    assert raw.max() > 5.0  # score() is not clipped: it only ranks


def test_baseline_als_is_surprises_loop():
    users, items, ratings, n_users, n_items = low_rank(n_users=15, n_items=12, per_user=6)
    model = BaselineOnly(n_epochs=3, reg_u=2.0, reg_i=3.0).fit(rated_train(users, items, ratings, n_users, n_items),
                                                              FitOptions())
    mu, r = float(ratings.astype(np.float64).mean()), ratings.astype(np.float64)
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    for _ in range(3):
        for i in range(n_items):
            rows = np.flatnonzero(items == i)
            bi[i] = sum(r[k] - mu - bu[users[k]] for k in rows) / (3.0 + len(rows))
        for u in range(n_users):
            rows = np.flatnonzero(users == u)
            bu[u] = sum(r[k] - mu - bi[items[k]] for k in rows) / (2.0 + len(rows))
    np.testing.assert_allclose(model.user_bias_, bu, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.item_bias_, bi, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls,params", [(SVD, {"n_factors": 5}), (SVDpp, {"n_factors": 5}),
                                        (BaselineOnly, {"method": "sgd"}), (MF, {"factors": 5})])
def test_the_seed_decides_the_fit(cls, params, held_out):
    train, users, items, _ = held_out
    fit = lambda seed: cls(**params).fit(train, FitOptions(seed=seed, threads=1, max_epochs=2)).predict(users, items)
    first = fit(3)
    assert np.array_equal(first, fit(3))
    assert not np.array_equal(first, fit(4))


def test_mf_trains_to_the_same_numbers_with_one_and_two_threads(held_out):
    train, users, items, _ = held_out
    fit = lambda threads: MF(factors=16, batch_size=64).fit(train, FitOptions(seed=1, threads=threads, max_epochs=2))
    one, two = fit(1), fit(2)
    assert np.array_equal(one.predict(users, items), two.predict(users, items))
    assert [r.loss for r in one.train_result_.history] == [r.loss for r in two.train_result_.history]


def test_the_grouped_order_keeps_each_users_ratings_together():
    users, items, ratings, n_users, n_items = low_rank(n_users=30, n_items=20, per_user=5)
    data = Ratings(users, items, ratings, n_users, n_items)
    order = data.order(seed=0, epoch=1, grouped=True)
    assert sorted(order.tolist()) == list(range(len(users)))
    visited = users[order]
    runs = visited[np.concatenate([[True], visited[1:] != visited[:-1]])]
    assert len(runs) == len(np.unique(users))  # one run per user
    assert not np.array_equal(order, data.order(seed=0, epoch=2, grouped=True))
    assert np.array_equal(order, data.order(seed=0, epoch=1, grouped=True))
    assert not np.array_equal(np.sort(data.order(seed=0, epoch=1)), data.order(seed=0, epoch=1))


@pytest.mark.parametrize("cls", [BaselineOnly, SVD, SVDpp, MF])
def test_data_without_ratings_is_refused(cls):
    inter = tiny_train().interactions
    train = TrainData(Interactions(inter.users, inter.items, inter.user_vocab, inter.item_vocab, name="implicit"))
    with pytest.raises(DataError, match=rf"{cls.__name__} predicts ratings, but 'implicit' has no ratings; "
                                        r"load data with a rating column"):
        cls().fit(train, FitOptions(max_epochs=1))


@pytest.mark.parametrize("cls", [BaselineOnly, SVD, SVDpp, MF])
def test_non_finite_ratings_are_refused(cls):
    inter = tiny_train().interactions
    ratings = np.array(inter.ratings, copy=True)
    ratings[[3, 8]] = [np.nan, np.inf]
    train = TrainData(Interactions(inter.users, inter.items, inter.user_vocab, inter.item_vocab,
                                   ratings=ratings, name="broken"))
    with pytest.raises(DataError, match=r"'broken' has 2 non-finite rating\(s\) \(first at row 3: nan\)"):
        cls().fit(train, FitOptions(max_epochs=1))


def test_predict_checks_its_pairs():
    model = SVD(n_factors=2, n_epochs=1).fit(tiny_train(), FitOptions())
    with pytest.raises(ModelError, match=r"two 1-d arrays of one length"):
        model.predict(np.array([0, 1]), np.array([0]))
    with pytest.raises(ModelError, match=r"users must be indices >= 0, found -1"):
        model.predict(np.array([-1]), np.array([0]))
    with pytest.raises(ModelError, match=r"items must be integer indices, got dtype float64"):
        model.predict(np.array([0]), np.array([0.5]))
    with pytest.raises(ModelError, match=r"SVD.predict was called before fit"):
        SVD().predict(np.array([0]), np.array([0]))
