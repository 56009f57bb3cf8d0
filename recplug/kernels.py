"""The only door to the compiled kernels (``recplug._kernels``).

Every function here validates dtype, shape, contiguity and index ranges before the
call, so bad input raises :class:`~recplug.errors.KernelInputError` (a ValueError)
naming the argument, and the C++ side never reads out of bounds. A missing or broken
extension raises :class:`~recplug.errors.KernelsNotBuiltError` saying how to rebuild.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from recplug.errors import KernelInputError, KernelsNotBuiltError

REBUILD_HINT = (
    "rebuild it from the repository root with: "
    "pip install --no-build-isolation -e '.[test]'"
)


@functools.cache
def _native() -> Any:
    """Import the extension once; turn any import failure into one clear error."""
    try:
        from recplug import _kernels
    except ImportError as exc:
        raise KernelsNotBuiltError(
            f"the compiled module recplug._kernels is not available ({exc}); {REBUILD_HINT}"
        ) from None
    return _kernels


def available() -> bool:
    """True when the compiled module imports."""
    try:
        _native()
    except KernelsNotBuiltError:
        return False
    return True


def build_info() -> dict[str, Any]:
    """Instruction set, OpenMP use, default thread count and compiler of the build."""
    return dict(_native().build_info())


# =============================================================================
# Negative sampling and sparse aggregation (csrc/sampling.h, csrc/sparse.h)
# =============================================================================

_INT32_MAX = 2**31 - 1


def _graph_int(name: str, value: Any, *, low: int = 0, high: int | None = None) -> int:
    """``value`` as a Python int in [low, high]; KernelInputError naming ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise KernelInputError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise KernelInputError(f"{name} must be {bound}, got {value}")
    return value


def _graph_array(name: str, value: Any, dtype: type, ndim: int) -> np.ndarray:
    """Check that ``value`` is a C-contiguous NumPy array of ``dtype`` with ``ndim`` dims."""
    if not isinstance(value, np.ndarray):
        raise KernelInputError(
            f"{name} must be a numpy.ndarray of {np.dtype(dtype).name}, got {type(value).__name__} "
            "(for a torch CPU tensor pass tensor.numpy())"
        )
    if value.dtype != dtype:
        raise KernelInputError(
            f"{name} must have dtype {np.dtype(dtype).name}, got {value.dtype} "
            f"(convert with {name}.astype(np.{np.dtype(dtype).name}))"
        )
    if value.ndim != ndim:
        raise KernelInputError(f"{name} must be {ndim}-d, got shape {value.shape}")
    if not value.flags.c_contiguous:
        raise KernelInputError(
            f"{name} must be C-contiguous (make it so with np.ascontiguousarray({name}))"
        )
    return value


def _graph_indices(name: str, values: np.ndarray, bound: int, what: str) -> None:
    """Every entry of ``values`` in [0, bound)."""
    if values.size == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= bound:
        bad = low if low < 0 else high
        raise KernelInputError(
            f"{name} must hold {what} in [0, {bound}), found {bad} "
            f"at position {int(np.flatnonzero(values == bad)[0])}"
        )


def _graph_csr(indptr_name: str, indptr: Any, indices_name: str, indices: Any,
               n_cols: int, col_what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a CSR structure: int64 monotone indptr from 0 to len(indices), int32 indices."""
    indptr = _graph_array(indptr_name, indptr, np.int64, 1)
    indices = _graph_array(indices_name, indices, np.int32, 1)
    if len(indptr) == 0:
        raise KernelInputError(f"{indptr_name} must have n_rows + 1 >= 1 entries, got none")
    if indptr[0] != 0:
        raise KernelInputError(f"{indptr_name} must start at 0, got {int(indptr[0])}")
    if indptr[-1] != len(indices):
        raise KernelInputError(
            f"{indptr_name} must end at len({indices_name}) = {len(indices)}, got {int(indptr[-1])}"
        )
    steps = np.diff(indptr)
    if steps.size and steps.min() < 0:
        row = int(np.argmax(steps < 0))
        raise KernelInputError(
            f"{indptr_name} must be non-decreasing, but {indptr_name}[{row + 1}] = "
            f"{int(indptr[row + 1])} < {indptr_name}[{row}] = {int(indptr[row])}"
        )
    _graph_indices(indices_name, indices, n_cols, col_what)
    return indptr, indices


def _graph_threads(threads: Any) -> int:
    return _graph_int("threads", threads, low=0, high=4096)


def sample_negatives(users: np.ndarray, pos_indptr: np.ndarray, pos_items: np.ndarray,
                     n_items: int, n: int, *, seed: int, popularity: np.ndarray | None = None,
                     replace: bool = True, threads: int = 0) -> np.ndarray:
    """Draw ``n`` negative items for each entry of ``users``.

    users: int32 [M] user indices (may repeat). pos_indptr: int64 [n_users + 1] and
    pos_items: int32 [nnz], the CSR of each user's positives, in any order (sorted or not,
    duplicates allowed: each user's positives become a bitmap, or a sorted list for large
    catalogues, so neither matters). Returns int32 [M, n]: ids in [0, n_items) that are not
    positives of that row's user. ``popularity`` None draws uniformly; a float64 [n_items] of non-negative weights draws proportionally to them
    (zero-weight items are never drawn). ``replace=False``: no item twice in a row (drawn
    in sequence, each proportional to the weights among the items still left).

    Row ``r`` depends only on ``seed`` (an int in [0, 2**64)), ``r`` and its user's
    positives -- never on ``threads`` (0 = OpenMP default) or on the other rows. Users whose
    positives cover most of the catalogue (or of the popularity mass) draw from the
    enumerated complement instead of rejecting. Raises KernelInputError when a user has
    fewer negatives available than a row needs (1, or ``n`` without replacement).
    """
    pos_indptr, pos_items = _graph_csr("pos_indptr", pos_indptr, "pos_items", pos_items,
                                       _graph_int("n_items", n_items, high=_INT32_MAX),
                                       "item ids")
    n_items = int(n_items)
    users = _graph_array("users", users, np.int32, 1)
    _graph_indices("users", users, len(pos_indptr) - 1, "user indices (rows of pos_indptr)")
    n = _graph_int("n", n)
    seed = _graph_int("seed", seed, high=2**64 - 1)
    threads = _graph_threads(threads)
    if not isinstance(replace, (bool, np.bool_)):
        raise KernelInputError(f"replace must be True or False, got {replace!r}")
    if popularity is not None:
        popularity = _graph_array("popularity", popularity, np.float64, 1)
        if len(popularity) != n_items:
            raise KernelInputError(
                f"popularity must have one weight per item (n_items = {n_items}), "
                f"got {len(popularity)}"
            )
        if not np.isfinite(popularity).all():
            raise KernelInputError("popularity must be finite (found NaN or inf)")
        if n_items and popularity.min() < 0:
            raise KernelInputError(
                f"popularity must be non-negative, found {float(popularity.min())} "
                f"at item {int(np.argmin(popularity))}"
            )
        total = float(popularity.sum())
        if len(users) and n and not (0.0 < total < np.inf):
            raise KernelInputError(
                f"popularity weights must have a positive finite sum, got {total}"
            )
    out, status = _native().sample_negatives(users, pos_indptr, pos_items, n_items, popularity,
                                             n, bool(replace), seed, threads)
    if status is not None:
        row, user, positives, eligible, needed = status
        pool = "items" if popularity is None else "items with positive popularity"
        if replace:
            raise KernelInputError(
                f"user {user} (users[{row}]) has no negative to draw: its {positives} distinct "
                f"positives cover all {eligible} {pool}; drop that user from users"
            )
        raise KernelInputError(
            f"user {user} (users[{row}]) has only {eligible - positives} negatives "
            f"({eligible} {pool} minus {positives} distinct positives) but n={needed} distinct "
            "negatives were asked with replace=False; lower n or pass replace=True"
        )
    return out


def csr_dense_matmul(indptr: np.ndarray, indices: np.ndarray, values: np.ndarray,
                     dense: np.ndarray, *, threads: int = 0) -> np.ndarray:
    """CSR [M, N] @ dense [N, d] -> float32 [M, d].

    indptr int64 [M + 1], indices int32 [nnz] in [0, N), values float32 [nnz]; dense float32
    [N, d], C-contiguous (N = dense.shape[0]). Rows are split over ``threads`` (0 = OpenMP
    default); each row sums its nonzeros in CSR order, so the result is identical for any
    thread count. Empty rows give zeros.
    """
    dense = _graph_array("dense", dense, np.float32, 2)
    indptr, indices = _graph_csr("indptr", indptr, "indices", indices, dense.shape[0],
                                 "column ids (rows of dense)")
    values = _graph_array("values", values, np.float32, 1)
    if len(values) != len(indices):
        raise KernelInputError(
            f"values must have one entry per index: len(values) = {len(values)}, "
            f"len(indices) = {len(indices)}"
        )
    return _native().csr_dense_matmul(indptr, indices, values, dense, _graph_threads(threads))


def spmm(matrix: Any, dense: Any, *, threads: int = 0) -> np.ndarray:
    """``matrix @ dense`` for a SciPy CSR matrix/array and a dense [N, d] array -> float32 [M, d].

    Converts to int64 indptr, int32 indices, float32 values and a C-contiguous float32 dense
    (copying only what is not already in that form), then calls :func:`csr_dense_matmul`.
    """
    import scipy.sparse as sp

    if not sp.issparse(matrix) or matrix.format != "csr":
        kind = matrix.format if sp.issparse(matrix) else type(matrix).__name__
        raise KernelInputError(
            f"matrix must be a scipy.sparse CSR matrix or array, got {kind} "
            "(convert with scipy.sparse.csr_array(matrix) or matrix.tocsr())"
        )
    n_rows, n_cols = matrix.shape
    if n_cols > _INT32_MAX:
        raise KernelInputError(f"matrix has {n_cols} columns; at most {_INT32_MAX} are supported")
    dense = np.asarray(dense)
    if dense.ndim != 2 or dense.shape[0] != n_cols:
        raise KernelInputError(
            f"dense must be 2-d with one row per matrix column ({n_cols}), got shape {dense.shape}"
        )
    return csr_dense_matmul(
        np.ascontiguousarray(matrix.indptr, dtype=np.int64),
        np.ascontiguousarray(matrix.indices, dtype=np.int32),
        np.ascontiguousarray(matrix.data, dtype=np.float32),
        np.ascontiguousarray(dense, dtype=np.float32),
        threads=threads,
    )


def bipartite_norm_adj(indptr: np.ndarray, indices: np.ndarray, n_items: int, *,
                       threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric-normalised adjacency D^-1/2 A D^-1/2 of A = [[0, R], [R^T, 0]].

    R is the user x item CSR (indptr int64 [U + 1], indices int32 in [0, n_items); repeated
    (user, item) pairs count once). Returns the CSR over U + n_items nodes (users first,
    item i is node U + i) as (indptr int64 [U + n_items + 1], indices int32 ascending per
    row, values float32 = 1 / sqrt(deg(row) deg(col))). Isolated nodes get empty rows.
    This is the propagation matrix of LightGCN and NGCF.
    """
    n_items = _graph_int("n_items", n_items, high=_INT32_MAX)
    indptr, indices = _graph_csr("indptr", indptr, "indices", indices, n_items, "item ids")
    n_users = len(indptr) - 1
    if n_users + n_items > _INT32_MAX:
        raise KernelInputError(
            f"users + items = {n_users + n_items} nodes exceed the int32 index range"
        )
    return tuple(_native().bipartite_norm_adj(indptr, indices, n_items, _graph_threads(threads)))
