"""Statistics for leaderboards: paired tests, Holm correction, bootstrap CIs, per-user alignment.

Per-user arrays pair two models user by user (DESIGN.md §5). Every function here takes
plain NumPy arrays; p-values are two-sided; NaN means "not testable" (too few users).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import scipy.stats

#: elements of one bootstrap chunk (resamples x users): bounds memory, not the numbers.
_BOOTSTRAP_CHUNK = 1 << 22


def paired_t(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided paired t-test p-value of ``a`` vs ``b`` (same users, same order).

    All differences zero -> 1.0; constant nonzero differences -> 0.0 (infinite t);
    fewer than two pairs -> NaN. Otherwise :func:`scipy.stats.ttest_rel`.
    """
    d = _differences(a, b)
    if d.size < 2:
        return math.nan
    if not d.any():
        return 1.0
    if np.all(d == d[0]):
        return 0.0
    return float(scipy.stats.ttest_rel(np.asarray(a, np.float64), np.asarray(b, np.float64)).pvalue)


def wilcoxon(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of ``a`` vs ``b`` (same users, same order).

    Zero differences (users on which both agree, e.g. both miss) are dropped first,
    as in Wilcoxon's original test (``zero_method="wilcox"``); all zero -> 1.0; no pairs
    -> NaN. SciPy picks the exact distribution for small samples, the normal
    approximation otherwise (``method="auto"``).
    """
    d = _differences(a, b)
    if d.size == 0:
        return math.nan
    d = d[d != 0]
    if d.size == 0:
        return 1.0
    return float(scipy.stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided",
                                      method="auto").pvalue)


def _differences(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"paired samples need two 1-d arrays of one length, got {a.shape} and {b.shape}")
    return a - b


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, in the input order.

    With the m non-NaN p-values sorted ascending, ``adj_(i) = max_{j<=i} min(1, (m-j+1) p_(j))``.
    Rejecting where ``adj <= alpha`` controls the family-wise error rate at ``alpha``.
    NaN entries stay NaN and do not count in m.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


def bootstrap_ci(values: np.ndarray, *, n_resamples: int, level: float = 0.95,
                 rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (users resampled with replacement).

    Resamples are drawn from ``rng`` in a fixed order, so the interval depends only on
    the generator's seed, never on memory chunking. Empty ``values`` -> (NaN, NaN).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"bootstrap needs a 1-d array, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    n = x.size
    if n == 0:
        return math.nan, math.nan
    means = np.empty(n_resamples)
    per_chunk = max(1, _BOOTSTRAP_CHUNK // n)
    for start in range(0, n_resamples, per_chunk):
        stop = min(n_resamples, start + per_chunk)
        # one resample = one row: rows are drawn in order, whatever the chunk size
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = x[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail])
    return float(lo), float(hi)


def sort_by_user(users: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(users, values)`` ordered by user id (float64 values)."""
    users = np.asarray(users)
    order = np.argsort(users, kind="stable")
    return users[order], np.asarray(values, dtype=np.float64)[order]


def average_over_seeds(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-user mean over several runs (seeds) of one model, on the users all runs evaluated.

    ``parts``: ``(users [U_i], values [U_i])`` per run. Returns ``(users sorted, means)``.
    """
    if not parts:
        raise ValueError("average_over_seeds needs at least one run")
    users, total = sort_by_user(*parts[0])
    for part_users, part_values in parts[1:]:
        u, v = sort_by_user(part_users, part_values)
        users, ia, ib = np.intersect1d(users, u, assume_unique=True, return_indices=True)
        total = total[ia] + v[ib]
    return users, total / len(parts)


def average_over_folds(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-user mean over the test folds of one cross-validation, each user over the folds
    it was tested in (the union of users). ``parts``: ``(users [U_i], values [U_i])`` per
    fold (one run without folds passes through). Returns ``(users sorted, means)``."""
    if not parts:
        raise ValueError("average_over_folds needs at least one run")
    users = np.concatenate([np.asarray(u) for u, _ in parts])
    values = np.concatenate([np.asarray(v, dtype=np.float64) for _, v in parts])
    distinct, inverse = np.unique(users, return_inverse=True)
    totals = np.bincount(inverse, weights=values, minlength=len(distinct))
    counts = np.bincount(inverse, minlength=len(distinct))
    return distinct, totals / counts


def pair_users(users_a: np.ndarray, a: np.ndarray, users_b: np.ndarray, b: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(common users, a on them, b on them)``: users matched by id, sorted."""
    users_a, a = sort_by_user(users_a, a)
    users_b, b = sort_by_user(users_b, b)
    common, ia, ib = np.intersect1d(users_a, users_b, assume_unique=True, return_indices=True)
    return common, a[ia], b[ib]
