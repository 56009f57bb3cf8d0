"""Ranking metrics kernel: hand-computed cases, a plain Python reference, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recplug.errors import KernelInputError
from recplug.kernels import METRIC_NAMES, ranking_metrics


def csr(rows):
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    items = np.concatenate([np.asarray(r, dtype=np.int32) for r in rows]) if rows else np.zeros(0, np.int32)
    return indptr, items.astype(np.int32)


def reference(ids, rows, ks):
    """Plain Python, straight from the definitions in DESIGN.md §5."""
    out = {m: np.zeros((len(ks), len(rows))) for m in METRIC_NAMES}
    for r, row_targets in enumerate(rows):
        targets = set(int(t) for t in row_targets)
        if not targets:
            continue
        seen, hit_ranks = set(), []
        for rank, item in enumerate(ids[r].tolist(), start=1):
            if item >= 0 and item in targets and item not in seen:
                hit_ranks.append(rank)
            seen.add(item)
        for j, K in enumerate(ks):
            hits = [h for h in hit_ranks if h <= K]
            n_ideal = min(K, len(targets))
            out["hr"][j, r] = float(bool(hits))
            out["recall"][j, r] = len(hits) / len(targets)
            out["ndcg"][j, r] = (sum(1 / math.log2(h + 1) for h in hits)
                                 / sum(1 / math.log2(i + 1) for i in range(1, n_ideal + 1)))
            out["mrr"][j, r] = 1 / hits[0] if hits else 0.0
            out["precision"][j, r] = len(hits) / K
            out["map"][j, r] = sum((i + 1) / h for i, h in enumerate(hits)) / n_ideal
    return out


def test_hand_computed_values():
    ids = np.array([[5, 1, 7, 3, -1],     # targets {1, 3, 9}: hits at ranks 2 and 4
                    [4, 4, 2, -1, -1],    # targets [4, 4] -> {4}: the repeated 4 counts once
                    [-1, 8, 0, 0, 0],     # targets {8}: hit at rank 2 after an empty slot
                    [1, 2, 3, 4, 5]],     # no targets: all zero
                   dtype=np.int32)
    got = ranking_metrics(ids, csr([[9, 3, 1], [4, 4], [8], []]), (1, 3, 5))
    l3, l5 = math.log2(3), math.log2(5)
    idcg3 = 1 + 1 / l3 + 1 / 2                  # ideal ranks 1..min(K, |T|=3)
    want = {
        # row 0, K=1: no hit; K=3: hit at 2; K=5: hits at 2 and 4
        "hr":        [[0, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 0]],
        "recall":    [[0, 1, 0, 0], [1 / 3, 1, 1, 0], [2 / 3, 1, 1, 0]],
        "ndcg":      [[0, 1, 0, 0], [(1 / l3) / idcg3, 1, 1 / l3, 0],
                      [(1 / l3 + 1 / l5) / idcg3, 1, 1 / l3, 0]],
        "mrr":       [[0, 1, 0, 0], [1 / 2, 1, 1 / 2, 0], [1 / 2, 1, 1 / 2, 0]],
        "precision": [[0, 1, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0], [2 / 5, 1 / 5, 1 / 5, 0]],
        # MAP@K = sum of precision@hit-rank / min(K, |T|): row 0 K=5: (1/2 + 2/4) / 3
        "map":       [[0, 1, 0, 0], [(1 / 2) / 3, 1, 1 / 2, 0], [(1 / 2 + 2 / 4) / 3, 1, 1 / 2, 0]],
    }
    assert list(got) == list(METRIC_NAMES)
    for name, values in want.items():
        assert got[name].dtype == np.float64 and got[name].shape == (3, 4)
        np.testing.assert_allclose(got[name], values, rtol=1e-12, atol=0, err_msg=name)


def test_ids_near_the_int32_limit_are_ordinary_ids():
    top = 2**31 - 1
    ids = np.array([[top - 1, top]], dtype=np.int32)
    got = ranking_metrics(ids, csr([[top, 0]]), [2])
    assert got["hr"].tolist() == [[1.0]] and got["recall"].tolist() == [[0.5]]
    assert got["mrr"].tolist() == [[0.5]]


@st.composite
def metric_case(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_rows, width = draw(st.integers(0, 8)), draw(st.integers(1, 12))
    n_items = draw(st.integers(1, 15))  # few items: many hits and repeats
    ids = rng.integers(-1, n_items, size=(n_rows, width)).astype(np.int32)
    rows = [rng.integers(0, n_items, size=int(rng.integers(0, 6))) for _ in range(n_rows)]
    ks = draw(st.lists(st.integers(1, width), min_size=1, max_size=4))
    return ids, rows, ks


@settings(max_examples=300, deadline=None)
@given(metric_case(), st.integers(0, 2))
def test_matches_the_plain_reference(case, threads):
    ids, rows, ks = case
    got = ranking_metrics(ids, csr(rows), ks, threads=threads)
    want = reference(ids, rows, ks)
    for name in METRIC_NAMES:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-15, err_msg=name)


def test_threads_do_not_change_results():
    rng = np.random.default_rng(5)
    ids = rng.integers(-1, 50, size=(2000, 20)).astype(np.int32)
    targets = csr([rng.integers(0, 50, size=int(rng.integers(0, 8))) for _ in range(2000)])
    one = ranking_metrics(ids, targets, [1, 5, 20], threads=1)
    two = ranking_metrics(ids, targets, [1, 5, 20], threads=2)
    for name in METRIC_NAMES:
        np.testing.assert_array_equal(one[name], two[name])


IDS = np.zeros((2, 3), dtype=np.int32)
T = csr([[1], [2]])


@pytest.mark.parametrize("call, name", [
    (lambda: ranking_metrics(IDS.astype(np.int64), T, [1]), "topk_ids"),
    (lambda: ranking_metrics(np.zeros((3, 2), np.int32).T, T, [1]), "topk_ids"),
    (lambda: ranking_metrics(np.zeros(3, np.int32), T, [1]), "topk_ids"),
    (lambda: ranking_metrics(IDS - 2, T, [1]), "topk_ids"),
    (lambda: ranking_metrics(IDS, (T[0].astype(np.float64), T[1]), [1]), "targets indptr"),
    (lambda: ranking_metrics(IDS, (T[0][:2], T[1][:1]), [1]), "targets indptr"),
    (lambda: ranking_metrics(IDS, (np.array([0, 2, 1], np.int64), T[1][:1]), [1]), "targets indptr"),
    (lambda: ranking_metrics(IDS, (T[0], np.array([1, -3], np.int32)), [1]), "targets items"),
    (lambda: ranking_metrics(IDS, (T[0], T[1].astype(np.int64)), [1]), "targets items"),
    (lambda: ranking_metrics(IDS, T, []), "ks"),
    (lambda: ranking_metrics(IDS, T, 3), "ks"),
    (lambda: ranking_metrics(IDS, T, [0]), "ks"),
    (lambda: ranking_metrics(IDS, T, [4]), "ks"),
    (lambda: ranking_metrics(IDS, T, [2.0]), "ks"),
    (lambda: ranking_metrics(IDS, T, [1], threads=-2), "threads"),
])
def test_bad_input_raises_naming_the_argument(call, name):
    with pytest.raises(KernelInputError, match=name):
        call()


def test_int32_indptr_from_scipy_is_widened():
    int32_ptr = (T[0].astype(np.int32), T[1])
    wide = ranking_metrics(IDS, T, [1])
    narrow = ranking_metrics(IDS, int32_ptr, [1])
    for key in wide:
        np.testing.assert_array_equal(wide[key], narrow[key])
