"""EASE: closed form against NumPy, memory refusal, sanity bar."""

from __future__ import annotations

import numpy as np
import pytest

import recplug.models.baselines.ease as ease
from recplug.errors import ConfigError, ModelError
from recplug.models.baselines.ease import EASE, ease_memory_bytes, ease_weights
from recplug.models.baselines.pop import Popularity
from recplug.testing.generated import batch_of, clustered, hit_rate, make_train, options


def reference_weights(dense: np.ndarray, l2: float) -> np.ndarray:
    p = np.linalg.inv(dense.T @ dense + l2 * np.eye(dense.shape[1]))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b


@pytest.mark.parametrize("n_items,l2", [(9, 1.0), (37, 20.0)])
def test_weights_match_numpy_inverse(monkeypatch, n_items, l2):
    monkeypatch.setattr(ease, "_ROWS_PER_BLOCK", 8)  # exercise the blocked mirror/scale loops
    rng = np.random.default_rng(n_items)
    dense = (rng.random((60, n_items)) < 0.3).astype(np.float64)
    users, items = np.nonzero(dense)
    train = make_train(users, items, 60, n_items)
    got = ease_weights(train.csr, l2)
    assert got.dtype == np.float32 and got.shape == (n_items, n_items)
    np.testing.assert_allclose(got, reference_weights(dense, l2), rtol=1e-4, atol=1e-6)
    assert (np.diag(got) == 0).all()


def test_refuses_with_memory_estimate_and_hint():
    gen = clustered(seed=0, n_users=30, n_items=60, per_user=5)
    need_gb = ease_memory_bytes(60) / 1e9
    with pytest.raises(ModelError) as info:
        EASE(max_memory_gb=need_gb / 2).fit(gen.train, options())
    message = str(info.value)
    assert "GB" in message and "60 items" in message and "max_memory_gb" in message
    assert "itemknn" in message


def test_refuses_beyond_available_memory(monkeypatch):
    gen = clustered(seed=0, n_users=30, n_items=60, per_user=5)
    monkeypatch.setattr(ease, "available_memory_bytes", lambda: 1000)
    with pytest.raises(ModelError, match="available"):
        EASE().fit(gen.train, options())


def test_memory_estimate():
    assert ease_memory_bytes(10_000) == 12 * 10_000**2


@pytest.mark.parametrize("l2", [0.0, -5.0])
def test_bad_l2(l2):
    gen = clustered(seed=0, n_users=30, n_items=60, per_user=5)
    with pytest.raises(ConfigError, match="l2"):
        EASE(l2=l2).fit(gen.train, options())


def test_scores_are_history_times_weights_and_beat_popularity():
    gen = clustered(seed=5)
    model = EASE(l2=50.0).fit(gen.train, options())
    batch = batch_of(gen.train, gen.users[:20])
    scores = model.score(batch)
    assert scores.dtype == np.float32 and scores.shape == (20, gen.train.n_items)
    expected = gen.train.csr[gen.users[:20]].toarray() @ model.weights_
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    pop = Popularity().fit(gen.train, options())
    assert hit_rate(model, gen) > hit_rate(pop, gen) + 0.3


def test_fit_is_deterministic():
    gen = clustered(seed=6, n_items=60, per_user=5)
    a = EASE(l2=10.0).fit(gen.train, options(seed=0)).weights_
    b = EASE(l2=10.0).fit(gen.train, options(seed=1)).weights_
    np.testing.assert_array_equal(a, b)
