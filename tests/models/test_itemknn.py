"""ItemKNN against a dense NumPy reference, and its sanity bar."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import recplug.models.baselines.itemknn as itemknn
from recplug.errors import ConfigError
from recplug.models.baselines.itemknn import ItemKNN, top_k_per_row
from recplug.models.baselines.pop import Popularity
from recplug.testing.generated import batch_of, clustered, hit_rate, make_train, options


def random_train(seed: int, n_users: int = 30, n_items: int = 15, density: float = 0.3):
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < density
    users, items = np.nonzero(dense)
    order = rng.permutation(len(users))
    return make_train(users[order], items[order], n_users, n_items), dense.astype(np.float64)


def reference_neighbors(dense: np.ndarray, k: int, shrink: float) -> np.ndarray:
    """Dense [n_items, n_items]: row j keeps j's k most similar items (ties: lower index)."""
    co = dense.T @ dense
    norms = np.sqrt(np.diag(co))
    sim = co / (norms[:, None] * norms[None, :] + shrink)
    np.fill_diagonal(sim, 0.0)
    out = np.zeros_like(sim)
    for j in range(len(sim)):
        order = np.argsort(-sim[j], kind="stable")[:k]
        out[j, order] = sim[j, order]
    return out


@pytest.mark.parametrize("k,shrink", [(3, 0.0), (4, 2.0), (100, 10.0)])
def test_neighbors_match_dense_reference(k, shrink):
    train, dense = random_train(seed=k)
    model = ItemKNN(k=k, shrink=shrink).fit(train, options())
    expected = reference_neighbors(dense, k, shrink)
    np.testing.assert_allclose(model.neighbors_.toarray(), expected, rtol=1e-6, atol=1e-7)
    assert model.neighbors_.dtype == np.float32
    assert (np.diff(model.neighbors_.indptr) <= k).all()


def test_block_building_gives_the_same_neighbors(monkeypatch):
    train, _ = random_train(seed=5, n_users=40, n_items=23)
    whole = ItemKNN(k=5).fit(train, options()).neighbors_
    monkeypatch.setattr(itemknn, "_BLOCK_ENTRIES", 23 * 4)  # 4 target items per block
    blocked = ItemKNN(k=5).fit(train, options()).neighbors_
    assert (whole != blocked).nnz == 0


def test_top_k_per_row_breaks_ties_by_lower_column():
    m = sp.csr_matrix(np.array([[0.5, 0.9, 0.5, 0.5], [0.0, 0.1, 0.0, 0.2]]))
    np.testing.assert_array_equal(top_k_per_row(m, 2).toarray(), [[0.5, 0.9, 0, 0], [0, 0.1, 0, 0.2]])


def test_scores_match_dense_reference():
    train, dense = random_train(seed=11)
    model = ItemKNN(k=4, shrink=1.0).fit(train, options())
    users = np.array([3, 0, 7, 29], dtype=np.int32)
    scores = model.score(batch_of(train, users))
    assert scores.dtype == np.float32 and scores.shape == (4, 15)
    expected = dense[users] @ reference_neighbors(dense, 4, 1.0).T
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_beats_popularity_on_clustered_data_and_is_deterministic():
    gen = clustered(seed=4)
    model = ItemKNN(k=20).fit(gen.train, options())
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(pop, gen) + 0.3
    again = ItemKNN(k=20).fit(gen.train, options(seed=9))
    batch = batch_of(gen.train, gen.users[:50])
    np.testing.assert_array_equal(model.score(batch), again.score(batch))


@pytest.mark.parametrize("bad", [dict(k=0), dict(k=2.5), dict(shrink=-1.0)])
def test_bad_hyperparameters(bad):
    train, _ = random_train(seed=0)
    with pytest.raises(ConfigError, match="ItemKNN"):
        ItemKNN(**bad).fit(train, options())


def test_params_round_trip():
    model = ItemKNN(k=7, shrink=3.0)
    assert model.get_params() == {"k": 7, "shrink": 3.0}
    assert model.clone().get_params() == model.get_params()
