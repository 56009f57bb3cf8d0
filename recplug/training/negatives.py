"""Negative items for pairwise and sampled losses, drawn by the C++ sampler built once per fit."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from recplug import kernels
from recplug.errors import KernelInputError
from recplug.training.constraints import Integer, Options, Real, check_params

Distribution = Literal["uniform", "popularity"]
_CONSTRAINTS = {"distribution": Options("uniform", "popularity"), "alpha": Real(0)}


def popularity_weights(counts: Any, alpha: float) -> np.ndarray:
    """float64 ``counts ** alpha`` where ``counts > 0``, else 0: items never seen are never drawn
    (also when ``alpha == 0``). ``counts``: int ``[n_items]``."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.where(counts > 0, counts ** float(alpha), 0.0)


class NegativeSampler:
    """Draws items a user has not interacted with, from one user x item CSR.

    ``csr``: the binary training matrix (``TrainData.csr``; scipy CSR, int32 indices).
    ``distribution="uniform"`` draws every non-positive item with equal probability;
    ``"popularity"`` draws item ``i`` proportionally to ``count_i ** alpha``, where
    ``count_i`` is its number of distinct training users: items nobody interacted with
    have weight 0 and are never drawn (also when ``alpha == 0``). ``threads`` (0 = OpenMP
    default) never changes the draws. Build it once per fit; :meth:`sample` every epoch.
    """

    def __init__(self, csr: Any, *, distribution: Distribution = "uniform", alpha: float = 1.0,
                 threads: int = 0):
        check_params("NegativeSampler", _CONSTRAINTS, {"distribution": distribution, "alpha": alpha})
        if not csr.has_canonical_format:
            csr = csr.copy()
            csr.sum_duplicates()
        self.n_users, self.n_items = csr.shape
        self.distribution = distribution
        self.alpha = float(alpha)
        self._indptr = csr.indptr.astype(np.int64)
        self._indices = np.ascontiguousarray(csr.indices, dtype=np.int32)
        counts = np.bincount(self._indices, minlength=self.n_items)
        if distribution == "popularity":
            self.weights: np.ndarray | None = popularity_weights(counts, self.alpha)
            n_drawable = int((counts > 0).sum())
        else:
            self.weights = None
            n_drawable = self.n_items
        # every positive is a seen item, hence drawable: a user has a negative iff its
        # distinct positives do not cover all drawable items
        self._has_negatives = np.diff(self._indptr) < n_drawable
        self._sampler = kernels.NegativeSampler(self._indptr, self._indices, self.n_items,
                                                popularity=self.weights, threads=threads)

    def probabilities(self) -> np.ndarray:
        """float64 [n_items]: each item's draw probability before a user's positives are excluded
        (``1 / n_items`` uniform; ``weight / sum(weights)`` by popularity), e.g. ``q`` for logQ correction."""
        if self.weights is None:
            return np.full(self.n_items, 1.0 / self.n_items)
        return self.weights / self.weights.sum()

    def users_with_negatives(self) -> np.ndarray:
        """bool [n_users]: False for users whose positives cover every drawable item."""
        return self._has_negatives.copy()

    def positive_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct training pairs of users that have negatives -> ``(users int64 [P], items int64 [P])``,
        in CSR order (users ascending)."""
        counts = np.diff(self._indptr)
        users = np.repeat(np.arange(self.n_users, dtype=np.int64), counts)
        keep = self._has_negatives[users]
        return users[keep], self._indices[keep].astype(np.int64)

    def sample(self, users: Any, n: int, *, seed: int, replace: bool = True,
               threads: int | None = None) -> np.ndarray:
        """``n`` negatives for each entry of ``users`` (int array, may repeat) -> int64 [len(users), n].

        No row holds a positive of its user; ``replace=False``: no item twice in a row.
        Row ``r`` depends only on ``seed``, ``r`` and its user (not on ``threads``); the
        uniform draws equal ``kernels.sample_negatives(users, indptr, indices, n_items, n, seed=seed)``.
        A user without negatives raises KernelInputError: keep only ``users_with_negatives()``.
        """
        users = np.asarray(users)
        if users.dtype.kind not in "iu" or (users.size and not 0 <= users.min() <= users.max() < self.n_users):
            raise KernelInputError(f"users must be integer indices in [0, {self.n_users}), got {users.dtype} "
                                   f"values {users.min() if users.size else ''}..{users.max() if users.size else ''}")
        users = np.ascontiguousarray(users, dtype=np.int32)
        return self._sampler.sample(users, n, seed=seed, replace=replace, threads=threads).astype(np.int64)


def pointwise_examples(sampler: NegativeSampler, users: Any, items: Any, n_negatives: int, *,
                       seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise training examples (NCF): each positive pair labelled 1, then ``n_negatives``
    sampled items per pair labelled 0.

    ``users``/``items``: the positive pairs ``[P]`` (e.g. ``sampler.positive_pairs()``).
    Returns ``(users int64 [P·(1+n)], items int64 [P·(1+n)], labels float32 [P·(1+n)])``:
    the ``P`` positives first, then the negatives of pair ``p`` at ``P + p·n ... P + p·n + n - 1``
    (drawn by ``sampler.sample(users, n, seed=seed)``). Shuffle them for training.
    """
    check_params("pointwise_examples", {"n_negatives": Integer(0)}, {"n_negatives": n_negatives})
    users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    if users.shape != items.shape or users.ndim != 1:
        raise KernelInputError(f"users and items must be aligned [P] arrays, got shapes {users.shape} "
                               f"and {items.shape}")
    n = int(n_negatives)
    negatives = sampler.sample(users, n, seed=seed).reshape(-1) if n else np.zeros(0, np.int64)
    labels = np.zeros(len(users) * (1 + n), dtype=np.float32)
    labels[:len(users)] = 1.0
    return np.concatenate([users, np.repeat(users, n)]), np.concatenate([items, negatives]), labels


class ItemSampler:
    """Items drawn from one distribution for everyone, with replacement, positives not excluded:
    GRU4Rec's extra negatives shared by a whole mini-batch, drawn by the C++ sampler.

    ``n_items``; ``weights`` float ``[n_items]`` (non-negative, e.g.
    ``popularity_weights(counts, alpha)``; zero-weight items are never drawn) or None for
    uniform draws. ``threads`` (0 = OpenMP default) never changes the draws.
    """

    def __init__(self, n_items: int, weights: Any = None, *, threads: int = 0):
        check_params("ItemSampler", {"n_items": Integer(1)}, {"n_items": n_items})
        self.n_items = int(n_items)
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        if self.weights is not None and (self.weights.shape != (self.n_items,) or not np.isfinite(self.weights).all()
                                         or (self.weights < 0).any() or not self.weights.sum() > 0):
            raise KernelInputError(f"ItemSampler: weights must be {self.n_items} finite non-negative numbers "
                                   f"with a positive sum, got shape {self.weights.shape}")
        no_positives = np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int32)   # one user who has none
        self._sampler = kernels.NegativeSampler(*no_positives, self.n_items, popularity=self.weights,
                                                threads=threads)

    def probabilities(self) -> np.ndarray:
        """float64 [n_items]: each item's draw probability (``q`` for logQ correction)."""
        if self.weights is None:
            return np.full(self.n_items, 1.0 / self.n_items)
        return self.weights / self.weights.sum()

    def sample(self, n_rows: int, n: int, *, seed: int, threads: int | None = None) -> np.ndarray:
        """``n`` draws for each of ``n_rows`` rows -> int64 [n_rows, n]; row ``r`` depends only on
        ``seed`` and ``r``."""
        check_params("ItemSampler.sample", {"n_rows": Integer(0), "n": Integer(0)}, {"n_rows": n_rows, "n": n})
        rows = np.zeros(int(n_rows), dtype=np.int32)
        return self._sampler.sample(rows, int(n), seed=seed, replace=True, threads=threads).astype(np.int64)
