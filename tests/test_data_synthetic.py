"""Synthetic data: sizes, determinism, chronology, long tail, learnable structure, drift."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.data.synthetic import generate
from recplug.errors import DataError
from recplug.splits import make_split


def test_sizes_vocabularies_and_chronology():
    data = generate(50, 40, 1000, seed=3)
    assert len(data) == 1000
    assert (data.n_users, data.n_items) == (50, 40)
    assert data.user_vocab.ids.tolist() == list(range(50))
    assert np.bincount(data.users, minlength=50).min() >= 1  # every user appears
    assert data.timestamps.dtype == np.int64
    assert (np.diff(data.timestamps) >= 0).all()
    assert data.ratings is None
    assert data.name == "synthetic"


def test_same_seed_same_data_other_seed_other_data():
    a = generate(100, 80, 3000, seed=7, drift=0.3)
    b = generate(100, 80, 3000, seed=7, drift=0.3)
    c = generate(100, 80, 3000, seed=8, drift=0.3)
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


def test_without_timestamps_rows_are_the_same():
    a = generate(30, 20, 500, seed=1)
    b = generate(30, 20, 500, seed=1, timestamps=False)
    assert b.timestamps is None
    assert np.array_equal(a.users, b.users) and np.array_equal(a.items, b.items)


def test_fewer_interactions_than_users_and_tiny_catalogue():
    data = generate(100, 3, 10, seed=0, dim=16)
    assert len(data) == 10 and len(np.unique(data.users)) == 10
    assert data.items.max() < 3


def test_popularity_is_long_tailed_and_zipf_controls_it():
    steep = np.sort(generate(500, 1000, 50_000, seed=0, zipf=1.2).item_interaction_counts())[::-1]
    flat = np.sort(generate(500, 1000, 50_000, seed=0, zipf=0.0).item_interaction_counts())[::-1]
    share = lambda pop: pop[:100].sum() / pop.sum()  # noqa: E731
    assert share(steep) > 0.5  # top 10% of items get most interactions
    assert share(flat) < 0.3


def _hit_rate(split, scores):
    history = split.history("test").csr()
    users = split.test_targets.users()
    s = scores[users].astype(float)
    s[history[users].nonzero()] = -np.inf
    top = np.argsort(-s, axis=1, kind="stable")[:, :10]
    return np.mean([np.isin(split.test_targets.of(u), top[k]).any() for k, u in enumerate(users)])


def test_latent_preferences_are_learnable():
    split = make_split(generate(400, 300, 12_000, seed=0), "loo")
    train = split.train.csr().toarray()
    norms = np.sqrt(train.sum(axis=0)) + 1e-9
    similarity = (train.T @ train) / np.outer(norms, norms)
    np.fill_diagonal(similarity, 0.0)
    knn = split.history("test").csr().toarray() @ similarity
    popularity = np.tile(split.train.item_interaction_counts(), (split.train.n_users, 1))
    assert _hit_rate(split, knn) > 2 * _hit_rate(split, popularity)


def _early_late_similarity(data):
    """Mean cosine between each user's first-half and second-half item counts."""
    indptr, items = data.sequences()
    sims = []
    for u in range(data.n_users):
        seq = items[indptr[u]:indptr[u + 1]]
        if len(seq) < 20:
            continue
        half = len(seq) // 2
        a = np.bincount(seq[:half], minlength=data.n_items).astype(float)
        b = np.bincount(seq[half:], minlength=data.n_items).astype(float)
        sims.append(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return float(np.mean(sims))


def test_drift_moves_preferences_over_time():
    still = _early_late_similarity(generate(200, 400, 20_000, seed=2, drift=0.0))
    moving = _early_late_similarity(generate(200, 400, 20_000, seed=2, drift=0.5))
    assert moving < 0.6 * still


@pytest.mark.parametrize("kwargs, message", [
    ({"n_users": 0}, "n_users must be a positive integer"),
    ({"n_items": 2.5}, "n_items must be a positive integer"),
    ({"zipf": -1}, "zipf"),
    ({"drift": float("nan")}, "drift"),
])
def test_bad_arguments(kwargs, message):
    args = {"n_users": 10, "n_items": 10, "n_interactions": 10, **kwargs}
    with pytest.raises(DataError, match=message):
        generate(**args)
