"""The immutable interaction table every part of recplug shares (DESIGN.md §3)."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from recplug.errors import DataError


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


class Vocabulary:
    """Raw ids <-> contiguous 0-based indices. Raw ids keep their first-seen order."""

    def __init__(self, raw_ids: np.ndarray | list[Any]):
        ids = np.asarray(raw_ids)
        if ids.ndim != 1:
            raise DataError(f"a vocabulary needs a 1-d array of raw ids, got shape {ids.shape}")
        self._ids = _frozen(ids)
        self._index = {raw: i for i, raw in enumerate(ids.tolist())}
        if len(self._index) != len(ids):
            raise DataError("a vocabulary's raw ids must be unique")

    @classmethod
    def from_values(cls, values: np.ndarray) -> tuple["Vocabulary", np.ndarray]:
        """Vocabulary of ``values`` in first-seen order, and the int32 codes of ``values``."""
        codes, uniques = _factorize(values)
        return cls(uniques), codes

    @property
    def ids(self) -> np.ndarray:
        """The raw ids, position = index (read-only)."""
        return self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def index(self, raw: Any) -> int:
        """Index of one raw id; DataError when unknown."""
        try:
            return self._index[raw]
        except KeyError:
            raise DataError(f"unknown id {raw!r}") from None

    def lookup(self, raws: Any) -> np.ndarray:
        """int32 indices of many raw ids, -1 for unknown ones."""
        return np.fromiter((self._index.get(r, -1) for r in np.asarray(raws).tolist()),
                           dtype=np.int32)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and np.array_equal(self._ids, other._ids)

    __hash__ = None  # type: ignore[assignment]


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values), sort=False)
    if (codes < 0).any():
        raise DataError("ids must not be missing (NaN/None)")
    return codes.astype(np.int32), np.asarray(uniques)


@dataclass(frozen=True)
class Interactions:
    """Immutable user-item interactions.

    ``users``/``items`` are int32 indices into ``user_vocab``/``item_vocab``; rows are kept
    in *stable chronological order* (sorted by timestamp, original row order breaking ties;
    file order when there are no timestamps). ``timestamps`` (int64 or float64) and
    ``ratings`` (float32) are optional and aligned with the rows. Duplicated (user, item)
    pairs are kept here (sequences need them) and collapsed in :meth:`csr`.
    """

    users: np.ndarray
    items: np.ndarray
    user_vocab: Vocabulary
    item_vocab: Vocabulary
    timestamps: np.ndarray | None = None
    ratings: np.ndarray | None = None
    name: str = "interactions"

    def __post_init__(self) -> None:
        n = len(self.users)
        if len(self.items) != n:
            raise DataError(f"{self.name}: users and items differ in length ({n} vs {len(self.items)})")
        for field, arr in (("timestamps", self.timestamps), ("ratings", self.ratings)):
            if arr is not None and len(arr) != n:
                raise DataError(f"{self.name}: {field} has {len(arr)} rows, expected {n}")
        users = np.asarray(self.users, dtype=np.int32)
        items = np.asarray(self.items, dtype=np.int32)
        if n and (users.min() < 0 or users.max() >= len(self.user_vocab)):
            raise DataError(f"{self.name}: user index outside the user vocabulary")
        if n and (items.min() < 0 or items.max() >= len(self.item_vocab)):
            raise DataError(f"{self.name}: item index outside the item vocabulary")
        object.__setattr__(self, "users", _frozen(users))
        object.__setattr__(self, "items", _frozen(items))
        if self.timestamps is not None:
            ts = np.asarray(self.timestamps)
            ts = ts.astype(np.int64) if np.issubdtype(ts.dtype, np.integer) else ts.astype(np.float64)
            if n > 1 and (np.diff(ts) < 0).any():
                raise DataError(f"{self.name}: rows must be in chronological order "
                                "(build with Interactions.from_arrays, which sorts stably)")
            object.__setattr__(self, "timestamps", _frozen(ts))
        if self.ratings is not None:
            object.__setattr__(self, "ratings", _frozen(np.asarray(self.ratings, dtype=np.float32)))

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_arrays(cls, users: Any, items: Any, timestamps: Any = None, ratings: Any = None,
                    *, name: str = "interactions") -> "Interactions":
        """Build from raw ids (any hashable values); sorts rows stably by timestamp."""
        users = np.asarray(users)
        items = np.asarray(items)
        if timestamps is not None:
            timestamps = np.asarray(timestamps)
            order = np.argsort(timestamps, kind="stable")
            users, items, timestamps = users[order], items[order], timestamps[order]
            if ratings is not None:
                ratings = np.asarray(ratings)[order]
        user_vocab, u = Vocabulary.from_values(users)
        item_vocab, i = Vocabulary.from_values(items)
        return cls(u, i, user_vocab, item_vocab, timestamps, ratings, name=name)

    def with_rows(self, mask_or_index: np.ndarray, *, name: str | None = None) -> "Interactions":
        """A sub-table (boolean mask or sorted row indices) sharing both vocabularies."""
        sel = np.asarray(mask_or_index)
        if sel.dtype != bool and len(sel) > 1 and (np.diff(sel) < 0).any():
            raise DataError("with_rows needs row indices in increasing order (chronology)")
        take = lambda a: None if a is None else a[sel]  # noqa: E731
        return Interactions(self.users[sel], self.items[sel], self.user_vocab, self.item_vocab,
                            take(self.timestamps), take(self.ratings), name=name or self.name)

    def concat(self, other: "Interactions", *, name: str | None = None) -> "Interactions":
        """Rows of ``self`` then ``other`` (same vocabularies), stably re-sorted by time."""
        if self.user_vocab != other.user_vocab or self.item_vocab != other.item_vocab:
            raise DataError("can only concatenate interactions that share vocabularies")
        if (self.timestamps is None) != (other.timestamps is None):
            raise DataError("can only concatenate interactions that both have timestamps or both lack them")
        users = np.concatenate([self.users, other.users])
        items = np.concatenate([self.items, other.items])
        ts = None if self.timestamps is None else np.concatenate([self.timestamps, other.timestamps])
        rt = (None if self.ratings is None or other.ratings is None
              else np.concatenate([self.ratings, other.ratings]))
        if ts is not None:
            order = np.argsort(ts, kind="stable")
            users, items, ts = users[order], items[order], ts[order]
            rt = None if rt is None else rt[order]
        return Interactions(users, items, self.user_vocab, self.item_vocab, ts, rt,
                            name=name or self.name)

    # ---- sizes --------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.user_vocab)

    @property
    def n_items(self) -> int:
        return len(self.item_vocab)

    def __len__(self) -> int:
        return len(self.users)

    # ---- derived views (cached) ---------------------------------------------------
    @functools.cached_property
    def _csr(self) -> sp.csr_matrix:
        ones = np.ones(len(self.users), dtype=np.float32)
        m = sp.csr_matrix((ones, (self.users, self.items)), shape=(self.n_users, self.n_items))
        m.sum_duplicates()
        m.data[:] = 1.0
        m.sort_indices()
        return m

    def csr(self) -> sp.csr_matrix:
        """Binary user x item matrix (float32, duplicates collapsed, sorted indices; scipy index dtype)."""
        return self._csr

    @functools.cached_property
    def _sequences(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.users, kind="stable")  # keeps chronological order per user
        counts = np.bincount(self.users, minlength=self.n_users)
        indptr = np.zeros(self.n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return _frozen(indptr), _frozen(self.items[order])

    def sequences(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-user chronological item sequences as CSR: (indptr int64[n_users+1], items int32)."""
        return self._sequences

    @functools.cached_property
    def n_duplicates(self) -> int:
        """Rows that repeat an earlier (user, item) pair."""
        return len(self.users) - int(self._csr.nnz)

    @functools.cached_property
    def _item_counts(self) -> np.ndarray:
        return _frozen(np.bincount(self.items, minlength=self.n_items).astype(np.int64))

    def item_interaction_counts(self) -> np.ndarray:
        """Interactions per item (int64, duplicates counted); a fresh copy on each call
        (the counts are computed once). Distinct users per item: ``TrainData.item_user_counts``."""
        return self._item_counts.copy()

    def fingerprint(self) -> str:
        """SHA-256 over users, items, timestamps, ratings and both vocabularies (hex, 16 chars)."""
        h = hashlib.sha256()
        for arr in (self.users, self.items, self.timestamps, self.ratings):
            h.update(b"-" if arr is None else np.ascontiguousarray(arr).tobytes())
        for vocab in (self.user_vocab, self.item_vocab):
            h.update(repr(vocab.ids.tolist()).encode())
        return h.hexdigest()[:16]
