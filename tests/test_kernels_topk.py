"""Masked top-K, the running TopKState, fused scoring: against a plain NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recplug.errors import KernelInputError
from recplug.kernels import TopKState, fused_topk, masked_topk, score_matrix

TIER = {"random": 0, "optimistic": 1, "pessimistic": -1}


# ---------------------------------------------------------------- reference


def reference_topk(scores, k, exclude, priority, targets=None, ties="random"):
    """Argsort on a lexsort key: (not NaN, score, tier, priority), all descending."""
    n_rows, n_items = scores.shape
    ids = np.full((n_rows, k), -1, dtype=np.int32)
    out = np.full((n_rows, k), np.nan, dtype=np.float32)
    boundary = np.zeros(n_rows, dtype=bool)
    for r in range(n_rows):
        excluded = exclude[1][exclude[0][r]:exclude[0][r + 1]]
        cand = np.setdiff1d(np.arange(n_items), excluded)
        s = scores[r, cand].astype(np.float64)
        tier = np.zeros(len(cand))
        if targets is not None and ties != "random":
            row_targets = targets[1][targets[0][r]:targets[0][r + 1]]
            tier[np.isin(cand, row_targets)] = TIER[ties]
        nan = np.isnan(s)
        order = np.lexsort((priority[cand], tier, np.where(nan, 0.0, s), ~nan))[::-1]
        top = order[:k]
        ids[r, :len(top)] = cand[top]
        out[r, :len(top)] = s[top]
        if len(cand) > k:
            a, b = s[order[k - 1]], s[order[k]]
            boundary[r] = a == b or (np.isnan(a) and np.isnan(b))
    return ids, out + np.float32(0.0), boundary  # + 0.0: the kernels return -0.0 as +0.0


def assert_same(got, want):
    for g, w, name in zip(got, want, ("ids", "scores", "boundary_ties")):
        np.testing.assert_array_equal(g, w, err_msg=name)


# ---------------------------------------------------------------- random inputs


def random_csr(rng, n_rows, n_items, max_len, duplicates=True, shuffle=True):
    """Random (indptr, items): rows of random length, optionally unsorted / with repeats."""
    rows = []
    for _ in range(n_rows):
        length = int(rng.integers(0, max_len + 1))
        row = rng.integers(0, max(n_items, 1), size=length) if n_items else np.zeros(0, int)
        if not duplicates:
            row = np.unique(row)
        if not shuffle:
            row = np.sort(row)
        rows.append(row)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    items = np.concatenate(rows).astype(np.int32) if rows else np.zeros(0, np.int32)
    return indptr, items


def random_scores(rng, n_rows, n_items, style):
    if style == "ties":  # integer-valued: many exact ties
        s = rng.integers(-2, 3, size=(n_rows, n_items)).astype(np.float32)
    else:
        s = rng.normal(size=(n_rows, n_items)).astype(np.float32)
    special = rng.random((n_rows, n_items))
    s[special < 0.08] = np.nan
    s[(special >= 0.08) & (special < 0.12)] = -np.inf
    s[(special >= 0.12) & (special < 0.14)] = np.inf
    s[(special >= 0.14) & (special < 0.18)] = -0.0
    return s


@st.composite
def topk_case(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_rows = draw(st.integers(0, 6))
    n_items = draw(st.integers(0, 40))
    k = draw(st.integers(1, n_items + 3))
    scores = random_scores(rng, n_rows, n_items, draw(st.sampled_from(["ties", "normal"])))
    exclude = random_csr(rng, n_rows, n_items, draw(st.sampled_from([0, 3, 20, 80])))
    if n_rows and draw(st.booleans()):  # one row excludes every item
        row = int(rng.integers(0, n_rows))
        rows = [exclude[1][exclude[0][r]:exclude[0][r + 1]] for r in range(n_rows)]
        rows[row] = rng.permutation(n_items)
        exclude = (np.concatenate([[0], np.cumsum([len(x) for x in rows])]).astype(np.int64),
                   np.concatenate(rows).astype(np.int32))
    targets = random_csr(rng, n_rows, n_items, 6)
    priority = rng.permutation(n_items).astype(np.int32)
    ties = draw(st.sampled_from(["random", "optimistic", "pessimistic"]))
    return scores, k, exclude, priority, targets, ties, rng


@settings(max_examples=300, deadline=None)
@given(topk_case())
def test_masked_topk_matches_reference(case):
    scores, k, exclude, priority, targets, ties, _ = case
    got = masked_topk(scores, k, exclude=exclude, priority=priority, targets=targets, ties=ties)
    assert_same(got, reference_topk(scores, k, exclude, priority, targets, ties))


@settings(max_examples=200, deadline=None)
@given(topk_case())
def test_chunks_in_any_order_and_size_give_the_one_chunk_result(case):
    scores, k, exclude, priority, targets, ties, rng = case
    n_rows, n_items = scores.shape
    cuts = np.sort(rng.integers(0, n_items + 1, size=int(rng.integers(0, 6))))
    bounds = np.concatenate([[0], cuts, [n_items]])
    chunks = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    state = TopKState(n_rows, k)
    for i in rng.permutation(len(chunks)):
        a, b = chunks[i]
        state.update(np.ascontiguousarray(scores[:, a:b]), a, exclude=exclude, priority=priority,
                     targets=targets, ties=ties, threads=int(rng.integers(0, 3)))
    ids, out = state.result()
    assert_same((ids, out, state.boundary_ties()),
                reference_topk(scores, k, exclude, priority, targets, ties))


@st.composite
def wide_case(draw):
    """Rows wide enough (>= 32 slots per kept key) for the seeded threshold to kick in."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_rows, k = draw(st.integers(1, 4)), draw(st.integers(1, 8))
    n_items = draw(st.integers(32 * (k + 1), 2500))
    style = draw(st.sampled_from(["ties", "normal", "nan", "minus_inf", "history_on_top"]))
    scores = random_scores(rng, n_rows, n_items, "ties" if style == "ties" else "normal")
    exclude = random_csr(rng, n_rows, n_items, draw(st.sampled_from([0, 5, 60, 400])),
                         shuffle=draw(st.booleans()))
    if style == "nan":  # almost everything NaN: too few numbers to seed from
        scores[rng.random(scores.shape) < 0.995] = np.nan
    elif style == "minus_inf":
        scores[rng.random(scores.shape) < 0.99] = -np.inf
    elif style == "history_on_top":  # excluded items score highest, as for a real model
        for r in range(n_rows):
            scores[r, exclude[1][exclude[0][r]:exclude[0][r + 1]]] = 100.0 + rng.random()
    targets = random_csr(rng, n_rows, n_items, 30)
    priority = rng.permutation(n_items).astype(np.int32)
    ties = draw(st.sampled_from(["random", "optimistic", "pessimistic"]))
    return scores, k, exclude, priority, targets, ties, rng


@settings(max_examples=120, deadline=None)
@given(wide_case())
def test_wide_rows_match_reference_and_chunking(case):
    scores, k, exclude, priority, targets, ties, rng = case
    want = reference_topk(scores, k, exclude, priority, targets, ties)
    got = masked_topk(scores, k, exclude=exclude, priority=priority, targets=targets, ties=ties)
    assert_same(got, want)
    n_items = scores.shape[1]
    cut = int(rng.integers(0, n_items + 1))
    state = TopKState(scores.shape[0], k)
    for a, b in ((cut, n_items), (0, cut)):
        state.update(np.ascontiguousarray(scores[:, a:b]), a, exclude=exclude, priority=priority,
                     targets=targets, ties=ties)
    assert_same((*state.result(), state.boundary_ties()), want)


def test_threads_do_not_change_results():
    rng = np.random.default_rng(7)
    scores = random_scores(rng, 300, 700, "ties")
    exclude = random_csr(rng, 300, 700, 60)
    targets = random_csr(rng, 300, 700, 5)
    priority = rng.permutation(700).astype(np.int32)
    for ties in ("random", "optimistic", "pessimistic"):
        one = masked_topk(scores, 25, exclude=exclude, priority=priority, targets=targets,
                          ties=ties, threads=1)
        two = masked_topk(scores, 25, exclude=exclude, priority=priority, targets=targets,
                          ties=ties, threads=2)
        assert_same(two, one)
        assert_same(one, reference_topk(scores, 25, exclude, priority, targets, ties))


# ---------------------------------------------------------------- hand cases


def test_hand_case_order_ties_nan_and_padding():
    scores = np.array([[1.0, np.nan, 3.0, 3.0, -np.inf, 3.0]], dtype=np.float32)
    priority = np.array([0, 1, 2, 3, 4, 5], dtype=np.int32)
    exclude = (np.array([0, 1], np.int64), np.array([5], np.int32))
    targets = (np.array([0, 1], np.int64), np.array([2], np.int32))
    # items 2 and 3 tie at 3.0 (5 excluded): priority puts 3 first, optimistic puts target 2 first
    ids, out, tie = masked_topk(scores, 2, exclude=exclude, priority=priority)
    assert ids.tolist() == [[3, 2]] and tie.tolist() == [False]
    ids, _, _ = masked_topk(scores, 2, exclude=exclude, priority=priority, targets=targets,
                            ties="optimistic")
    assert ids.tolist() == [[2, 3]]
    ids, _, tie = masked_topk(scores, 1, exclude=exclude, priority=priority, targets=targets,
                              ties="pessimistic")
    assert ids.tolist() == [[3]] and tie.tolist() == [True]  # 3.0 == 3.0 at the cut
    # NaN ranks below -inf; k beyond the 5 candidates pads with -1 / NaN
    ids, out, tie = masked_topk(scores, 7, exclude=exclude, priority=priority)
    assert ids.tolist() == [[3, 2, 0, 4, 1, -1, -1]]
    assert np.isnan(out[0, 4:]).all() and out[0, 3] == -np.inf and not tie[0]


def test_every_item_excluded_and_empty_batch():
    scores = np.zeros((2, 4), dtype=np.float32)
    exclude = (np.array([0, 4, 4], np.int64), np.array([3, 1, 0, 2], np.int32))
    ids, out, tie = masked_topk(scores, 2, exclude=exclude, priority=np.arange(4, dtype=np.int32))
    assert ids.tolist() == [[-1, -1], [3, 2]] and np.isnan(out[0]).all()
    assert tie.tolist() == [False, True]
    ids, out, tie = masked_topk(np.zeros((0, 4), np.float32), 3, exclude=None,
                                priority=np.arange(4, dtype=np.int32))
    assert ids.shape == (0, 3) and out.shape == (0, 3) and tie.shape == (0,)


def test_state_result_can_be_read_between_updates():
    priority = np.arange(6, dtype=np.int32)
    state = TopKState(1, 2)
    state.update(np.array([[5.0, 1.0, 2.0]], np.float32), 0, exclude=None, priority=priority)
    assert state.result()[0].tolist() == [[0, 2]]
    state.update(np.array([[9.0, 2.0, 0.0]], np.float32), 3, exclude=None, priority=priority)
    ids, out = state.result()
    assert ids.tolist() == [[3, 0]] and out.tolist() == [[9.0, 5.0]]
    assert state.boundary_ties().tolist() == [False]


def test_torch_cpu_tensors_are_accepted_without_copy():
    torch = pytest.importorskip("torch")
    scores = torch.tensor([[0.5, 2.0, 1.0]])
    ids, _, _ = masked_topk(scores, 2, exclude=None, priority=np.arange(3, dtype=np.int32))
    assert ids.tolist() == [[1, 2]]
    for bad in (scores.to(torch.bfloat16), scores.double(), torch.zeros(3, 2).T):
        with pytest.raises(KernelInputError, match="scores"):
            masked_topk(bad, 2, exclude=None, priority=np.arange(3, dtype=np.int32))


# ---------------------------------------------------------------- fused scoring


def test_fused_equals_masked_topk_on_exact_integer_scores():
    # integer embeddings: every score is exact in float32, so any summation order agrees and
    # the reference can use a plain matmul; values in a small range make many ties.
    rng = np.random.default_rng(3)
    for n_users, n_items, d in [(1, 1, 1), (7, 15, 3), (50, 257, 8), (97, 300, 5), (13, 40, 130)]:
        users = rng.integers(-2, 3, size=(n_users, d)).astype(np.float32)
        items = rng.integers(-2, 3, size=(n_items, d)).astype(np.float32)
        bias = rng.integers(-1, 2, size=n_items).astype(np.float32)
        exclude = random_csr(rng, n_users, n_items, 30)
        targets = random_csr(rng, n_users, n_items, 4)
        priority = rng.permutation(n_items).astype(np.int32)
        dense = (users.astype(np.float64) @ items.T.astype(np.float64) + bias).astype(np.float32)
        for ties, k in [("random", 5), ("optimistic", 20), ("pessimistic", n_items + 2)]:
            got = fused_topk(users, items, k, exclude=exclude, priority=priority, targets=targets,
                             ties=ties, item_bias=bias)
            assert_same(got, reference_topk(dense, k, exclude, priority, targets, ties))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_users=st.integers(1, 110), n_items=st.integers(1, 600),
       d=st.integers(1, 70), k=st.integers(1, 30), with_bias=st.booleans())
def test_fused_equals_masked_topk_of_score_matrix(seed, n_users, n_items, d, k, with_bias):
    rng = np.random.default_rng(seed)
    users = rng.normal(size=(n_users, d)).astype(np.float32)
    items = rng.normal(size=(n_items, d)).astype(np.float32)
    bias = rng.normal(size=n_items).astype(np.float32) if with_bias else None
    exclude = random_csr(rng, n_users, n_items, 40)
    priority = rng.permutation(n_items).astype(np.int32)
    dense = score_matrix(users, items, bias)
    want = masked_topk(dense, k, exclude=exclude, priority=priority)
    got = fused_topk(users, items, k, exclude=exclude, priority=priority, item_bias=bias,
                     threads=int(rng.integers(0, 3)))
    assert_same(got, want)
    exact = users.astype(np.float64) @ items.T.astype(np.float64)
    if bias is not None:
        exact += bias
    scale = np.abs(users).astype(np.float64) @ np.abs(items).T.astype(np.float64) + 1.0
    assert np.all(np.abs(dense - exact) <= 1e-5 * scale)


@pytest.mark.parametrize("n_items, n_users", [(8192, 13), (8193, 13), (9500, 13), (8193, 400)])
def test_fused_streams_tiles_for_large_catalogues(n_items, n_users):
    # above 8192 items fused_topk streams 192-user x 256-item tiles instead of whole rows;
    # 400 users make two full user blocks and a partial one
    rng = np.random.default_rng(n_items + n_users)
    d = 3
    users = rng.integers(-2, 3, size=(n_users, d)).astype(np.float32)
    items = rng.integers(-2, 3, size=(n_items, d)).astype(np.float32)
    exclude = random_csr(rng, n_users, n_items, 3000)
    targets = random_csr(rng, n_users, n_items, 500)
    priority = rng.permutation(n_items).astype(np.int32)
    dense = (users.astype(np.float64) @ items.T.astype(np.float64)).astype(np.float32)
    for ties, k in [("random", 3), ("optimistic", 40), ("pessimistic", 300)]:
        got = fused_topk(users, items, k, exclude=exclude, priority=priority, targets=targets,
                         ties=ties, threads=2)
        assert_same(got, reference_topk(dense, k, exclude, priority, targets, ties))


def test_score_matrix_is_exact_for_d1_and_independent_of_batch_composition():
    rng = np.random.default_rng(11)
    users = rng.normal(size=(100, 1)).astype(np.float32)
    items = rng.normal(size=(70, 1)).astype(np.float32)
    bias = rng.normal(size=70).astype(np.float32)
    np.testing.assert_array_equal(score_matrix(users, items, bias),
                                  users * items[:, 0] + bias)  # float32: fl(fl(u*v) + b)
    users = rng.normal(size=(100, 33)).astype(np.float32)
    items = rng.normal(size=(70, 33)).astype(np.float32)
    full = score_matrix(users, items, threads=2)
    order = rng.permutation(100)[:37]
    np.testing.assert_array_equal(score_matrix(users[order], items, threads=1), full[order])


# ---------------------------------------------------------------- bad input


P4 = np.arange(4, dtype=np.int32)
S = np.zeros((2, 4), dtype=np.float32)
E = (np.array([0, 1, 2], np.int64), np.array([0, 3], np.int32))


def bad_calls():
    """(callable, word the message must name) for every kind of bad input."""
    ip = np.array([0, 1, 2], np.int64)
    return [
        (lambda: masked_topk(S.astype(np.float64), 2, exclude=E, priority=P4), "scores"),
        (lambda: masked_topk(np.zeros((4, 2), np.float32).T, 2, exclude=E, priority=P4), "scores"),
        (lambda: masked_topk(np.zeros(4, np.float32), 2, exclude=E, priority=P4), "scores"),
        (lambda: masked_topk([[0.0] * 4] * 2, 2, exclude=E, priority=P4), "scores"),
        (lambda: masked_topk(S, 0, exclude=E, priority=P4), "k"),
        (lambda: masked_topk(S, 2.0, exclude=E, priority=P4), "k"),
        (lambda: masked_topk(S, 2, exclude=E, priority=P4.astype(np.int64)), "priority"),
        (lambda: masked_topk(S, 2, exclude=E, priority=np.array([0, 1, 1, 2], np.int32)), "priority"),
        (lambda: masked_topk(S, 2, exclude=E, priority=np.array([0, 1, 2, 4], np.int32)), "priority"),
        (lambda: masked_topk(S, 2, exclude=E, priority=np.arange(5, dtype=np.int32)), "priority"),
        (lambda: masked_topk(S, 2, exclude=(ip.astype(np.uint64), E[1]), priority=P4), "exclude indptr"),
        (lambda: masked_topk(S, 2, exclude=(ip, E[1].astype(np.int64)), priority=P4), "exclude items"),
        (lambda: masked_topk(S, 2, exclude=(ip[:2], E[1][:1]), priority=P4), "exclude indptr"),
        (lambda: masked_topk(S, 2, exclude=(np.array([0, 2, 1], np.int64), E[1][:1]), priority=P4),
         "exclude indptr"),
        (lambda: masked_topk(S, 2, exclude=(np.array([0, 2, 1], np.int64), E[1]), priority=P4),
         "exclude indptr"),
        (lambda: masked_topk(S, 2, exclude=(ip, np.array([0, 4], np.int32)), priority=P4), "exclude items"),
        (lambda: masked_topk(S, 2, exclude=(ip, np.array([-1, 0], np.int32)), priority=P4), "exclude items"),
        (lambda: masked_topk(S, 2, exclude=(ip, np.array([0, 2**31 - 1], np.int32)), priority=P4),
         "exclude items"),
        (lambda: masked_topk(S, 2, exclude=(ip, np.array([0, 1, 2, 3], np.int32)[::2]), priority=P4),
         "exclude items"),
        (lambda: masked_topk(S, 2, exclude=ip, priority=P4), "exclude"),
        (lambda: masked_topk(S, 2, exclude=E, priority=P4, ties="worst"), "ties"),
        (lambda: masked_topk(S, 2, exclude=E, priority=P4, ties="optimistic"), "targets"),
        (lambda: masked_topk(S, 2, exclude=E, priority=P4, targets=(ip, np.array([0, 9], np.int32)),
                             ties="pessimistic"), "targets items"),
        (lambda: masked_topk(S, 2, exclude=E, priority=P4, threads=-1), "threads"),
        (lambda: TopKState(2, 0), "k"),
        (lambda: TopKState(-1, 3), "n_rows"),
        (lambda: TopKState(2, 2**31 - 1), "k"),
        (lambda: TopKState(3, 2).update(S, 0, exclude=E, priority=P4), "scores"),
        (lambda: TopKState(2, 2).update(S, 1, exclude=E, priority=P4), "item_offset"),
        (lambda: TopKState(2, 2).update(S, 2**31 - 3, exclude=E, priority=P4), "item_offset"),
        (lambda: TopKState(2, 2).update(S, -1, exclude=E, priority=P4), "item_offset"),
        (lambda: fused_topk(np.zeros((2, 3), np.float32), np.zeros((4, 2), np.float32), 2,
                            exclude=E, priority=P4), "user_emb"),
        (lambda: fused_topk(np.zeros((2, 3), np.float64), np.zeros((4, 3), np.float32), 2,
                            exclude=E, priority=P4), "user_emb"),
        (lambda: fused_topk(np.zeros((2, 3), np.float32), np.zeros((3, 4), np.float32).T, 2,
                            exclude=E, priority=P4), "item_emb"),
        (lambda: fused_topk(np.zeros((2, 0), np.float32), np.zeros((4, 0), np.float32), 2,
                            exclude=E, priority=P4), "d >= 1"),
        (lambda: fused_topk(np.zeros((2, 3), np.float32), np.zeros((4, 3), np.float32), 2,
                            exclude=E, priority=P4, item_bias=np.zeros(3, np.float32)), "item_bias"),
        (lambda: fused_topk(np.zeros((2, 3), np.float32), np.zeros((4, 3), np.float32), 2,
                            exclude=E, priority=np.arange(5, dtype=np.int32)), "priority"),
        (lambda: score_matrix(np.zeros((2, 3), np.float32), np.zeros((4, 3), np.int32)), "item_emb"),
    ]


@pytest.mark.parametrize("index", range(len(bad_calls())))
def test_bad_input_raises_naming_the_argument(index):
    call, name = bad_calls()[index]
    with pytest.raises(KernelInputError, match=name) as info:
        call()
    assert isinstance(info.value, ValueError)


def test_state_refuses_to_mix_tie_policies_or_catalogues():
    state = TopKState(2, 2)
    targets = (np.array([0, 1, 1], np.int64), np.array([2], np.int32))
    state.update(S[:, :2].copy(), 0, exclude=E, priority=P4, targets=targets, ties="optimistic")
    with pytest.raises(KernelInputError, match="ties"):
        state.update(S[:, 2:].copy(), 2, exclude=E, priority=P4, ties="random")
    with pytest.raises(KernelInputError, match="priority"):
        state.update(S[:, 2:].copy(), 2, exclude=None, priority=np.arange(6, dtype=np.int32),
                     targets=targets, ties="optimistic")
