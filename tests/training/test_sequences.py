"""Next-item windows, cloze masks, skip-gram pairs and session lanes against per-user Python loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recplug.errors import ConfigError
from recplug.training.sequences import (cloze_last, cloze_mask, item_windows, next_item_prefixes, next_item_windows,
                                        session_lanes, skipgram_pairs)

SEQUENCES = st.lists(st.lists(st.integers(0, 9), max_size=12), min_size=1, max_size=6)


def as_csr(sequences):
    indptr = np.zeros(len(sequences) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(s) for s in sequences])
    return indptr, np.array([i for s in sequences for i in s], dtype=np.int32)


# ---- next_item_windows ------------------------------------------------------------
def reference_windows(sequences, max_len):
    users, inputs, targets = [], [], []
    for u, seq in enumerate(sequences):
        end = len(seq)
        while end - 1 >= 1:  # targets are seq[1:]
            lo = max(1, end - max_len)
            pad = [0] * (max_len - (end - lo))
            users.append(u)
            inputs.append(pad + [s + 1 for s in seq[lo - 1:end - 1]])
            targets.append(pad + [s + 1 for s in seq[lo:end]])
            end = lo
    return users, inputs, targets


@settings(max_examples=60, deadline=None)
@given(SEQUENCES, st.integers(1, 5))
def test_windows_match_a_per_user_loop(sequences, max_len):
    users, inputs, targets = next_item_windows(*as_csr(sequences), max_len)
    ref_users, ref_inputs, ref_targets = reference_windows(sequences, max_len)
    assert sorted(zip(users.tolist(), inputs.tolist(), targets.tolist())) == \
        sorted(zip(ref_users, ref_inputs, ref_targets))
    assert inputs.dtype == targets.dtype == np.int64 and users.dtype == np.int32
    assert inputs.shape == targets.shape == (len(ref_users), max_len)
    assert int((targets != 0).sum()) == sum(max(len(s) - 1, 0) for s in sequences)


def test_windows_fixed_example():
    users, inputs, targets = next_item_windows(*as_csr([[5, 6, 7, 8], [1], [2, 3]]), 2)
    assert users.tolist() == [0, 0, 2]
    assert inputs.tolist() == [[7, 8], [0, 6], [0, 3]]
    assert targets.tolist() == [[8, 9], [0, 7], [0, 4]]


def test_windows_reject_bad_max_len():
    with pytest.raises(ConfigError, match="next_item_windows: max_len=0 is not allowed"):
        next_item_windows(*as_csr([[1, 2]]), 0)


# ---- cloze_mask ---------------------------------------------------------------------
def padded_rows(seed=0, rows=200, width=8):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, width + 1, rows)
    items = rng.integers(1, 50, (rows, width))
    return np.where(np.arange(width)[None, :] >= width - lengths[:, None], items, 0)


def test_cloze_masks_only_items_at_least_one_per_row_and_labels_what_was_hidden():
    inputs = padded_rows()
    masked, labels = cloze_mask(inputs, mask_prob=0.2, mask_id=99, seed=3)
    assert masked.dtype == labels.dtype == np.int64 and masked.shape == labels.shape == inputs.shape
    hidden = masked == 99
    assert not (hidden & (inputs == 0)).any()                        # padding is never masked
    np.testing.assert_array_equal(labels, np.where(hidden, inputs, 0))
    np.testing.assert_array_equal(masked[~hidden], inputs[~hidden])
    has_items = (inputs != 0).any(axis=1)
    assert (hidden.any(axis=1) == has_items).all()                    # >= 1 per non-empty row
    rate = hidden.sum() / (inputs != 0).sum()
    assert 0.15 < rate < 0.3


def test_cloze_is_seeded():
    inputs = padded_rows()
    a, b, c = (cloze_mask(inputs, mask_prob=0.3, mask_id=99, seed=s)[0] for s in (1, 1, 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_cloze_mask_prob_one_masks_every_item():
    inputs = padded_rows()
    masked, labels = cloze_mask(inputs, mask_prob=1.0, mask_id=99, seed=0)
    np.testing.assert_array_equal(masked, np.where(inputs != 0, 99, 0))
    np.testing.assert_array_equal(labels, inputs)


@pytest.mark.parametrize("shape", [(0, 5), (3, 0), (0, 0)])
def test_cloze_empty_inputs(shape):
    masked, labels = cloze_mask(np.zeros(shape, dtype=np.int64), mask_prob=0.5, mask_id=9, seed=0)
    assert masked.shape == labels.shape == shape and masked.dtype == np.int64


@pytest.mark.parametrize("kwargs", [dict(mask_prob=0.0, mask_id=9, seed=0), dict(mask_prob=1.5, mask_id=9, seed=0),
                                    dict(mask_prob=0.2, mask_id=0, seed=0), dict(mask_prob=0.2, mask_id=9, seed=-1)])
def test_cloze_rejects_bad_arguments(kwargs):
    with pytest.raises(ConfigError, match="^cloze_mask: "):
        cloze_mask(padded_rows(), **kwargs)


# ---- skipgram_pairs -----------------------------------------------------------------
def reference_pairs(sequences, window):
    pairs = []
    for seq in sequences:
        for p in range(len(seq)):
            for q in range(len(seq)):
                if p != q and (window is None or abs(p - q) <= window):
                    pairs.append((seq[p], seq[q]))
    return pairs


@settings(max_examples=60, deadline=None)
@given(SEQUENCES, st.one_of(st.none(), st.integers(1, 4)))
def test_skipgram_pairs_match_a_per_user_loop(sequences, window):
    centers, contexts = skipgram_pairs(*as_csr(sequences), window)
    assert centers.dtype == contexts.dtype == np.int64
    assert list(zip(centers.tolist(), contexts.tolist())) == reference_pairs(sequences, window)


def test_skipgram_pairs_never_cross_users_and_shuffle_is_seeded():
    # user 0 has items 0..4, user 1 items 10..14: no pair mixes them
    indptr, items = as_csr([[0, 1, 2, 3, 4], [10, 11, 12, 13, 14]])
    centers, contexts = skipgram_pairs(indptr, items, None, seed=7)
    assert ((centers < 10) == (contexts < 10)).all()
    again = skipgram_pairs(indptr, items, None, seed=7)
    np.testing.assert_array_equal(centers, again[0])
    ordered = skipgram_pairs(indptr, items, None)
    assert sorted(zip(centers.tolist(), contexts.tolist())) == sorted(zip(*(a.tolist() for a in ordered)))
    assert not np.array_equal(centers, ordered[0])


def test_skipgram_rejects_bad_window():
    with pytest.raises(ConfigError, match="skipgram_pairs: window=0 is not allowed; window must be None or an"):
        skipgram_pairs(*as_csr([[1, 2]]), 0)


# ---- session_lanes -------------------------------------------------------------------
def run_lanes(sequences, n_lanes, seed):
    """Replay the lanes like a GRU would: per lane, the (input, target) pairs of each session."""
    steps = list(session_lanes(*as_csr(sequences), n_lanes, seed=seed))
    sessions: list[list[tuple[int, int]]] = []
    current = [None] * n_lanes
    for inputs, targets, reset in steps:
        assert inputs.dtype == targets.dtype == np.int64 and reset.dtype == bool
        assert inputs.shape == targets.shape == reset.shape == (n_lanes,)
        assert ((inputs == 0) == (targets == 0)).all() and not (reset & (targets == 0)).any()
        for lane in range(n_lanes):
            if reset[lane]:
                current[lane] = []
                sessions.append(current[lane])
            if targets[lane]:
                current[lane].append((int(inputs[lane]) - 1, int(targets[lane]) - 1))
    return steps, sessions


@settings(max_examples=60, deadline=None)
@given(SEQUENCES, st.integers(1, 4), st.one_of(st.none(), st.integers(0, 3)))
def test_session_lanes_replay_every_session_once_in_order(sequences, n_lanes, seed):
    _, sessions = run_lanes(sequences, n_lanes, seed)
    expected = [list(zip(s[:-1], s[1:])) for s in sequences if len(s) >= 2]
    assert sorted(sessions) == sorted(expected)  # every position after the first a target exactly once


def test_session_lanes_deal_in_seeded_order_and_drop_out_with_zeros():
    sequences = [[0, 1, 2, 3], [4, 5], [6], [7, 8, 9]]
    steps, _ = run_lanes(sequences, 2, None)
    inputs = [s[0].tolist() for s in steps]
    targets = [s[1].tolist() for s in steps]
    resets = [s[2].tolist() for s in steps]
    assert inputs == [[1, 5], [2, 8], [3, 9]]
    assert targets == [[2, 6], [3, 9], [4, 10]]
    assert resets == [[True, True], [False, True], [False, False]]
    steps, _ = run_lanes([[0, 1, 2, 3], [4, 5]], 2, None)
    assert [(s[0].tolist(), s[1].tolist(), s[2].tolist()) for s in steps] == [
        ([1, 5], [2, 6], [True, True]), ([2, 0], [3, 0], [False, False]), ([3, 0], [4, 0], [False, False])]
    a = [t[1].tolist() for t in session_lanes(*as_csr(sequences * 5), 3, seed=4)]
    b = [t[1].tolist() for t in session_lanes(*as_csr(sequences * 5), 3, seed=4)]
    c = [t[1].tolist() for t in session_lanes(*as_csr(sequences * 5), 3, seed=5)]
    assert a == b and a != c


def test_session_lanes_empty_and_bad_arguments():
    assert list(session_lanes(*as_csr([[1], []]), 2, seed=0)) == []
    with pytest.raises(ConfigError, match="session_lanes: n_lanes=0 is not allowed"):
        list(session_lanes(*as_csr([[1, 2]]), 0, seed=0))


# ---- next_item_prefixes -----------------------------------------------------------
def test_prefixes_fixed_example():
    users, inputs, targets = next_item_prefixes(*as_csr([[5, 6, 7, 8], [1], [2, 3]]), 2)
    assert users.tolist() == [0, 0, 0, 2] and users.dtype == np.int32
    assert inputs.tolist() == [[0, 6], [6, 7], [7, 8], [0, 3]]
    assert targets.tolist() == [7, 8, 9, 4] and inputs.dtype == targets.dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(SEQUENCES, st.integers(1, 5))
def test_prefixes_match_a_per_user_loop(sequences, max_len):
    users, inputs, targets = next_item_prefixes(*as_csr(sequences), max_len)
    expected = [(u, [0] * (max_len - len(seq[max(0, t - max_len):t])) + [s + 1 for s in seq[max(0, t - max_len):t]],
                 seq[t] + 1) for u, seq in enumerate(sequences) for t in range(1, len(seq))]
    assert list(zip(users.tolist(), inputs.tolist(), targets.tolist())) == expected


# ---- item_windows -------------------------------------------------------------------
def test_item_windows_fixed_example():
    users, items = item_windows(*as_csr([[5, 6, 7, 8, 9], [], [2]]), 3)
    assert users.tolist() == [0, 0, 2]
    assert items.tolist() == [[8, 9, 10], [0, 6, 7], [0, 0, 3]] and items.dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(SEQUENCES, st.integers(1, 5))
def test_item_windows_hold_every_item_once_in_order(sequences, max_len):
    users, items = item_windows(*as_csr(sequences), max_len)
    for u, seq in enumerate(sequences):
        rows = items[users == u][::-1]                       # oldest window first
        assert [i - 1 for row in rows for i in row if i] == seq
        assert all(row[-1] != 0 for row in rows)             # right-aligned


def test_item_windows_reject_bad_max_len():
    with pytest.raises(ConfigError, match="item_windows: max_len=0 is not allowed"):
        item_windows(*as_csr([[1, 2]]), 0)


# ---- cloze_last ---------------------------------------------------------------------
def test_cloze_last_appends_the_mask_after_the_last_item():
    rows = np.array([[0, 0, 4, 5], [1, 2, 3, 4], [0, 0, 0, 0]])
    assert cloze_last(rows, mask_id=9).tolist() == [[0, 4, 5, 9], [2, 3, 4, 9], [0, 0, 0, 9]]
    assert rows.tolist()[1] == [1, 2, 3, 4]                 # the input is not changed
    import torch
    assert cloze_last(torch.as_tensor(rows), mask_id=9).tolist() == [[0, 4, 5, 9], [2, 3, 4, 9], [0, 0, 0, 9]]
    with pytest.raises(ConfigError, match="^cloze_last: mask_id=0"):
        cloze_last(rows, mask_id=0)


# ---- session_lanes with an explicit order --------------------------------------------
def test_session_lanes_follow_an_explicit_order():
    sequences = [[0, 1, 2], [3, 4], [5], [6, 7]]
    steps = list(session_lanes(*as_csr(sequences), 1, seed=5, order=np.array([3, 2, 0, 1])))
    assert [int(s[0][0]) - 1 for s in steps] == [6, 0, 1, 3]        # users 3, 0, 1 (2 has one item)
    assert [bool(s[2][0]) for s in steps] == [True, True, False, True]
    with pytest.raises(ConfigError, match="^session_lanes: order must be"):
        list(session_lanes(*as_csr(sequences), 1, seed=None, order=np.array([4])))
