"""Leakage checks every split runs before it is returned (DESIGN.md §4).

- :func:`check_targets_not_in_history`: no target (user, item) pair is in the history it
  is masked against (validation targets vs train, test targets vs train + validation);
  a masked target could never be hit, and a visible one would be a leak.
- :func:`check_chronology`: for temporal splits, every interaction of a later window is
  strictly later than every interaction of the earlier part.
- :func:`check_vocabularies`: train and validation share the dataset's vocabularies, so
  every item known at fit time can be ranked (items never in train stay in, cold).
- :func:`overlap_pairs`: distinct (user, item) pairs two tables share (presplit reports
  train/test overlap with it).

Each raises :class:`~recplug.errors.LeakageError` naming the split, what leaked, how
often, and one example with raw ids.
"""

from __future__ import annotations

import numpy as np

from recplug.data.interactions import Interactions
from recplug.data.targets import Targets
from recplug.errors import LeakageError
from recplug.splits.base import Split


def pair_keys(users: np.ndarray, items: np.ndarray, n_items: int) -> np.ndarray:
    """int64 key ``user * n_items + item`` per pair."""
    return users.astype(np.int64) * np.int64(n_items) + items.astype(np.int64)


def member(keys: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``keys`` occur in ``reference`` (sort + binary search; faster
    than ``np.isin`` on large int64 keys)."""
    if len(reference) == 0 or len(keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    ref = np.sort(reference)
    pos = np.minimum(np.searchsorted(ref, keys), len(ref) - 1)
    return ref[pos] == keys


def distinct(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values of ``keys``."""
    if len(keys) == 0:
        return keys
    ordered = np.sort(keys)
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def target_keys(targets: Targets, n_items: int) -> np.ndarray:
    """Keys of all target pairs, in Targets order."""
    users = np.repeat(np.arange(targets.n_users, dtype=np.int64), targets.counts())
    return pair_keys(users, targets.items, n_items)


def check_targets_not_in_history(history: Interactions, targets: Targets, *, split: str,
                                 which: str) -> None:
    """Raise when a target pair of ``targets`` occurs in ``history``."""
    if targets.n_users != history.n_users:
        raise LeakageError(f"split {split!r}: {which} targets cover {targets.n_users} users but the "
                           f"history has {history.n_users}; they must share the user vocabulary")
    if len(targets) and targets.items.max() >= history.n_items:
        raise LeakageError(f"split {split!r}: a {which} target item is outside the item vocabulary")
    keys = target_keys(targets, history.n_items)
    seen = member(keys, pair_keys(history.users, history.items, history.n_items))
    if seen.any():
        key = int(keys[np.flatnonzero(seen)[0]])
        user, item = divmod(key, history.n_items)
        raise LeakageError(
            f"split {split!r}: {int(seen.sum())} {which} target(s) already occur in the history "
            f"they are masked against (e.g. user {history.user_vocab.ids[user]!r}, item "
            f"{history.item_vocab.ids[item]!r}); such targets can never be ranked")


def check_chronology(earlier: np.ndarray, later: np.ndarray, *, split: str, earlier_name: str,
                     later_name: str) -> None:
    """Raise unless every timestamp in ``later`` is strictly after every one in ``earlier``."""
    if len(earlier) == 0 or len(later) == 0:
        return
    last, first = earlier.max(), later.min()
    if not first > last:
        n_bad = int((later <= last).sum())
        raise LeakageError(f"split {split!r}: {n_bad} {later_name} interaction(s) are not later than "
                           f"the last {earlier_name} interaction (time {first} <= {last}); a temporal "
                           "split must not let a model see the future")


def check_vocabularies(split: Split, data: Interactions) -> None:
    """Raise unless train and validation use ``data``'s vocabularies."""
    for part in (split.train, split.validation):
        if part.user_vocab != data.user_vocab or part.item_vocab != data.item_vocab:
            raise LeakageError(f"split {split.name!r}: {part.name} does not share the dataset's "
                               "vocabularies; every item known at fit time must stay rankable")
    for which, targets in (("validation", split.valid_targets), ("test", split.test_targets)):
        if targets.n_users != data.n_users:
            raise LeakageError(f"split {split.name!r}: {which} targets cover {targets.n_users} users, "
                               f"the dataset has {data.n_users}")


def check_split(split: Split, data: Interactions) -> None:
    """All pair-level checks: vocabularies and both target sets against their histories."""
    check_vocabularies(split, data)
    check_targets_not_in_history(split.history("valid"), split.valid_targets, split=split.name,
                                 which="validation")
    check_targets_not_in_history(split.history("test"), split.test_targets, split=split.name,
                                 which="test")


def overlap_pairs(a: Interactions | tuple[np.ndarray, np.ndarray],
                  b: Interactions | tuple[np.ndarray, np.ndarray], n_items: int) -> int:
    """Distinct (user, item) pairs present in both ``a`` and ``b``."""
    ka = distinct(pair_keys(*_pairs(a), n_items))
    return int(member(ka, pair_keys(*_pairs(b), n_items)).sum())


def _pairs(x: Interactions | tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return (x.users, x.items) if isinstance(x, Interactions) else x
