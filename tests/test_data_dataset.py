"""load_dataset end to end: filters (min_rating, k-core), reports, pre-split masks, ml-100k."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recplug.data import Dataset, Interactions, load_dataset
from recplug.data.filters import compact, kcore_mask, min_rating_mask
from recplug.errors import DataError, DatasetNotFoundError


def shared_file(*parts: str) -> Path:
    """A file under RECPLUG_DATA_DIR, or skip the test with the reason."""
    root = os.environ.get("RECPLUG_DATA_DIR")
    if not root:
        pytest.skip("RECPLUG_DATA_DIR is unset: the real datasets are not available")
    for folder in root.split(os.pathsep):
        path = Path(folder, *parts)
        if path.exists():
            return path
    pytest.skip(f"{'/'.join(parts)} not found under RECPLUG_DATA_DIR={root}")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_min_rating_keeps_positives_and_reports(tmp_path):
    text = "1\t1\t5\t1\n1\t2\t2\t2\n2\t1\t4\t3\n2\t3\t1\t4\n"
    ds = load_dataset(write(tmp_path / "u.data", text), min_rating=4)
    assert ds.report["rows_read"] == 4
    assert ds.report["rows_below_min_rating"] == 2
    assert len(ds.interactions) == 2
    # unused items vanish from the vocabulary
    assert ds.interactions.item_vocab.ids.tolist() == [1]
    with pytest.raises(DataError, match="needs ratings"):
        load_dataset(write(tmp_path / "s.txt", "1 2 3\n"), min_rating=1)


def test_filters_that_remove_everything(tmp_path):
    with pytest.raises(DataError, match="removed every row"):
        load_dataset(write(tmp_path / "u.data", "1\t1\t5\t1\n"), kcore=2)


def test_kcore_small_example_needs_several_rounds():
    # user c has 2 items; item z is only c's, so c drops to 1 after z goes, then item y
    users = ["a", "a", "b", "b", "c", "c"]
    items = ["x", "y", "x", "y", "y", "z"]
    data = Interactions.from_arrays(users, items)
    mask, rounds = kcore_mask(data, 2)
    assert mask.tolist() == [True, True, True, True, False, False]
    assert rounds == 2
    with pytest.raises(DataError, match="positive integer"):
        kcore_mask(data, 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=120),
       st.integers(1, 4))
def test_kcore_fixed_point_and_idempotent(pairs, k):
    users, items = zip(*pairs)
    data = Interactions.from_arrays(np.array(users), np.array(items))
    mask, _ = kcore_mask(data, k)
    kept = data.with_rows(mask)
    if len(kept):
        assert np.bincount(kept.users)[np.unique(kept.users)].min() >= k
        assert np.bincount(kept.items)[np.unique(kept.items)].min() >= k
        again, rounds = kcore_mask(compact(kept), k)
        assert again.all() and rounds == 0
    assert mask.tolist() == naive_kcore(list(zip(users, items)), k)


def naive_kcore(pairs, k):
    """Reference: drop one violating user or item at a time (the k-core is order-free)."""
    keep = [True] * len(pairs)
    while True:
        users, items = {}, {}
        for (u, i), kept in zip(pairs, keep):
            if kept:
                users[u] = users.get(u, 0) + 1
                items[i] = items.get(i, 0) + 1
        bad_users = [u for u, c in users.items() if c < k]
        bad_items = [i for i, c in items.items() if c < k]
        if not bad_users and not bad_items:
            return keep
        for row, (u, i) in enumerate(pairs):
            if bad_users and u == bad_users[0] or not bad_users and i == bad_items[0]:
                keep[row] = False


def test_compact_keeps_first_seen_order_and_rows():
    data = Interactions.from_arrays(["u", "v", "w"], ["a", "b", "c"], [1, 2, 3])
    kept = compact(data.with_rows(np.array([False, True, True])))
    assert kept.user_vocab.ids.tolist() == ["v", "w"]
    assert kept.item_vocab.ids.tolist() == ["b", "c"]
    assert kept.timestamps.tolist() == [2, 3]
    assert compact(data) is data


def test_min_rating_mask_checks():
    data = Interactions.from_arrays([1, 2], [1, 2], ratings=[1.0, 3.0])
    assert min_rating_mask(data, 2).tolist() == [False, True]
    with pytest.raises(DataError, match="finite"):
        min_rating_mask(data, float("nan"))


def test_presplit_masks_follow_the_filters(tmp_path):
    folder = tmp_path / "ps"
    write(folder / "train.txt", "0 0 1 2\n1 0 1\n2 5\n")
    write(folder / "test.txt", "0 3 1\n1 2\n2 6\n")
    ds = load_dataset(folder, kcore=2)
    assert ds.report["rows_removed_by_kcore"] > 0
    n = len(ds.interactions)
    assert ds.predefined["train"].shape == (n,)
    assert (ds.predefined["train"] ^ ds.predefined["test"]).all()
    users = ds.interactions.user_vocab.ids
    assert 2 not in users.tolist()  # user 2 had one item per file, items 5 and 6 once each


def test_dataset_validates_predefined():
    data = Interactions.from_arrays([1, 2], [1, 2])
    with pytest.raises(DataError, match="bool mask"):
        Dataset("x", data, "mem", predefined={"train": np.array([True, False])})
    both = np.array([True, True])
    with pytest.raises(DataError, match="both"):
        Dataset("x", data, "mem", predefined={"train": both, "test": both})


def test_unknown_name_or_path():
    with pytest.raises(DatasetNotFoundError, match="neither an existing file or folder nor a registered"):
        load_dataset("no-such-dataset-anywhere")


def test_ml100k_from_data_dir():
    path = shared_file("ml-100k", "u.data")
    ds = load_dataset(path)
    assert (ds.interactions.n_users, ds.interactions.n_items, len(ds.interactions)) == (943, 1682, 100_000)
    assert ds.report["duplicates"] == 0
    inter = path.parent / "ml-100k.inter"
    if inter.exists():
        assert load_dataset(inter).interactions.fingerprint() == ds.interactions.fingerprint()


def test_ml100k_kcore_idempotent():
    path = shared_file("ml-100k", "u.data")
    once = load_dataset(path, min_rating=4, kcore=10)
    assert once.report["rows_removed_by_kcore"] > 0
    mask, rounds = kcore_mask(once.interactions, 10)
    assert mask.all() and rounds == 0
    counts_u = np.bincount(once.interactions.users)
    counts_i = np.bincount(once.interactions.items)
    assert counts_u.min() >= 10 and counts_i.min() >= 10
