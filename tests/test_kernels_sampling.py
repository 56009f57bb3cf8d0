"""Negative sampling kernel: distribution, exclusion, determinism and input errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from recplug import kernels
from recplug.errors import KernelInputError

pytestmark = pytest.mark.skipif(not kernels.available(), reason="recplug._kernels is not built")

# Fixed seeds everywhere: each statistical check below is deterministic (it cannot flake),
# and its threshold (p > 1e-4) is generous for a correct sampler.
MIN_P = 1e-4


def csr(rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    items = np.array([i for r in rows for i in r], dtype=np.int32)
    return indptr, items


def users_of(*ids: int) -> np.ndarray:
    return np.array(ids, dtype=np.int32)


def counts(sample: np.ndarray, n_items: int) -> np.ndarray:
    return np.bincount(sample.ravel(), minlength=n_items)


def test_uniform_frequencies_and_never_a_positive():
    n_items = 20
    indptr, items = csr([[3, 7, 11], [0]])
    out = kernels.sample_negatives(np.zeros(2000, np.int32), indptr, items, n_items, 100, seed=7)
    assert out.shape == (2000, 100) and out.dtype == np.int32
    c = counts(out, n_items)
    assert c[[3, 7, 11]].sum() == 0
    allowed = np.setdiff1d(np.arange(n_items), [3, 7, 11])
    assert stats.chisquare(c[allowed]).pvalue > MIN_P


def test_popularity_frequencies_follow_weights_outside_positives():
    n_items = 30
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    weights[[5, 9]] = 0.0  # never drawn
    indptr, items = csr([[0, 2, 13]])
    out = kernels.sample_negatives(np.zeros(3000, np.int32), indptr, items, n_items, 100,
                                   seed=11, popularity=weights)
    c = counts(out, n_items)
    assert c[[0, 2, 13, 5, 9]].sum() == 0
    allowed = np.setdiff1d(np.arange(n_items), [0, 2, 13, 5, 9])
    expected = weights[allowed] / weights[allowed].sum() * out.size
    assert stats.chisquare(c[allowed], expected).pvalue > MIN_P


def test_without_replacement_rows_are_distinct_and_uniform():
    n_items = 15
    indptr, items = csr([[1, 4]])
    out = kernels.sample_negatives(np.zeros(4000, np.int32), indptr, items, n_items, 6,
                                   seed=3, replace=False)
    assert all(len(set(row)) == 6 for row in out.tolist())
    c = counts(out, n_items)
    assert c[[1, 4]].sum() == 0
    # Each of the 13 negatives is in a row with probability 6/13.
    assert stats.chisquare(np.delete(c, [1, 4])).pvalue > MIN_P


def test_popularity_without_replacement_draws_successively():
    weights = np.array([0.0, 8.0, 4.0, 2.0, 1.0, 1.0])
    indptr, items = csr([[5]])
    out = kernels.sample_negatives(np.zeros(20000, np.int32), indptr, items, 6, 2, seed=5,
                                   popularity=weights, replace=False)
    assert (out[:, 0] != out[:, 1]).all()
    assert not np.isin(out, [0, 5]).any()
    # First draw is proportional to the weights of items 1..4 ...
    first = counts(out[:, 0], 6)[1:5]
    assert stats.chisquare(first, weights[1:5] / 15 * len(out)).pvalue > MIN_P
    # ... and given item 1 first, the second is proportional to the weights of items 2..4.
    second = counts(out[out[:, 0] == 1, 1], 6)[2:5]
    assert stats.chisquare(second, weights[2:5] / 7 * second.sum()).pvalue > MIN_P


def test_dense_positives_enumerate_the_complement():
    n_items = 200
    positives = [i for i in range(n_items) if i not in (17, 99, 150)]
    indptr, items = csr([positives])
    out = kernels.sample_negatives(np.zeros(3000, np.int32), indptr, items, n_items, 10, seed=1)
    c = counts(out, n_items)
    assert set(np.flatnonzero(c)) == {17, 99, 150}
    assert stats.chisquare(c[[17, 99, 150]]).pvalue > MIN_P
    every = kernels.sample_negatives(np.zeros(50, np.int32), indptr, items, n_items, 3, seed=1,
                                     replace=False)
    assert all(sorted(row) == [17, 99, 150] for row in every.tolist())


def test_popularity_mass_on_positives_enumerates_the_complement():
    weights = np.ones(50)
    weights[0] = 1e6  # a positive holding nearly all the mass
    indptr, items = csr([[0]])
    out = kernels.sample_negatives(np.zeros(2000, np.int32), indptr, items, 50, 20, seed=2,
                                   popularity=weights)
    c = counts(out, 50)
    assert c[0] == 0 and stats.chisquare(c[1:]).pvalue > MIN_P


def test_heavy_item_without_replacement_falls_back_mid_row():
    # After the heavy item is drawn, almost every candidate is a repeat: the row must
    # switch to the complement instead of rejecting forever, and stay distinct.
    weights = np.ones(40)
    weights[3] = 1e12
    indptr, items = csr([[7]])
    out = kernels.sample_negatives(np.zeros(500, np.int32), indptr, items, 40, 10, seed=4,
                                   popularity=weights, replace=False)
    assert (out[:, 0] == 3).all()
    assert all(len(set(row)) == 10 and 7 not in row for row in out.tolist())
    c = counts(out[:, 1:], 40)
    assert stats.chisquare(np.delete(c, [3, 7])).pvalue > MIN_P


def test_same_seed_same_output_other_seed_other_output():
    rng = np.random.default_rng(0)
    indptr, items = csr([sorted(rng.choice(100, 30, replace=False).tolist()) for _ in range(20)])
    users = rng.integers(0, 20, 500).astype(np.int32)
    a = kernels.sample_negatives(users, indptr, items, 100, 5, seed=42)
    b = kernels.sample_negatives(users, indptr, items, 100, 5, seed=42)
    c = kernels.sample_negatives(users, indptr, items, 100, 5, seed=43)
    np.testing.assert_array_equal(a, b)
    assert (a != c).mean() > 0.5


@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_thread_count_does_not_change_output(replace, weighted):
    rng = np.random.default_rng(1)
    n_items = 300
    rows = [rng.choice(n_items, size, replace=True).tolist()
            for size in rng.integers(0, 290, 60)]  # unsorted, duplicates, some dense users
    indptr, items = csr(rows)
    users = np.repeat(np.arange(60, dtype=np.int32), rng.integers(1, 40, 60))
    users = np.concatenate([users, rng.integers(0, 60, 3000).astype(np.int32)])
    weights = rng.random(n_items) if weighted else None
    n = 8
    args = (users, indptr, items, n_items, n)
    one = kernels.sample_negatives(*args, seed=9, popularity=weights, replace=replace, threads=1)
    two = kernels.sample_negatives(*args, seed=9, popularity=weights, replace=replace, threads=2)
    np.testing.assert_array_equal(one, two)


def test_output_of_a_row_depends_only_on_seed_row_and_user_positives():
    # Row 0 has the same (seed, row, user) in each call; the other rows, the order and
    # duplicates of the positives, and how many users occur (all users are taken when there
    # are at least as many rows as users) must not change it.
    rng = np.random.default_rng(2)
    positives = [sorted(rng.choice(5000, 400, replace=False).tolist()) for _ in range(3)]
    indptr, items = csr(positives)
    shuffled = csr([rng.permutation(p + p[:50]).tolist() for p in positives])
    a = kernels.sample_negatives(users_of(0, 1, 0, 2), indptr, items, 5000, 3, seed=8)
    b = kernels.sample_negatives(users_of(0, 0), indptr, items, 5000, 3, seed=8)
    c = kernels.sample_negatives(users_of(0, 1, 0, 2), *shuffled, 5000, 3, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a, c)


def native(users, indptr, items, n_items, n, *, seed, popularity=None, replace=True,
           threads=1, backend=0):
    """The extension directly, to force a backend (1 bitmaps, 2 sorted lists)."""
    sampler = kernels._native().NegativeSampler(indptr, items, n_items, popularity, threads,
                                                backend)
    return sampler.sample(users, n, replace, seed, threads)


@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n", [1, 6, 40])
def test_backends_give_the_same_rows(replace, weighted, n):
    # Positives as bitmap rows or as sorted lists behind a Bloom filter (sorting copies of
    # unsorted users; rows with many draws copy short lists into a bitmap row, single draws
    # check filter hits in the list later): the rows must not change.
    rng = np.random.default_rng(4)
    n_items = 300
    rows = [rng.choice(n_items, size, replace=True).tolist()
            for size in rng.integers(0, 290, 40)]  # unsorted, duplicates, some dense users
    rows[3] = sorted(set(rows[3]))
    indptr, items = csr(rows)
    users = rng.integers(0, 40, 700).astype(np.int32)
    weights = rng.random(n_items) if weighted else None
    args = (users, indptr, items, n_items, n)
    auto = kernels.sample_negatives(*args, seed=5, popularity=weights, replace=replace)
    for backend, threads in [(1, 1), (1, 2), (2, 1), (2, 2)]:
        out, status = native(*args, seed=5, popularity=weights, replace=replace,
                             threads=threads, backend=backend)
        assert status is None
        np.testing.assert_array_equal(out, auto, err_msg=f"backend {backend}")


@pytest.mark.parametrize("n_items", [300, 2**20 + 1])
@pytest.mark.parametrize("backend", [1, 2])
def test_longer_rows_extend_shorter_ones(n_items, backend):
    # With replacement, row r consumes its stream in order whatever n, so its first 15 draws
    # are the same for n = 15 (drawn one at a time) and n = 100 (16 at a time where the CPU
    # has AVX-512). 2^20 + 1 items make Lemire's method retry about once per 4,000 draws.
    rng = np.random.default_rng(21)
    rows = [rng.choice(min(n_items, 300), size, replace=False).tolist()
            for size in rng.integers(0, 280, 30)]  # some users near the complement switch
    indptr, items = csr(rows)
    users = rng.integers(0, 30, 400).astype(np.int32)
    short, status = native(users, indptr, items, n_items, 15, seed=3, threads=2, backend=backend)
    assert status is None
    long, status = native(users, indptr, items, n_items, 100, seed=3, threads=2, backend=backend)
    assert status is None
    np.testing.assert_array_equal(long[:, :15], short)
    for u, row in zip(users.tolist(), long.tolist()):
        assert not set(row) & set(rows[u])


def test_large_catalogue_short_histories_use_sorted_lists():
    # 2^21 items with 20 positives per user: bitmap rows would take 256 KiB per user, so
    # sorted lists are chosen; rows match forced bitmaps and never hold a positive.
    n_items = 2**21
    rng = np.random.default_rng(3)
    rows = [rng.choice(n_items, 20, replace=False).tolist() for _ in range(50)]
    indptr, items = csr(rows)
    users = rng.integers(0, 50, 300).astype(np.int32)
    auto = kernels.sample_negatives(users, indptr, items, n_items, 3, seed=6, threads=2)
    bitmaps, _ = native(users, indptr, items, n_items, 3, seed=6, backend=1)
    np.testing.assert_array_equal(auto, bitmaps)
    assert not kernels.NegativeSampler(indptr, items, n_items)._native.uses_bitmap
    for u, row in zip(users.tolist(), auto.tolist()):
        assert not set(row) & set(rows[u])


def test_backends_report_the_same_bad_row():
    indptr, items = csr([[0, 1], [2, 1, 0, 1], [1]])
    users = users_of(0, 2, 1, 1)
    for backend in (1, 2):
        _, status = native(users, indptr, items, 3, 1, seed=0, backend=backend)
        assert status == ("negatives", 2, 1, 3, 3, 1)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_inputs_respect_the_contract(data):
    n_items = data.draw(st.integers(1, 40))
    n_users = data.draw(st.integers(1, 6))
    rows = [data.draw(st.lists(st.integers(0, n_items - 1), max_size=2 * n_items))
            for _ in range(n_users)]
    indptr, items = csr(rows)
    replace = data.draw(st.booleans())
    n = data.draw(st.integers(0, 6))
    users = np.array(data.draw(st.lists(st.integers(0, n_users - 1), max_size=30)), np.int32)
    seed = data.draw(st.integers(0, 2**64 - 1))
    negatives = [n_items - len(set(r)) for r in rows]
    needed = (1 if n else 0) if replace else n
    if any(negatives[u] < needed for u in users.tolist()):
        with pytest.raises(KernelInputError, match="user"):
            kernels.sample_negatives(users, indptr, items, n_items, n, seed=seed, replace=replace)
        return
    out = kernels.sample_negatives(users, indptr, items, n_items, n, seed=seed, replace=replace,
                                   threads=2)
    assert out.shape == (len(users), n)
    for u, row in zip(users.tolist(), out.tolist()):
        assert all(0 <= i < n_items and i not in rows[u] for i in row)
        if not replace:
            assert len(set(row)) == len(row)
    again = kernels.sample_negatives(users, indptr, items, n_items, n, seed=seed,
                                     replace=replace, threads=1)
    np.testing.assert_array_equal(out, again)


def test_empty_requests():
    indptr, items = csr([[0], [1]])
    assert kernels.sample_negatives(users_of(), indptr, items, 3, 4, seed=0).shape == (0, 4)
    assert kernels.sample_negatives(users_of(0, 1), indptr, items, 3, 0, seed=0).shape == (2, 0)


def test_user_covering_the_catalogue_is_named():
    indptr, items = csr([[0], [2, 1, 0, 1]])
    pattern = r"user 1 \(users\[2\]\).*3 distinct positives cover all 3"
    with pytest.raises(KernelInputError, match=pattern):
        kernels.sample_negatives(users_of(0, 0, 1), indptr, items, 3, 1, seed=0)


def test_without_replacement_asking_too_many_is_named():
    indptr, items = csr([[0], [2, 1]])
    with pytest.raises(KernelInputError, match=r"user 1 \(users\[1\]\) has only 3 negatives.*n=4"):
        kernels.sample_negatives(users_of(0, 1), indptr, items, 5, 4, seed=0, replace=False)


def test_popularity_positives_covering_all_weight_is_named():
    indptr, items = csr([[1, 2]])
    weights = np.array([0.0, 1.0, 2.0, 0.0])
    with pytest.raises(KernelInputError, match="cover all 2 items with positive popularity"):
        kernels.sample_negatives(users_of(0), indptr, items, 4, 1, seed=0, popularity=weights)


GOOD = dict(users=users_of(0, 1), pos_indptr=np.array([0, 1, 2], np.int64),
            pos_items=np.array([0, 1], np.int32), n_items=4, n=2)


@pytest.mark.parametrize("change, pattern", [
    (dict(users=np.array([0, 1], np.int64)), "users must have dtype int32"),
    (dict(users=np.array([0, 1, 2, 3], np.int32)[::2]), "users must be C-contiguous"),
    (dict(users=[0, 1]), "users must be a numpy.ndarray"),
    (dict(users=users_of(0, 2)), r"users must hold user indices .* in \[0, 2\), found 2"),
    (dict(users=users_of(-1, 0)), "found -1 at position 0"),
    (dict(users=np.r_[np.zeros(2500, np.int32), 5, 0, -3].astype(np.int32), threads=2),
     "found 5 at position 2500"),  # the first bad one, in a later chunk, whatever the threads
    (dict(users=users_of(0, 9), n=0), "found 9 at position 1"),
    (dict(users=users_of(0, 9), n=5, replace=False), "found 9 at position 1"),
    (dict(users=users_of(0, 9), popularity=np.zeros(4)), "positive finite sum"),
    (dict(pos_indptr=np.array([1, 1, 2], np.int64)), "pos_indptr must start at 0"),
    (dict(pos_indptr=np.array([0, 1, 3], np.int64)), r"must end at len\(pos_items\) = 2"),
    (dict(pos_indptr=np.array([0, 2, 1, 2], np.int64)), "pos_indptr must be non-decreasing"),
    (dict(pos_indptr=np.array([0.0, 1.0, 2.0])), "pos_indptr must have dtype int64"),
    (dict(pos_items=np.array([0, 4], np.int32)), r"pos_items must hold item ids in \[0, 4\)"),
    (dict(n_items=-1), "n_items must be in"),
    (dict(n=-2), "n must be >= 0"),
    (dict(n=2.0), "n must be an integer"),
    (dict(seed=-1), "seed must be in"),
    (dict(seed=2**64), "seed must be in"),
    (dict(seed=1.5), "seed must be an integer"),
    (dict(threads=-1), "threads must be in"),
    (dict(replace="no"), "replace must be True or False"),
    (dict(popularity=np.ones(3)), "popularity must have one weight per item"),
    (dict(popularity=np.ones(4, np.float32)), "popularity must have dtype float64"),
    (dict(popularity=np.array([1.0, -1.0, 1.0, 1.0])), "popularity must be non-negative"),
    (dict(popularity=np.array([1.0, np.nan, 1.0, 1.0])), "popularity must be finite"),
    (dict(popularity=np.zeros(4)), "positive finite sum"),
])
def test_bad_input_names_the_argument(change, pattern):
    args = {**GOOD, "seed": 0, **change}
    with pytest.raises(KernelInputError, match=pattern):
        kernels.sample_negatives(args.pop("users"), args.pop("pos_indptr"), args.pop("pos_items"),
                                 args.pop("n_items"), args.pop("n"), **args)


def test_good_input_of_the_error_table_is_accepted():
    args = {**GOOD}
    out = kernels.sample_negatives(args.pop("users"), args.pop("pos_indptr"),
                                   args.pop("pos_items"), args.pop("n_items"), args.pop("n"),
                                   seed=0)
    assert out.shape == (2, 2)


# ---- NegativeSampler: positives held once, sampled many times ----


def random_positives(data, n_items, n_users):
    rows = [data.draw(st.lists(st.integers(0, n_items - 1), max_size=2 * n_items))
            for _ in range(n_users)]
    return rows, *csr(rows)


def outcome(fn):
    """The output array, or the error message: both must agree."""
    try:
        return fn()
    except KernelInputError as error:
        return str(error)


def assert_same(a, b):
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
    else:
        np.testing.assert_array_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_sampler_reused_across_calls_equals_sample_negatives(data):
    # One sampler, several calls with other users, n, replace, seeds and threads: each
    # equals a fresh sample_negatives call (nothing carries over between calls).
    n_items = data.draw(st.sampled_from([1, 7, 64, 65, 200]))
    n_users = data.draw(st.integers(1, 8))
    _, indptr, items = random_positives(data, n_items, n_users)
    popularity = None
    if data.draw(st.booleans()):
        popularity = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]),
                                                 min_size=n_items, max_size=n_items)))
    sampler = kernels.NegativeSampler(indptr, items, n_items, popularity=popularity,
                                      threads=data.draw(st.sampled_from([0, 1, 2])))
    for _ in range(3):
        users = np.array(data.draw(st.lists(st.integers(0, n_users - 1), max_size=40)), np.int32)
        n = data.draw(st.integers(0, 5))
        replace = data.draw(st.booleans())
        seed = data.draw(st.integers(0, 2**64 - 1))
        got = outcome(lambda: sampler.sample(users, n, seed=seed, replace=replace,
                                             threads=data.draw(st.sampled_from([None, 1, 2]))))
        want = outcome(lambda: kernels.sample_negatives(
            users, indptr, items, n_items, n, seed=seed, popularity=popularity,
            replace=replace, threads=data.draw(st.sampled_from([1, 2]))))
        assert_same(got, want)


@pytest.mark.parametrize("replace", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_sampler_threads_one_and_two_agree_on_many_rows(replace, weighted):
    # Enough rows (> 1024 per chunk) that two threads really split the work.
    rng = np.random.default_rng(11)
    n_items = 500
    rows = [rng.choice(n_items, size, replace=True).tolist()
            for size in rng.integers(0, 480, 80)]
    indptr, items = csr(rows)
    weights = rng.random(n_items) * (rng.random(n_items) < 0.9) if weighted else None
    sampler = kernels.NegativeSampler(indptr, items, n_items, popularity=weights)
    users = rng.integers(0, 80, 5000).astype(np.int32)
    for n in (1, 5):
        one = sampler.sample(users, n, seed=3, replace=replace, threads=1)
        two = sampler.sample(users, n, seed=3, replace=replace, threads=2)
        np.testing.assert_array_equal(one, two)
        np.testing.assert_array_equal(one, kernels.sample_negatives(
            users, indptr, items, n_items, n, seed=3, popularity=weights, replace=replace))
        for u, row in zip(users.tolist(), one.tolist()):
            assert not set(row) & set(rows[u])


def test_sampler_keeps_copies_of_its_inputs():
    rng = np.random.default_rng(12)
    rows = [rng.choice(100, 30, replace=False).tolist() for _ in range(5)]
    indptr, items = csr(rows)
    weights = rng.random(100)
    users = rng.integers(0, 5, 50).astype(np.int32)
    for n_items, backend_hint in [(100, "bitmap"), (2**21, "lists")]:
        w = weights if n_items == 100 else None
        sampler = kernels.NegativeSampler(indptr.copy(), items.copy(), n_items, popularity=w)
        before = sampler.sample(users, 4, seed=1)
        own_items, own_w = items.copy(), None if w is None else w.copy()
        sampler = kernels.NegativeSampler(indptr, own_items, n_items, popularity=own_w)
        own_items[:] = 0
        if own_w is not None:
            own_w[:] = 1.0
        np.testing.assert_array_equal(sampler.sample(users, 4, seed=1), before,
                                      err_msg=backend_hint)


def test_sampler_is_safe_to_call_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(13)
    rows = [rng.choice(1000, 200, replace=False).tolist() for _ in range(30)]
    indptr, items = csr(rows)
    sampler = kernels.NegativeSampler(indptr, items, 1000, threads=1)
    users = rng.integers(0, 30, 20_000).astype(np.int32)
    seeds = list(range(8))
    expected = [sampler.sample(users, 3, seed=s, replace=False) for s in seeds]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda s: sampler.sample(users, 3, seed=s, replace=False), seeds))
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_sampler_reports_memory_and_shape():
    indptr, items = csr([[0, 1], [2]])
    sampler = kernels.NegativeSampler(indptr, items, 130)
    assert (sampler.n_users, sampler.n_items, sampler.weighted) == (2, 130, False)
    assert sampler._native.uses_bitmap
    assert sampler.nbytes >= 2 * 3 * 8  # two bitmap rows of three 64-bit words


@pytest.mark.parametrize("change, pattern", [
    (dict(pos_indptr=np.array([1, 1, 2], np.int64)), "pos_indptr must start at 0"),
    (dict(pos_items=np.array([0, 4], np.int32)), r"pos_items must hold item ids in \[0, 4\)"),
    (dict(n_items=-1), "n_items must be in"),
    (dict(threads=-1), "threads must be in"),
    (dict(popularity=np.ones(3)), "popularity must have one weight per item"),
    (dict(popularity=np.array([1.0, np.nan, 1.0, 1.0])), "popularity must be finite"),
])
def test_sampler_checks_its_positives_when_built(change, pattern):
    args = {"pos_indptr": GOOD["pos_indptr"], "pos_items": GOOD["pos_items"],
            "n_items": GOOD["n_items"], **change}
    with pytest.raises(KernelInputError, match=pattern):
        kernels.NegativeSampler(args.pop("pos_indptr"), args.pop("pos_items"),
                                args.pop("n_items"), **args)


@pytest.mark.parametrize("change, pattern", [
    (dict(users=users_of(0, 2)), r"users must hold user indices .* in \[0, 2\), found 2"),
    (dict(n=-2), "n must be >= 0"),
    (dict(seed=2**64), "seed must be in"),
    (dict(threads=-1), "threads must be in"),
    (dict(replace="no"), "replace must be True or False"),
])
def test_sampler_checks_each_request(change, pattern):
    sampler = kernels.NegativeSampler(GOOD["pos_indptr"], GOOD["pos_items"], GOOD["n_items"])
    args = {"users": GOOD["users"], "n": GOOD["n"], "seed": 0, **change}
    with pytest.raises(KernelInputError, match=pattern):
        sampler.sample(args.pop("users"), args.pop("n"), **args)


def test_zero_weight_sum_fails_only_when_something_is_drawn():
    sampler = kernels.NegativeSampler(GOOD["pos_indptr"], GOOD["pos_items"], 4,
                                      popularity=np.zeros(4))
    assert sampler.sample(users_of(), 3, seed=0).shape == (0, 3)
    with pytest.raises(KernelInputError, match="positive finite sum"):
        sampler.sample(users_of(0), 1, seed=0)
