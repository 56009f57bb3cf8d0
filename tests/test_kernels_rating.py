"""The SGD epochs of svd and svdpp against plain NumPy SGD written the way Surprise writes it
(same order, same updates): the same state to float64 tolerance."""

from __future__ import annotations

import numpy as np
import pytest

from recplug import kernels
from recplug.errors import KernelInputError

N_USERS, N_ITEMS, D = 7, 9, 5
LR = {"bu": 0.01, "bi": 0.02, "pu": 0.03, "qi": 0.04, "yj": 0.05}
REG = {"bu": 0.02, "bi": 0.03, "pu": 0.05, "qi": 0.07, "yj": 0.11}


def triples(seed=0, n=60):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, N_USERS - 1, n).astype(np.int32)  # the last user has no rating
    items = rng.integers(0, N_ITEMS - 1, n).astype(np.int32)  # nor the last item
    ratings = rng.integers(1, 6, n).astype(np.float32)
    return users, items, ratings


def state(seed=1, d=D):
    rng = np.random.default_rng(seed)
    return {"user_bias": rng.normal(0, 0.1, N_USERS), "item_bias": rng.normal(0, 0.1, N_ITEMS),
            "user_factors": rng.normal(0, 0.1, (N_USERS, d)), "item_factors": rng.normal(0, 0.1, (N_ITEMS, d)),
            "implicit_factors": rng.normal(0, 0.1, (N_ITEMS, d))}


def grouped_order(users, seed=2):
    """Users in a random order, each user's ratings in a random order, contiguous."""
    rng = np.random.default_rng(seed)
    rank = rng.permutation(N_USERS)[users]
    return np.lexsort((rng.random(len(users)), rank)).astype(np.int64)


def reference_svd(users, items, ratings, order, mu, biased, s):
    bu, bi, pu, qi = (s[k].copy() for k in ("user_bias", "item_bias", "user_factors", "item_factors"))
    for k in order:
        u, i, r = users[k], items[k], float(ratings[k])
        est = mu + qi[i] @ pu[u] + ((bu[u] + bi[i]) if biased else 0.0)
        err = r - est
        if biased:
            bu[u] += LR["bu"] * (err - REG["bu"] * bu[u])
            bi[i] += LR["bi"] * (err - REG["bi"] * bi[i])
        puf, qif = pu[u].copy(), qi[i].copy()
        pu[u] += LR["pu"] * (err * qif - REG["pu"] * puf)
        qi[i] += LR["qi"] * (err * puf - REG["qi"] * qif)
    return bu, bi, pu, qi


def reference_svdpp(users, items, ratings, order, mu, s):
    """Surprise's SVDpp.sgd, rating by rating: z recomputed from every y_j, every y_j updated."""
    bu, bi, pu, qi, yj = (s[k].copy() for k in ("user_bias", "item_bias", "user_factors", "item_factors",
                                                 "implicit_factors"))
    rated = [np.unique(items[users == u]) for u in range(N_USERS)]
    for k in order:
        u, i, r = users[k], items[k], float(ratings[k])
        Iu = rated[u]
        sqrt_iu = np.sqrt(len(Iu))
        z = (yj[Iu] / sqrt_iu).sum(axis=0)
        err = r - (mu + bu[u] + bi[i] + qi[i] @ (pu[u] + z))
        bu[u] += LR["bu"] * (err - REG["bu"] * bu[u])
        bi[i] += LR["bi"] * (err - REG["bi"] * bi[i])
        puf, qif = pu[u].copy(), qi[i].copy()
        pu[u] += LR["pu"] * (err * qif - REG["pu"] * puf)
        qi[i] += LR["qi"] * (err * (puf + z) - REG["qi"] * qif)
        yj[Iu] += LR["yj"] * (err * qif / sqrt_iu - REG["yj"] * yj[Iu])
    return bu, bi, pu, qi, yj


def implicit_csr(users, items):
    """Distinct items per user as (indptr int64, items int32)."""
    pairs = np.unique(users.astype(np.int64) * N_ITEMS + items)
    counts = np.bincount(pairs // N_ITEMS, minlength=N_USERS)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), (pairs % N_ITEMS).astype(np.int32)


def run_svd(users, items, ratings, order, mu, biased, s, d_lr=None):
    lr = {k: LR[k] for k in ("bu", "bi", "pu", "qi")}
    reg = {k: REG[k] for k in ("bu", "bi", "pu", "qi")}
    out = {k: s[k].copy() for k in ("user_bias", "item_bias", "user_factors", "item_factors")}
    sse = kernels.svd_epoch(users, items, ratings, order, global_mean=mu, biased=biased, lr=lr, reg=reg, **out)
    return sse, out


@pytest.mark.parametrize("biased", [True, False])
@pytest.mark.parametrize("d", [0, 5, 19])
def test_svd_epoch_equals_the_numpy_reference(biased, d):
    users, items, ratings = triples()
    s = state(d=d)
    order = np.random.default_rng(3).permutation(len(users)).astype(np.int64)
    mu = float(ratings.mean()) if biased else 0.0
    _, out = run_svd(users, items, ratings, order, mu, biased, s)
    want = reference_svd(users, items, ratings, order, mu, biased, s)
    for name, value in zip(("user_bias", "item_bias", "user_factors", "item_factors"), want):
        np.testing.assert_allclose(out[name], value, rtol=1e-12, atol=1e-13, err_msg=name)
    # users and items without ratings are untouched; the other rows moved
    assert np.array_equal(out["user_factors"][-1], s["user_factors"][-1])
    if d:
        assert not np.allclose(out["user_factors"][:-1], s["user_factors"][:-1])


def test_svd_epoch_follows_the_order_and_returns_the_squared_errors():
    users, items, ratings = triples()
    s = state()
    mu = float(ratings.mean())
    forward = np.arange(len(users), dtype=np.int64)
    sse, a = run_svd(users, items, ratings, forward, mu, True, s)
    _, b = run_svd(users, items, ratings, forward[::-1].copy(), mu, True, s)
    assert not np.allclose(a["user_factors"], b["user_factors"])  # the order matters
    first_err = float(ratings[0]) - (mu + s["user_bias"][users[0]] + s["item_bias"][items[0]]
                                     + s["user_factors"][users[0]] @ s["item_factors"][items[0]])
    assert sse > first_err ** 2 > 0


@pytest.mark.parametrize("d", [1, 5, 11])
def test_svdpp_epoch_equals_surprise_rating_by_rating(d):
    users, items, ratings = triples(n=80)
    users[:3], items[:3] = users[3], items[3]  # a repeated (user, item) pair
    s = state(d=d)
    order = grouped_order(users)
    mu = float(ratings.mean())
    out = {k: s[k].copy() for k in s}
    sse = kernels.svdpp_epoch(users, items, ratings, order, implicit=implicit_csr(users, items), global_mean=mu,
                              lr=LR, reg=REG, **out)
    want = reference_svdpp(users, items, ratings, order, mu, s)
    for name, value in zip(("user_bias", "item_bias", "user_factors", "item_factors", "implicit_factors"), want):
        np.testing.assert_allclose(out[name], value, rtol=1e-10, atol=1e-12, err_msg=name)
    assert sse > 0


def test_svdpp_epoch_refuses_an_order_that_splits_a_user():
    users, items, ratings = triples()
    order = np.arange(len(users), dtype=np.int64)
    assert not kernels.user_grouped(users, order)
    with pytest.raises(KernelInputError, match="order must visit each user's ratings contiguously"):
        kernels.svdpp_epoch(users, items, ratings, order, implicit=implicit_csr(users, items), global_mean=3.0,
                            lr=LR, reg=REG, **state())


@pytest.mark.parametrize("change,message", [
    (lambda a: a.update(ratings=np.array([np.nan] * 60, dtype=np.float32)), r"ratings must be finite, found nan"),
    (lambda a: a.update(ratings=a["ratings"].astype(np.float64)), r"ratings must have dtype float32"),
    (lambda a: a.update(users=a["users"] + 2), r"users must hold user ids .* in \[0, 7\), found 7"),
    (lambda a: a.update(order=np.array([60], dtype=np.int64)), r"order must hold positions of ratings in \[0, 60\)"),
    (lambda a: a.update(item_factors=np.zeros((N_ITEMS, 2))), r"the factor sizes must agree"),
    (lambda a: a.update(user_bias=np.zeros(3)), r"user_bias must have 7 rows"),
    (lambda a: a["lr"].update(pu=-1.0), r"lr\['pu'\] must be finite and >= 0, got -1.0"),
    (lambda a: a["reg"].pop("qi"), r"reg must be a dict with exactly the keys"),
    (lambda a: a.update(global_mean=float("inf")), r"global_mean must be a finite number"),
    (lambda a: a.update(user_factors=np.zeros((N_USERS, D))[:, ::-1]), r"user_factors must be C-contiguous"),
])
def test_svd_epoch_bad_input(change, message):
    users, items, ratings = triples()
    args = dict(users=users, items=items, ratings=ratings, order=np.arange(60, dtype=np.int64), global_mean=3.0,
                biased=True, lr={k: 0.01 for k in "bu bi pu qi".split()}, reg={k: 0.02 for k in "bu bi pu qi".split()},
                **{k: v for k, v in state().items() if k != "implicit_factors"})
    change(args)
    with pytest.raises(KernelInputError, match=message):
        kernels.svd_epoch(**args)


def test_read_only_state_is_refused():
    users, items, ratings = triples()
    s = {k: v for k, v in state().items() if k != "implicit_factors"}
    s["item_bias"].setflags(write=False)
    with pytest.raises(KernelInputError, match="item_bias must be writable"):
        kernels.svd_epoch(users, items, ratings, np.arange(60, dtype=np.int64), global_mean=3.0, biased=True,
                          lr={k: 0.01 for k in "bu bi pu qi".split()}, reg={k: 0.0 for k in "bu bi pu qi".split()},
                          **s)
