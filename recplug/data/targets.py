"""Held-out targets per user, as CSR over the user index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recplug.errors import DataError


@dataclass(frozen=True)
class Targets:
    """``items[indptr[u]:indptr[u+1]]`` are user u's distinct target items (int32, sorted).

    ``indptr`` is int64 of length n_users + 1. Users with no target are not evaluated.
    """

    indptr: np.ndarray
    items: np.ndarray

    def __post_init__(self) -> None:
        indptr = np.ascontiguousarray(self.indptr, dtype=np.int64)
        items = np.ascontiguousarray(self.items, dtype=np.int32)
        if indptr.ndim != 1 or len(indptr) < 1 or indptr[0] != 0 or indptr[-1] != len(items):
            raise DataError("Targets.indptr must start at 0 and end at len(items)")
        if (np.diff(indptr) < 0).any():
            raise DataError("Targets.indptr must be non-decreasing")
        for arr in (indptr, items):
            arr.flags.writeable = False
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "items", items)

    @classmethod
    def from_pairs(cls, users: np.ndarray, items: np.ndarray, n_users: int) -> "Targets":
        """Distinct (user, item) pairs -> Targets (duplicates dropped, items sorted per user)."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        if len(users) and (users.min() < 0 or users.max() >= n_users):
            raise DataError("target user index out of range")
        keys = np.unique(users * (1 << 32) + items)
        u, i = keys >> 32, keys & 0xFFFFFFFF
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(u, minlength=n_users), out=indptr[1:])
        return cls(indptr, i.astype(np.int32))

    @classmethod
    def empty(cls, n_users: int) -> "Targets":
        return cls(np.zeros(n_users + 1, dtype=np.int64), np.zeros(0, dtype=np.int32))

    @property
    def n_users(self) -> int:
        return len(self.indptr) - 1

    def counts(self) -> np.ndarray:
        """Targets per user (int64[n_users])."""
        return np.diff(self.indptr)

    def users(self) -> np.ndarray:
        """Users with at least one target (int32, increasing)."""
        return np.flatnonzero(self.counts() > 0).astype(np.int32)

    def of(self, user: int) -> np.ndarray:
        return self.items[self.indptr[user]:self.indptr[user + 1]]

    def __len__(self) -> int:
        return len(self.items)
