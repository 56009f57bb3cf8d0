"""Invariants every split keeps, on random data (hypothesis), and the ml-100k checks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recplug.data import Interactions, load_dataset
from recplug.errors import SplitError
from recplug.splits import make_split
from recplug.splits.checks import pair_keys, target_keys


@st.composite
def interactions(draw):
    n = draw(st.integers(10, 80))
    users = draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
    items = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    return Interactions.from_arrays(np.array(users), np.array(items), np.array(times))


def row_keys(data, part):
    """Multiset of (user, item, time) rows as sorted tuples."""
    return sorted(zip(part.users.tolist(), part.items.tolist(), part.timestamps.tolist()))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(interactions(), st.sampled_from(["loo", "temporal", "temporal-user", "ratio"]),
       st.integers(0, 3))
def test_split_invariants(data, method, seed):
    try:
        split = make_split(data, method, seed=seed)
    except SplitError as exc:  # tiny random data may leave a part empty; that is reported
        assert "no test targets" in str(exc) or "is empty" in str(exc)
        return
    again = make_split(data, method, seed=seed)
    assert np.array_equal(split.train.items, again.train.items)
    assert np.array_equal(split.test_targets.items, again.test_targets.items)
    # train and validation are disjoint sub-multisets of the data's rows
    everything = row_keys(data, data)
    parts = row_keys(data, split.train) + row_keys(data, split.validation)
    remaining = list(everything)
    for row in parts:
        remaining.remove(row)
    # every target pair comes from a row outside train and is not in its masked history
    n_items = data.n_items
    outside = set(pair_keys(np.array([r[0] for r in remaining], dtype=np.int64),
                            np.array([r[1] for r in remaining], dtype=np.int64), n_items).tolist())
    valid_rows = set(pair_keys(split.validation.users, split.validation.items, n_items).tolist())
    assert set(target_keys(split.test_targets, n_items).tolist()) <= outside
    assert set(target_keys(split.valid_targets, n_items).tolist()) <= valid_rows
    train_keys = set(pair_keys(split.train.users, split.train.items, n_items).tolist())
    assert not train_keys & set(target_keys(split.valid_targets, n_items).tolist())
    assert not (train_keys | valid_rows) & set(target_keys(split.test_targets, n_items).tolist())
    if method == "temporal":
        assert split.train.timestamps.max() < min(r[2] for r in remaining + row_keys(data, split.validation))


def shared(*parts: str) -> Path:
    root = os.environ.get("RECPLUG_DATA_DIR")
    if not root:
        pytest.skip("RECPLUG_DATA_DIR is unset: the real datasets are not available")
    for folder in root.split(os.pathsep):
        if Path(folder, *parts).exists():
            return Path(folder, *parts)
    pytest.skip(f"{'/'.join(parts)} not found under RECPLUG_DATA_DIR={root}")


def test_ml100k_loo_has_943_test_users():
    shared("ml-100k", "u.data")
    ds = load_dataset("ml-100k", offline=True)  # found through RECPLUG_DATA_DIR
    split = make_split(ds, "loo")
    assert split.summary["test_users"] == 943 and split.summary["valid_users"] == 943
    assert len(split.train) == 100_000 - 2 * 943


def test_ml100k_temporal_runs():
    ds = load_dataset(shared("ml-100k", "u.data"))
    split = make_split(ds, "temporal")
    assert split.summary["test_targets"] > 0 and split.summary["valid_targets"] > 0
    assert split.train.timestamps.max() < split.validation.timestamps.min()
    nxt = make_split(ds, "temporal", target="next")
    assert nxt.summary["test_targets"] == nxt.summary["test_users"]


def test_gowalla_presplit():
    shared("gowalla", "test.txt")
    ds = load_dataset("gowalla", offline=True)
    split = make_split(ds, "presplit")
    assert split.summary["train_test_overlap"] == 0
    assert split.summary["test_users"] == ds.interactions.n_users == 29_858
    assert ds.report["train_rows"] == 810_128


def test_beauty_sequences_loo():
    shared("beauty", "Beauty.txt")
    ds = load_dataset("beauty", offline=True)
    assert ds.interactions.timestamps is None
    split = make_split(ds, "loo")
    assert split.summary["test_users"] == ds.interactions.n_users
