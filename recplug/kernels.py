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
from recplug.vocabulary import METRICS, TIE_CODES

REBUILD_HINT = (
    "rebuild it from the repository root with: "
    "pip install --no-build-isolation -e '.[test]'"
)


#: Kernel variants in order of preference: a native build's own module, then the per-instruction-set
#: builds (CMakeLists.txt compiles the same sources for each; every variant gives the same results).
VARIANTS = ("native", "avx512", "avx2", "baseline")
#: Environment variable that forces a variant (read when the kernels are first used).
VARIANT_ENV = "RECPLUG_KERNELS"
_forced_variant: str | None = None


def _import(name: str) -> Any:
    import importlib

    return importlib.import_module(f"recplug.{name}")


def _base() -> Any:
    """``recplug._kernels`` itself (native, or the portable baseline of a wheel)."""
    try:
        from recplug import _kernels
    except ImportError as exc:
        raise KernelsNotBuiltError(
            f"the compiled module recplug._kernels is not available ({exc}); {REBUILD_HINT}"
        ) from None
    return _kernels


def _module(variant: str) -> Any | None:
    """The module of ``variant`` when it is built and this CPU runs it, else None."""
    base = _base()
    if variant == base.build_info().get("variant", "native"):
        return base
    if variant == "native" or variant not in VARIANTS:
        return None
    features = base.cpu_features() if hasattr(base, "cpu_features") else {}
    if variant != "baseline" and not features.get(variant, False):
        return None
    try:
        return _import(f"_kernels_{variant}")
    except ImportError:
        return None


def variants() -> list[str]:
    """The kernel variants built and runnable on this CPU, best first (see :data:`VARIANTS`)."""
    return [v for v in VARIANTS if _module(v) is not None]


def use_variant(variant: str | None) -> None:
    """Run every later kernel call on ``variant`` (one of :func:`variants`); ``None`` goes back
    to the automatic choice (``RECPLUG_KERNELS``, else the best of :func:`variants`).

    Objects built before (a :class:`NegativeSampler`) keep the variant they were built with.
    Raises ConfigError, naming ``variant``, for one that is unknown, not built or not
    supported by this CPU.
    """
    global _forced_variant
    if variant is not None:
        _check_variant(variant, "variant")
    _forced_variant = variant
    _native.cache_clear()


def _check_variant(variant: Any, name: str) -> Any:
    from recplug.errors import ConfigError

    module = _module(variant) if isinstance(variant, str) else None
    if module is None:
        raise ConfigError(
            f"{name}={variant!r} is not a kernel variant this build runs on this CPU; "
            f"choose one of {', '.join(variants())} (known variants: {', '.join(VARIANTS)})")
    return module


@functools.cache
def _native() -> Any:
    """The kernel module every call uses: the forced variant, else the best runnable one."""
    import os

    base = _base()
    chosen = _forced_variant or os.environ.get(VARIANT_ENV, "").strip() or None
    if chosen is not None:
        return _check_variant(chosen, VARIANT_ENV if _forced_variant is None else "variant")
    for variant in VARIANTS:
        module = _module(variant)
        if module is not None:
            return module
    return base  # pragma: no cover - the base module is always one of VARIANTS


def available() -> bool:
    """True when the compiled module imports."""
    try:
        _native()
    except KernelsNotBuiltError:
        return False
    return True


def build_info() -> dict[str, Any]:
    """The kernels in use: ``variant`` (see :data:`VARIANTS`), ``instruction_set``, OpenMP use,
    default thread count and compiler, and ``variants`` (those built and runnable here)."""
    info = dict(_native().build_info())
    info.setdefault("variant", "native")
    info["variants"] = variants()
    return info


# ---- top-K selection, fused scoring and ranking metrics (csrc/topk.h, fused.h, metrics.h) ----
#: Tie policies of the top-K kernels (DESIGN.md §5) and their codes in the extension.
TIE_POLICIES = TIE_CODES  # from recplug.vocabulary, their one home
#: Names and order of the arrays returned by :func:`ranking_metrics`.
METRIC_NAMES = METRICS
_INT32_MAX = 2**31 - 1


def _as_array(x: Any, name: str, dtype: Any, ndim: int) -> np.ndarray:
    """``x`` as an ndarray of exactly ``dtype``/``ndim``, C-contiguous (CPU torch tensors: no copy)."""
    dtype = np.dtype(dtype)
    if not isinstance(x, np.ndarray):
        if type(x).__module__.split(".")[0] == "torch":
            if x.device.type != "cpu":
                raise KernelInputError(
                    f"{name} is a torch tensor on {x.device}; these kernels run on the CPU, "
                    f"pass {name}.cpu() (or use torch operations on the GPU)")
            try:
                x = x.detach().numpy()
            except (TypeError, RuntimeError) as exc:  # e.g. bfloat16 has no NumPy dtype
                raise KernelInputError(
                    f"{name} must have dtype {dtype}, got torch {x.dtype} ({exc}); convert it "
                    f"with {name}.to(torch.{dtype.name})") from None
        else:
            raise KernelInputError(
                f"{name} must be a numpy array of {dtype}, got {type(x).__name__}")
    if x.dtype != dtype:
        raise KernelInputError(
            f"{name} must have dtype {dtype}, got {x.dtype}; convert it with "
            f"{name}.astype(np.{dtype.name})")
    if x.ndim != ndim:
        raise KernelInputError(f"{name} must be {ndim}-d, got shape {x.shape}")
    if not x.flags.c_contiguous:
        raise KernelInputError(
            f"{name} must be C-contiguous; pass np.ascontiguousarray({name})")
    return x


def _as_indptr(x: Any, name: str) -> np.ndarray:
    """A CSR row pointer as int64: int32 pointers (scipy's default) are widened losslessly."""
    if isinstance(x, np.ndarray) and x.dtype == np.int32:
        return x.astype(np.int64)
    return _as_array(x, name, np.int64, 1)


def _as_int(x: Any, name: str, minimum: int, maximum: int = 2**63 - 1) -> int:
    """A Python/NumPy integer (not bool) in [minimum, maximum]."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise KernelInputError(f"{name} must be an integer, got {type(x).__name__} {x!r}")
    value = int(x)
    if not minimum <= value <= maximum:
        raise KernelInputError(f"{name} must be in [{minimum}, {maximum}], got {value}")
    return value


def _ties_code(ties: Any) -> int:
    if not isinstance(ties, str) or ties not in TIE_POLICIES:
        raise KernelInputError(
            f"ties must be one of {sorted(TIE_POLICIES)}, got {ties!r}")
    return TIE_POLICIES[ties]


def _as_csr(csr: Any, name: str, n_rows: int, n_items: int | None,
            allow_none: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(indptr int64[n_rows+1], items int32) checked: monotone from 0 to len(items), ids in range.

    ``csr`` is a pair ``(indptr, items)`` or an object with ``.indptr`` and ``.items``
    (e.g. :class:`recplug.data.targets.Targets`); ``None`` means empty rows when allowed.
    """
    if csr is None:
        if not allow_none:
            raise KernelInputError(f"{name} is required: pass (indptr int64[B+1], items int32)")
        return np.zeros(n_rows + 1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    if hasattr(csr, "indptr") and hasattr(csr, "items"):
        indptr, items = csr.indptr, csr.items
    elif isinstance(csr, (tuple, list)) and len(csr) == 2:
        indptr, items = csr
    else:
        raise KernelInputError(
            f"{name} must be a pair (indptr int64[B+1], items int32), got {type(csr).__name__}")
    indptr = _as_indptr(indptr, f"{name} indptr")
    items = _as_array(items, f"{name} items", np.int32, 1)
    if len(indptr) != n_rows + 1:
        raise KernelInputError(
            f"{name} indptr must have B+1 = {n_rows + 1} entries (one row per score row), "
            f"got {len(indptr)}")
    if indptr[0] != 0 or indptr[-1] != len(items):
        raise KernelInputError(
            f"{name} indptr must start at 0 and end at len(items) = {len(items)}, "
            f"got {indptr[0]} .. {indptr[-1]}")
    steps = np.diff(indptr)
    if len(steps) and steps.min() < 0:
        row = int(np.argmax(steps < 0))
        raise KernelInputError(
            f"{name} indptr must be non-decreasing, but row {row} goes from "
            f"{indptr[row]} to {indptr[row + 1]}")
    if len(items):
        low, high = int(items.min()), int(items.max())
        if low < 0 or (n_items is not None and high >= n_items):
            bound = f"[0, {n_items})" if n_items is not None else ">= 0"
            raise KernelInputError(
                f"{name} items must be item ids {bound}, found {low if low < 0 else high}")
    return indptr, items


def _as_priority(priority: Any) -> np.ndarray:
    """int32 permutation of 0..N-1 (N <= 2**31-1): the tie-break rank of every item."""
    priority = _as_array(priority, "priority", np.int32, 1)
    n = len(priority)
    if n > _INT32_MAX:
        raise KernelInputError(f"priority has {n} entries; item ids must fit int32 (< 2**31-1)")
    if n:
        low, high = int(priority.min()), int(priority.max())
        seen = np.zeros(n, dtype=bool)
        if low >= 0 and high < n:
            seen[priority] = True
        if low < 0 or high >= n or not seen.all():
            raise KernelInputError(
                f"priority must be a permutation of 0..{n - 1} (unique ranks, one per item), "
                "e.g. np.random.default_rng(seed).permutation(n_items).astype(np.int32)")
    return priority


def _as_targets(targets: Any, ties: int, n_rows: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    if targets is None and ties != TIE_POLICIES["random"]:
        raise KernelInputError(
            "targets is required for ties='optimistic'/'pessimistic' (the tie tier of each "
            "row's targets); pass (indptr int64[B+1], items int32)")
    return _as_csr(targets, "targets", n_rows, n_items, allow_none=True)


class TopKState:
    """Running masked top-K of ``n_rows`` rows (users of a batch) over item chunks.

    Feed score chunks with :meth:`update` in any order and of any width; the result is
    exactly that of one chunk holding every item. The order is total: higher score, then
    higher tie tier (targets first under ``ties="optimistic"``, last under
    ``"pessimistic"``), then higher ``priority``; NaN ranks below every number. Excluded
    items are never returned; rows with fewer than ``k`` candidates are padded with id -1
    and score NaN. Returned scores are the input scores, except that -0.0 becomes +0.0.
    """

    def __init__(self, n_rows: int, k: int):
        self.n_rows = _as_int(n_rows, "n_rows", 0)
        self.k = _as_int(k, "k", 1, _INT32_MAX - 1)
        # k+1 slots: the best item that is not kept is what boundary_ties() compares with.
        self._keys = np.zeros((self.n_rows, self.k + 1), dtype=np.uint64)
        self._ids = np.full((self.n_rows, self.k + 1), -1, dtype=np.int32)
        self._count = np.zeros(self.n_rows, dtype=np.int32)
        self._ties: int | None = None
        self._n_items: int | None = None

    def update(self, scores: Any, item_offset: int, *, exclude: Any, priority: Any,
               targets: Any = None, ties: str = "random", threads: int = 0) -> None:
        """Fold in ``scores`` float32 [B, W]: items ``item_offset .. item_offset+W-1``.

        ``exclude``/``targets``: (indptr int64[B+1], items int32) of global item ids
        (``exclude=None``: nothing excluded). ``priority``: int32 permutation over all N
        items; the same array, ``ties`` and N must be used for every update of a state.
        """
        scores = _as_array(scores, "scores", np.float32, 2)
        if scores.shape[0] != self.n_rows:
            raise KernelInputError(
                f"scores has {scores.shape[0]} rows but this TopKState has n_rows={self.n_rows}")
        item_offset = _as_int(item_offset, "item_offset", 0)
        prio = _as_priority(priority)
        n_items = len(prio)
        if item_offset + scores.shape[1] > n_items:
            raise KernelInputError(
                f"scores covers items {item_offset}..{item_offset + scores.shape[1] - 1} "
                f"(item_offset + width) but priority has only {n_items} items")
        code = _ties_code(ties)
        if self._ties is not None and code != self._ties:
            used = next(name for name, c in TIE_POLICIES.items() if c == self._ties)
            raise KernelInputError(
                f"ties={ties!r} differs from ties={used!r} of earlier updates of this TopKState")
        if self._n_items is not None and n_items != self._n_items:
            raise KernelInputError(
                f"priority has {n_items} items but earlier updates used {self._n_items}")
        threads = _as_int(threads, "threads", 0, _INT32_MAX)
        excl = _as_csr(exclude, "exclude", self.n_rows, n_items, allow_none=True)
        tgt = _as_targets(targets, code, self.n_rows, n_items)
        _native().topk_update(scores, item_offset, excl[0], excl[1], prio, tgt[0], tgt[1], code,
                              self._keys, self._ids, self._count, threads)
        self._ties, self._n_items = code, n_items

    def _finish(self, threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(_native().topk_result(self._keys, self._ids, self._count, self.k, threads))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids int32 [B, k], scores float32 [B, k]) best first; unfilled: id -1, score NaN."""
        ids, scores, _ = self._finish()
        return ids, scores

    def boundary_ties(self) -> np.ndarray:
        """bool [B]: the k-th kept score equals the best score seen but not kept.

        False when a row had at most k candidates. Two NaN scores count as equal.
        """
        return self._finish()[2]


def masked_topk(scores: Any, k: int, *, exclude: Any, priority: Any, targets: Any = None,
                ties: str = "random", threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` of ``scores`` float32 [B, N] (all N items, offset 0) -> (ids, scores, boundary_ties).

    Same order, masking and padding as :class:`TopKState`; ``priority`` has N entries.
    """
    scores = _as_array(scores, "scores", np.float32, 2)
    n_rows, n_items = scores.shape
    k = _as_int(k, "k", 1, _INT32_MAX - 1)
    prio = _as_priority(priority)
    if len(prio) != n_items:
        raise KernelInputError(
            f"priority has {len(prio)} entries but scores has {n_items} item columns")
    code = _ties_code(ties)
    threads = _as_int(threads, "threads", 0, _INT32_MAX)
    excl = _as_csr(exclude, "exclude", n_rows, n_items, allow_none=True)
    tgt = _as_targets(targets, code, n_rows, n_items)
    return tuple(_native().masked_topk(scores, k, excl[0], excl[1], prio, tgt[0], tgt[1], code,
                                       threads))


def _as_embeddings(user_emb: Any, item_emb: Any, item_bias: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    users = _as_array(user_emb, "user_emb", np.float32, 2)
    items = _as_array(item_emb, "item_emb", np.float32, 2)
    if users.shape[1] != items.shape[1]:
        raise KernelInputError(
            f"user_emb is [B, {users.shape[1]}] but item_emb is [N, {items.shape[1]}]; "
            "the embedding sizes must agree")
    if users.shape[1] < 1:
        raise KernelInputError("user_emb and item_emb need an embedding size d >= 1")
    if items.shape[0] > _INT32_MAX:
        raise KernelInputError(f"item_emb has {items.shape[0]} rows; item ids must fit int32")
    bias = None
    if item_bias is not None:
        bias = _as_array(item_bias, "item_bias", np.float32, 1)
        if len(bias) != items.shape[0]:
            raise KernelInputError(
                f"item_bias has {len(bias)} entries but item_emb has {items.shape[0]} items")
    return users, items, bias


def score_matrix(user_emb: Any, item_emb: Any, item_bias: Any = None, *, threads: int = 0) -> np.ndarray:
    """Dense float32 [B, N] scores with exactly the arithmetic of :func:`fused_topk`.

    score[u, i] = sequential float32 FMA chain over d of user_emb[u] * item_emb[i]
    (+ item_bias[i]); equal to a float64 matmul up to float32 rounding, not bitwise to BLAS.
    """
    users, items, bias = _as_embeddings(user_emb, item_emb, item_bias)
    threads = _as_int(threads, "threads", 0, _INT32_MAX)
    return _native().score_matrix(users, items, bias, threads)


def fused_topk(user_emb: Any, item_emb: Any, k: int, *, exclude: Any, priority: Any,
               targets: Any = None, ties: str = "random", item_bias: Any = None,
               threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` of ``user_emb [B,d] @ item_emb[N,d].T (+ item_bias [N])`` without the [B, N] matrix.

    Equals ``masked_topk(score_matrix(user_emb, item_emb, item_bias), k, ...)`` exactly.
    Returns (ids int32 [B,k], scores float32 [B,k], boundary_ties bool [B]).
    """
    users, items, bias = _as_embeddings(user_emb, item_emb, item_bias)
    k = _as_int(k, "k", 1, _INT32_MAX - 1)
    prio = _as_priority(priority)
    n_rows, n_items = users.shape[0], items.shape[0]
    if len(prio) != n_items:
        raise KernelInputError(
            f"priority has {len(prio)} entries but item_emb has {n_items} items")
    code = _ties_code(ties)
    threads = _as_int(threads, "threads", 0, _INT32_MAX)
    excl = _as_csr(exclude, "exclude", n_rows, n_items, allow_none=True)
    tgt = _as_targets(targets, code, n_rows, n_items)
    return tuple(_native().fused_topk(users, items, bias, k, excl[0], excl[1], prio, tgt[0],
                                      tgt[1], code, threads))


def ranking_metrics(topk_ids: Any, targets: Any, ks: Any, *, threads: int = 0) -> dict[str, np.ndarray]:
    """Per-row HR, Recall, NDCG, MRR, Precision and MAP at every K in ``ks`` (DESIGN.md §5).

    ``topk_ids`` int32 [B, L] best first (-1 = empty slot, never a hit; a repeated id counts
    once); ``targets`` (indptr int64[B+1], items int32) aligned with the rows, duplicates
    counted once; each K in 1..L. Returns {name: float64 [len(ks), B]} for the names in
    :data:`METRIC_NAMES`; rows without targets get 0 everywhere.
    """
    ids = _as_array(topk_ids, "topk_ids", np.int32, 2)
    n_rows, width = ids.shape
    if ids.size and int(ids.min()) < -1:
        raise KernelInputError(
            f"topk_ids must hold item ids >= 0 or -1 for an empty slot, found {int(ids.min())}")
    tgt = _as_csr(targets, "targets", n_rows, None)
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__len__"):
        raise KernelInputError(f"ks must be a sequence of ints such as (10, 20), got {ks!r}")
    if len(ks) == 0:
        raise KernelInputError("ks must name at least one cutoff K")
    cutoffs = [_as_int(K, f"each K in ks (1 <= K <= L = {width}, the width of topk_ids)", 1, width)
               for K in ks]
    threads = _as_int(threads, "threads", 0, _INT32_MAX)
    out = _native().ranking_metrics(ids, tgt[0], tgt[1], np.asarray(cutoffs, dtype=np.int64), threads)
    return {name: out[m] for m, name in enumerate(METRIC_NAMES)}

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


def _out_of_range(name: str, what: str, bound: int, bad: int, position: int) -> KernelInputError:
    return KernelInputError(f"{name} must hold {what} in [0, {bound}), found {bad} at position {position}")


def _graph_indices(name: str, values: np.ndarray, bound: int, what: str) -> None:
    """Every entry of ``values`` in [0, bound)."""
    if values.size == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= bound:
        bad = low if low < 0 else high
        raise _out_of_range(name, what, bound, bad, int(np.flatnonzero(values == bad)[0]))


def _graph_csr(indptr_name: str, indptr: Any, indices_name: str, indices: Any,
               n_cols: int, col_what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a CSR structure: int64 monotone indptr from 0 to len(indices), int32 indices."""
    indptr = _as_indptr(indptr, indptr_name)
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


def _graph_popularity(popularity: Any, n_items: int) -> np.ndarray | None:
    """None, or ``popularity`` checked as float64 [n_items], finite and non-negative."""
    if popularity is None:
        return None
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
    return popularity


class NegativeSampler:
    """Every user's positives held once, to draw negatives from them many times.

    pos_indptr: int64 [n_users + 1] and pos_items: int32 [nnz], the CSR of each user's
    positives, in any order (sorted or not, duplicates allowed). They become one bitmap row
    per user, or, when bitmaps would take far more memory than the positives (large
    catalogues), a sorted list per user behind one Bloom filter of all (user, item) pairs
    (about 6 bytes per positive in all): both are copies, so the arrays may change or be
    freed afterwards. ``popularity`` None draws uniformly; a float64 [n_items] of non-negative
    weights draws proportionally to them (zero-weight items are never drawn). ``threads``
    (0 = OpenMP default) builds the sampler and is the default for :meth:`sample`.

    Build it once (e.g. in a trainer's ``fit``) and call :meth:`sample` every epoch or
    batch: ``NegativeSampler(...).sample(users, n, seed=s)`` equals
    ``sample_negatives(users, ..., n, seed=s)`` exactly. ``nbytes`` is the memory held.
    """

    def __init__(self, pos_indptr: np.ndarray, pos_items: np.ndarray, n_items: int, *,
                 popularity: np.ndarray | None = None, threads: int = 0):
        n_items = _graph_int("n_items", n_items, high=_INT32_MAX)
        pos_indptr, pos_items = _graph_csr("pos_indptr", pos_indptr, "pos_items", pos_items,
                                           n_items, "item ids")
        popularity = _graph_popularity(popularity, n_items)
        self.threads = _graph_threads(threads)
        self.n_users = len(pos_indptr) - 1
        self.n_items = n_items
        self.weighted = popularity is not None
        self._weight_total = float(popularity.sum()) if self.weighted else 1.0
        self._native = _native().NegativeSampler(pos_indptr, pos_items, n_items, popularity,
                                                 self.threads)

    @property
    def nbytes(self) -> int:
        """Bytes held natively: bitmaps or sorted lists and filter, per-user state, weights."""
        return int(self._native.nbytes)

    def sample(self, users: np.ndarray, n: int, *, seed: int, replace: bool = True,
               threads: int | None = None) -> np.ndarray:
        """Draw ``n`` negative items for each entry of ``users`` -> int32 [M, n].

        users: int32 [M] user indices (rows of pos_indptr, may repeat). Each output row holds
        ids in [0, n_items) that are not positives of that row's user; ``replace=False``: no
        item twice in a row (drawn in sequence, each proportional to the weights among the
        items still left). Row ``r`` depends only on ``seed`` (an int in [0, 2**64)), ``r``
        and its user's positives -- never on ``threads`` (None = the sampler's) or on the
        other rows. Users whose positives cover most of the catalogue (or of the popularity
        mass) draw from the enumerated complement instead of rejecting. Raises
        KernelInputError when a user has fewer negatives available than a row needs (1, or
        ``n`` without replacement). The GIL is released while sampling.
        """
        users = _graph_array("users", users, np.int32, 1)  # its range is checked natively
        n = _graph_int("n", n)
        seed = _graph_int("seed", seed, high=2**64 - 1)
        threads = self.threads if threads is None else _graph_threads(threads)
        if not isinstance(replace, (bool, np.bool_)):
            raise KernelInputError(f"replace must be True or False, got {replace!r}")
        if len(users) and n and not (0.0 < self._weight_total < np.inf):
            raise KernelInputError(
                f"popularity weights must have a positive finite sum, got {self._weight_total}"
            )
        out, status = self._native.sample(users, n, bool(replace), seed, threads)
        if status is not None and status[0] == "users":
            _, row, user = status
            raise _out_of_range("users", "user indices (rows of pos_indptr)", self.n_users, user, row)
        if status is not None:
            _, row, user, positives, eligible, needed = status
            pool = "items with positive popularity" if self.weighted else "items"
            if replace:
                raise KernelInputError(
                    f"user {user} (users[{row}]) has no negative to draw: its {positives} "
                    f"distinct positives cover all {eligible} {pool}; drop that user from users"
                )
            raise KernelInputError(
                f"user {user} (users[{row}]) has only {eligible - positives} negatives "
                f"({eligible} {pool} minus {positives} distinct positives) but n={needed} "
                "distinct negatives were asked with replace=False; lower n or pass replace=True"
            )
        return out


def sample_negatives(users: np.ndarray, pos_indptr: np.ndarray, pos_items: np.ndarray,
                     n_items: int, n: int, *, seed: int, popularity: np.ndarray | None = None,
                     replace: bool = True, threads: int = 0) -> np.ndarray:
    """Draw ``n`` negative items for each entry of ``users`` -> int32 [M, n], in one call.

    Builds a :class:`NegativeSampler` over the positives (pos_indptr int64 [n_users + 1],
    pos_items int32 [nnz]) and samples once; see there for the arguments and guarantees.
    To sample again from the same positives (every epoch), build the sampler once instead.
    """
    sampler = NegativeSampler(pos_indptr, pos_items, n_items, popularity=popularity,
                              threads=threads)
    return sampler.sample(users, n, seed=seed, replace=replace)


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


# =============================================================================
# SGD epochs of the rating models (csrc/rating.h)
# =============================================================================

#: Parameter names of the per-parameter learning rates and regularisation weights, in the
#: order of the extension's ``rates`` array (Surprise's names).
RATING_PARAMETERS = ("bu", "bi", "pu", "qi", "yj")


def _rating_rates(lr: Any, reg: Any, names: tuple[str, ...]) -> np.ndarray:
    """float64 [10]: lr then reg of bu, bi, pu, qi, yj (finite, >= 0; absent ones 0)."""
    rates = np.zeros(2 * len(RATING_PARAMETERS), dtype=np.float64)
    for offset, label, given in ((0, "lr", lr), (len(RATING_PARAMETERS), "reg", reg)):
        if not isinstance(given, dict) or set(given) != set(names):
            raise KernelInputError(f"{label} must be a dict with exactly the keys {list(names)}, got {given!r}")
        for name in names:
            value = given[name]
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise KernelInputError(f"{label}[{name!r}] must be a number, got {value!r}")
            if not (np.isfinite(value) and value >= 0):
                raise KernelInputError(f"{label}[{name!r}] must be finite and >= 0, got {value!r}")
            rates[offset + RATING_PARAMETERS.index(name)] = float(value)
    return rates


def _rating_state(name: str, value: Any, rows: int | None, ndim: int) -> np.ndarray:
    """A writable C-contiguous float64 array updated in place (``rows`` entries when given)."""
    value = _graph_array(name, value, np.float64, ndim)
    if not value.flags.writeable:
        raise KernelInputError(f"{name} must be writable: the epoch updates it in place")
    if rows is not None and value.shape[0] != rows:
        raise KernelInputError(f"{name} must have {rows} rows, got shape {value.shape}")
    return value


def _rating_triples(users: Any, items: Any, ratings: Any, order: Any, n_users: int,
                    n_items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    users = _graph_array("users", users, np.int32, 1)
    items = _graph_array("items", items, np.int32, 1)
    ratings = _graph_array("ratings", ratings, np.float32, 1)
    order = _graph_array("order", order, np.int64, 1)
    if not len(users) == len(items) == len(ratings):
        raise KernelInputError(f"users, items and ratings must have one length, got {len(users)}, "
                               f"{len(items)} and {len(ratings)}")
    if len(ratings) and not np.isfinite(ratings).all():
        bad = int(np.flatnonzero(~np.isfinite(ratings))[0])
        raise KernelInputError(f"ratings must be finite, found {ratings[bad]} at position {bad}")
    _graph_indices("users", users, n_users, "user ids (rows of user_factors)")
    _graph_indices("items", items, n_items, "item ids (rows of item_factors)")
    _graph_indices("order", order, len(ratings), "positions of ratings")
    return users, items, ratings, order


def _rating_mean(global_mean: Any) -> float:
    if isinstance(global_mean, (bool, np.bool_)) or not isinstance(global_mean, (int, float, np.integer, np.floating)) \
            or not np.isfinite(global_mean):
        raise KernelInputError(f"global_mean must be a finite number, got {global_mean!r}")
    return float(global_mean)


def svd_epoch(users: Any, items: Any, ratings: Any, order: Any, *, global_mean: float, biased: bool,
              lr: dict[str, float], reg: dict[str, float], user_bias: np.ndarray, item_bias: np.ndarray,
              user_factors: np.ndarray, item_factors: np.ndarray) -> float:
    """One SGD epoch of biased matrix factorisation (Surprise's SVD), in place -> sum of err².

    Visits ``ratings[order[t]]`` for t = 0, 1, ... (``users``/``items`` int32 [n], ``ratings``
    float32 [n], ``order`` int64 [m] positions, may repeat or leave some out). Per rating:
    ``err = r - (global_mean + b_u + b_i + q_i·p_u)``; ``b_u += lr_bu (err - reg_bu b_u)``,
    ``b_i`` alike; ``p_u += lr_pu (err q_i - reg_pu p_u)``, ``q_i += lr_qi (err p_u - reg_qi q_i)``
    from the values before the step. ``biased=False``: no biases used or updated (PMF, pass
    ``global_mean=0``). ``lr``/``reg``: dicts with keys bu, bi, pu, qi. The state arrays are
    float64, C-contiguous and writable: ``user_bias`` [n_users], ``item_bias`` [n_items],
    ``user_factors`` [n_users, d], ``item_factors`` [n_items, d] (d may be 0). The GIL is
    released; the result depends only on the order and the initial state.
    """
    pu = _rating_state("user_factors", user_factors, None, 2)
    qi = _rating_state("item_factors", item_factors, None, 2)
    if pu.shape[1] != qi.shape[1]:
        raise KernelInputError(f"user_factors is [n_users, {pu.shape[1]}] but item_factors is "
                               f"[n_items, {qi.shape[1]}]; the factor sizes must agree")
    bu = _rating_state("user_bias", user_bias, pu.shape[0], 1)
    bi = _rating_state("item_bias", item_bias, qi.shape[0], 1)
    users, items, ratings, order = _rating_triples(users, items, ratings, order, pu.shape[0], qi.shape[0])
    if not isinstance(biased, (bool, np.bool_)):
        raise KernelInputError(f"biased must be True or False, got {biased!r}")
    rates = _rating_rates(lr, reg, RATING_PARAMETERS[:4])
    return float(_native().svd_epoch(users, items, ratings, order, _rating_mean(global_mean), bool(biased),
                                     rates, bu, bi, pu, qi))


def user_grouped(users: np.ndarray, order: np.ndarray) -> bool:
    """Whether each user's positions are contiguous in ``order`` (what :func:`svdpp_epoch` needs)."""
    visited = users[order]
    starts = np.flatnonzero(np.concatenate([[True], visited[1:] != visited[:-1]])) if len(visited) else visited
    return len(starts) == 0 or int(np.bincount(visited[starts]).max()) <= 1


def svdpp_epoch(users: Any, items: Any, ratings: Any, order: Any, *, implicit: Any, global_mean: float,
                lr: dict[str, float], reg: dict[str, float], user_bias: np.ndarray, item_bias: np.ndarray,
                user_factors: np.ndarray, item_factors: np.ndarray, implicit_factors: np.ndarray) -> float:
    """One SGD epoch of SVD++ (Surprise's SVDpp), in place -> sum of err².

    As :func:`svd_epoch`, with ``implicit`` = (indptr int64 [n_users + 1], items int32) the
    items N(u) each user rated and ``implicit_factors`` (y_j) float64 [n_items, d]. Per rating,
    with ``z = Σ_{j∈N(u)} y_j / √|N(u)|``: ``err = r - (global_mean + b_u + b_i + q_i·(p_u + z))``;
    biases as SVD; ``p_u += lr_pu (err q_i - reg_pu p_u)``, ``q_i += lr_qi (err (p_u + z) -
    reg_qi q_i)``, every ``y_j += lr_yj (err q_i / √|N(u)| - reg_yj y_j)``. ``order`` must visit
    each user's ratings contiguously (users in any order): the kernel then applies a user's
    y_j steps once per user, the same updates up to float rounding, in O(|N(u)| d) per user.
    ``lr``/``reg``: dicts with keys bu, bi, pu, qi, yj.
    """
    pu = _rating_state("user_factors", user_factors, None, 2)
    qi = _rating_state("item_factors", item_factors, None, 2)
    yj = _rating_state("implicit_factors", implicit_factors, qi.shape[0], 2)
    if not pu.shape[1] == qi.shape[1] == yj.shape[1]:
        raise KernelInputError(f"user_factors, item_factors and implicit_factors must share the factor size, "
                               f"got {pu.shape[1]}, {qi.shape[1]} and {yj.shape[1]}")
    bu = _rating_state("user_bias", user_bias, pu.shape[0], 1)
    bi = _rating_state("item_bias", item_bias, qi.shape[0], 1)
    users, items, ratings, order = _rating_triples(users, items, ratings, order, pu.shape[0], qi.shape[0])
    if not isinstance(implicit, (tuple, list)) or len(implicit) != 2:
        raise KernelInputError(f"implicit must be a pair (indptr int64[n_users+1], items int32), "
                               f"got {type(implicit).__name__}")
    imp_indptr, imp_items = _graph_csr("implicit indptr", implicit[0], "implicit items", implicit[1],
                                       qi.shape[0], "item ids (rows of item_factors)")
    if len(imp_indptr) != pu.shape[0] + 1:
        raise KernelInputError(f"implicit indptr must have n_users + 1 = {pu.shape[0] + 1} entries, "
                               f"got {len(imp_indptr)}")
    if not user_grouped(users, order):
        raise KernelInputError("order must visit each user's ratings contiguously (users in any order); "
                               "e.g. sort the positions by user with a stable argsort")
    rates = _rating_rates(lr, reg, RATING_PARAMETERS)
    return float(_native().svdpp_epoch(users, items, ratings, order, imp_indptr, imp_items,
                                       _rating_mean(global_mean), rates, bu, bi, pu, qi, yj))
