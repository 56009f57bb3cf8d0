"""Sparse aggregation (CSR x dense) and the normalised bipartite adjacency vs SciPy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recplug import kernels
from recplug.errors import KernelInputError

pytestmark = pytest.mark.skipif(not kernels.available(), reason="recplug._kernels is not built")


def random_csr(n_rows: int, n_cols: int, density: float, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    m = sp.random(n_rows, n_cols, density=density, format="csr", dtype=np.float32, rng=rng)
    m.data = rng.standard_normal(m.nnz).astype(np.float32)
    m = sp.diags((np.arange(n_rows) % 7 != 0).astype(np.float32)) @ m  # every 7th row empty
    m = sp.csr_matrix(m)
    m.eliminate_zeros()
    return m


def parts(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(np.float32)


@pytest.mark.parametrize("d", [1, 3, 8, 17, 64, 100, 130])
def test_matmul_matches_scipy(d):
    m = random_csr(90, 70, 0.1, seed=d)
    dense = np.random.default_rng(d).standard_normal((70, d)).astype(np.float32)
    out = kernels.csr_dense_matmul(*parts(m), dense)
    expected = m.astype(np.float64) @ dense.astype(np.float64)
    assert out.shape == (90, d) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert not out[::7].any()  # empty rows give zeros


def test_matmul_is_identical_for_any_thread_count():
    m = random_csr(500, 300, 0.05, seed=1)
    dense = np.random.default_rng(1).standard_normal((300, 40)).astype(np.float32)
    one = kernels.csr_dense_matmul(*parts(m), dense, threads=1)
    two = kernels.csr_dense_matmul(*parts(m), dense, threads=2)
    np.testing.assert_array_equal(one, two)


def test_matmul_degenerate_shapes():
    empty_rows = (np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    assert kernels.csr_dense_matmul(*empty_rows, np.ones((5, 4), np.float32)).shape == (0, 4)
    no_nnz = (np.zeros(4, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))
    out = kernels.csr_dense_matmul(*no_nnz, np.ones((5, 4), np.float32))
    assert out.shape == (3, 4) and not out.any()
    m = random_csr(6, 5, 0.5, seed=2)
    assert kernels.csr_dense_matmul(*parts(m), np.ones((5, 0), np.float32)).shape == (6, 0)


def test_duplicate_and_unsorted_entries_are_summed():
    indptr = np.array([0, 3], np.int64)
    indices = np.array([2, 0, 2], np.int32)
    values = np.array([1.0, 2.0, 3.0], np.float32)
    dense = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_allclose(kernels.csr_dense_matmul(indptr, indices, values, dense),
                               [[2 * 0 + 4 * 4, 2 * 1 + 4 * 5]])


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array])
def test_spmm_converts_dtypes_and_layouts(container):
    m = random_csr(40, 30, 0.2, seed=3).astype(np.float64)
    matrix = container(m)
    matrix.indices = matrix.indices.astype(np.int64)
    dense = np.asfortranarray(np.random.default_rng(3).standard_normal((30, 9)))
    out = kernels.spmm(matrix, dense, threads=2)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, m @ dense, rtol=1e-4, atol=1e-5)


def test_spmm_rejects_other_formats_and_shapes():
    m = random_csr(4, 3, 0.5, seed=4)
    with pytest.raises(KernelInputError, match="matrix must be a scipy.sparse CSR.*got coo"):
        kernels.spmm(m.tocoo(), np.ones((3, 2)))
    with pytest.raises(KernelInputError, match="matrix must be a scipy.sparse CSR.*ndarray"):
        kernels.spmm(m.toarray(), np.ones((3, 2)))
    with pytest.raises(KernelInputError, match=r"one row per matrix column \(3\)"):
        kernels.spmm(m, np.ones((4, 2)))


GOOD = dict(indptr=np.array([0, 2, 3], np.int64), indices=np.array([0, 2, 1], np.int32),
            values=np.ones(3, np.float32), dense=np.ones((3, 4), np.float32))


@pytest.mark.parametrize("change, pattern", [
    (dict(indptr=np.array([0, 2, 4], np.int64)), r"indptr must end at len\(indices\) = 3"),
    (dict(indptr=np.array([1, 2, 3], np.int64)), "indptr must start at 0"),
    (dict(indptr=np.array([0, 3, 2, 3], np.int64)), "indptr must be non-decreasing"),
    (dict(indptr=np.zeros(0, np.int64)), "indptr must have n_rows"),
    (dict(indptr=np.array([[0, 2, 3]], np.int64)), "indptr must be 1-d"),
    (dict(indices=np.array([0, 3, 1], np.int32)),
     r"indices must hold column ids .* in \[0, 3\), found 3"),
    (dict(indices=np.array([0, 2, 1], np.int64)), "indices must have dtype int32"),
    (dict(values=np.ones(2, np.float32)), "values must have one entry per index"),
    (dict(values=np.ones(3, np.float64)), "values must have dtype float32"),
    (dict(dense=np.ones((3, 4), np.float64)), "dense must have dtype float32"),
    (dict(dense=np.ones((4, 3), np.float32).T), "dense must be C-contiguous"),
    (dict(dense=np.ones(3, np.float32)), "dense must be 2-d"),
    (dict(threads=-3), "threads must be in"),
])
def test_matmul_bad_input_names_the_argument(change, pattern):
    args = {**GOOD, **change}
    threads = args.pop("threads", 0)
    with pytest.raises(KernelInputError, match=pattern):
        kernels.csr_dense_matmul(**args, threads=threads)


def scipy_norm_adj(r: sp.csr_matrix) -> sp.csr_matrix:
    """Reference: binarised R, A = [[0, R], [R^T, 0]], D^-1/2 A D^-1/2 in float64."""
    r = r.copy()
    r.sum_duplicates()
    r.data[:] = 1.0
    a = sp.bmat([[None, r], [r.T, None]], format="csr").astype(np.float64)
    deg = np.asarray(a.sum(axis=1)).ravel()
    scale = np.zeros_like(deg)
    scale[deg > 0] = deg[deg > 0] ** -0.5
    out = (sp.diags(scale) @ a @ sp.diags(scale)).tocsr()
    out.sort_indices()
    return out


def unsorted_duplicated_csr(n_users: int, n_items: int, nnz: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users - 3, nnz)  # the last 3 users are isolated
    items = rng.integers(0, n_items - 2, nnz)  # so are the last 2 items
    order = np.argsort(users, kind="stable")  # rows grouped, items within a row unsorted
    users, items = users[order], items[order]
    indptr = np.zeros(n_users + 1, np.int64)
    np.add.at(indptr, users + 1, 1)
    indptr = np.cumsum(indptr)
    r = sp.csr_matrix((np.ones(nnz), (users, items)), shape=(n_users, n_items))
    return indptr, items.astype(np.int32), r


def test_bipartite_norm_adj_matches_scipy():
    indptr, items, r = unsorted_duplicated_csr(50, 40, 600, seed=5)
    pairs = np.stack([np.repeat(np.arange(50), np.diff(indptr)), items])
    assert np.unique(pairs, axis=1).shape[1] < 600  # duplicates present
    a_indptr, a_indices, a_values = kernels.bipartite_norm_adj(indptr, items, 40)
    ref = scipy_norm_adj(r)
    assert (a_indptr.dtype, a_indices.dtype, a_values.dtype) == (np.int64, np.int32, np.float32)
    np.testing.assert_array_equal(a_indptr, ref.indptr)
    np.testing.assert_array_equal(a_indices, ref.indices)
    np.testing.assert_allclose(a_values, ref.data, rtol=1e-6)
    degree = np.diff(a_indptr)
    assert (degree[47:50] == 0).all() and (degree[-2:] == 0).all()  # isolated users and items


def test_bipartite_norm_adj_is_symmetric_and_propagates_like_scipy():
    indptr, items, r = unsorted_duplicated_csr(30, 20, 200, seed=6)
    adj = kernels.bipartite_norm_adj(indptr, items, 20)
    a = sp.csr_matrix((adj[2], adj[1], adj[0]), shape=(50, 50))
    assert abs(a - a.T).max() < 1e-7
    x = np.random.default_rng(6).standard_normal((50, 8)).astype(np.float32)
    np.testing.assert_allclose(kernels.csr_dense_matmul(*adj, x), scipy_norm_adj(r) @ x,
                               rtol=1e-5, atol=1e-6)


def test_bipartite_norm_adj_thread_invariance_and_empty_graph():
    indptr, items, _ = unsorted_duplicated_csr(300, 200, 5000, seed=7)
    one = kernels.bipartite_norm_adj(indptr, items, 200, threads=1)
    two = kernels.bipartite_norm_adj(indptr, items, 200, threads=2)
    for x, y in zip(one, two):
        np.testing.assert_array_equal(x, y)
    empty = kernels.bipartite_norm_adj(np.zeros(3, np.int64), np.zeros(0, np.int32), 4)
    np.testing.assert_array_equal(empty[0], np.zeros(2 + 4 + 1, np.int64))
    assert len(empty[1]) == len(empty[2]) == 0


def test_bipartite_norm_adj_bad_input():
    indptr = np.array([0, 2], np.int64)
    with pytest.raises(KernelInputError, match=r"indices must hold item ids in \[0, 2\), found 2"):
        kernels.bipartite_norm_adj(indptr, np.array([0, 2], np.int32), 2)
    with pytest.raises(KernelInputError, match="n_items must be in"):
        kernels.bipartite_norm_adj(indptr, np.array([0, 1], np.int32), -1)
    with pytest.raises(KernelInputError, match="indices must have dtype int32"):
        kernels.bipartite_norm_adj(indptr, np.array([0, 1], np.int64), 2)
    with pytest.raises(KernelInputError, match="exceed the int32 index range"):
        kernels.bipartite_norm_adj(indptr, np.array([0, 1], np.int32), 2**31 - 1)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_matmul_matches_dense_numpy(data):
    n_rows = data.draw(st.integers(0, 12))
    n_cols = data.draw(st.integers(1, 12))
    d = data.draw(st.integers(0, 70))
    lengths = data.draw(st.lists(st.integers(0, 8), min_size=n_rows, max_size=n_rows))
    indptr = np.zeros(n_rows + 1, np.int64)
    indptr[1:] = np.cumsum(lengths)
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    indices = rng.integers(0, n_cols, indptr[-1]).astype(np.int32)  # unsorted, repeats
    values = rng.standard_normal(indptr[-1]).astype(np.float32)
    dense = rng.standard_normal((n_cols, d)).astype(np.float32)
    expected = np.zeros((n_rows, n_cols))
    np.add.at(expected, (np.repeat(np.arange(n_rows), lengths), indices), values)
    out = kernels.csr_dense_matmul(indptr, indices, values, dense, threads=2)
    np.testing.assert_allclose(out, expected @ dense, rtol=1e-4, atol=1e-4)
