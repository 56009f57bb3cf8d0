"""Pieces every split shares: turning rows into targets, assembling and checking a Split."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.data.interactions import Interactions
from recplug.data.targets import Targets
from recplug.errors import SplitError
from recplug.splits import checks
from recplug.splits.base import Split


def targets_from_rows(data: Interactions, candidates: np.ndarray, history: np.ndarray, *,
                      need_user_history: bool = False, need_known_item: bool = False,
                      first_only: bool = False) -> tuple[Targets, dict[str, int]]:
    """Targets from the candidate rows of ``data`` that are new to their user.

    ``candidates`` and ``history`` are boolean row masks. A candidate pair is dropped when
    the user already has it in ``history`` (counted as ``repeat``); with
    ``need_user_history`` when the user has no history row (``no_history_users``, distinct
    users); with ``need_known_item`` when no history row has the item (``cold_item``).
    ``first_only`` keeps each user's first remaining candidate in row (chronological) order.
    Counts are distinct (user, item) pairs unless named ``_users``.
    """
    n_items = data.n_items
    rows = np.flatnonzero(candidates)
    users, items = data.users[rows], data.items[rows]
    keys = checks.pair_keys(users, items, n_items)
    hist_keys = checks.pair_keys(data.users[history], data.items[history], n_items)
    counts: dict[str, int] = {}
    keep = np.ones(len(rows), dtype=bool)
    if need_user_history:
        has_history = np.zeros(data.n_users, dtype=bool)
        has_history[data.users[history]] = True
        ok = has_history[users]
        counts["no_history_users"] = int(checks.distinct(users[~ok]).size)
        keep &= ok
    if need_known_item:
        known = np.zeros(n_items, dtype=bool)
        known[data.items[history]] = True
        ok = known[items]
        counts["cold_item"] = int(checks.distinct(keys[keep & ~ok]).size)
        keep &= ok
    repeat = checks.member(keys, hist_keys)
    counts["repeat"] = int(checks.distinct(keys[keep & repeat]).size)
    keep &= ~repeat
    users, items = users[keep], items[keep]
    if first_only:
        first = np.empty(len(users), dtype=bool)
        order = np.argsort(users, kind="stable")  # a user's rows stay chronological
        sorted_users = users[order]
        first[order] = np.concatenate([[True], sorted_users[1:] != sorted_users[:-1]])
        users, items = users[first], items[first]
    return Targets.from_pairs(users, items, data.n_users), counts


def assemble(name: str, params: dict[str, Any], data: Interactions, train: np.ndarray,
             validation: np.ndarray, valid_targets: Targets, test_targets: Targets,
             summary: dict[str, Any], *, test: np.ndarray) -> Split:
    """Build the Split from row masks (train/validation/test share ``data``'s vocabularies),
    add the common counts to ``summary`` and run the leakage checks."""
    if len(test_targets) == 0:
        raise SplitError(f"split {name!r} of {data.name!r} left no test targets ({len(data)} rows, "
                         f"{data.n_users} users); the data is too small or too sparse for this split "
                         f"-- try another split or fewer filters")
    train_part = data.with_rows(train, name=f"{data.name}:train")
    valid_part = data.with_rows(validation, name=f"{data.name}:validation")
    test_part = data.with_rows(test, name=f"{data.name}:test")
    in_train = np.zeros(data.n_items, dtype=bool)
    in_train[train_part.items] = True
    summary = {
        **summary,
        "train_interactions": len(train_part),
        "validation_interactions": len(valid_part),
        "test_interactions": len(test_part),
        "valid_users": int(len(valid_targets.users())),
        "valid_targets": len(valid_targets),
        "test_users": int(len(test_targets.users())),
        "test_targets": len(test_targets),
        "cold_items": int((~in_train).sum()),
        "cold_valid_targets": int((~in_train[valid_targets.items]).sum()),
        "cold_test_targets": int((~in_train[test_targets.items]).sum()),
    }
    split = Split(name=name, params=params, train=train_part, validation=valid_part,
                  valid_targets=valid_targets, test_targets=test_targets, summary=summary,
                  test=test_part)
    checks.check_split(split, data)
    return split


def user_positions(data: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Per row: its 0-based position in its user's chronological sequence, and that
    user's number of rows."""
    order = np.argsort(data.users, kind="stable")
    counts = np.bincount(data.users, minlength=data.n_users)
    starts = np.cumsum(counts) - counts
    position = np.empty(len(data), dtype=np.int64)
    position[order] = np.arange(len(data)) - np.repeat(starts, counts)
    return position, counts[data.users]


def check_ratios(ratios: Any, split: str) -> tuple[float, float, float]:
    """Validate ``(train, validation, test)`` fractions that sum to 1."""
    try:
        values = tuple(float(r) for r in ratios)
    except (TypeError, ValueError):
        raise SplitError(f"split {split!r}: ratios must be three numbers (train, validation, test), "
                         f"got {ratios!r}") from None
    if len(values) != 3 or any(not np.isfinite(v) or v < 0 for v in values) \
            or abs(sum(values) - 1.0) > 1e-6 or values[0] <= 0 or values[2] <= 0:
        raise SplitError(f"split {split!r}: ratios must be three non-negative fractions (train, "
                         f"validation, test) summing to 1 with train and test > 0, got {ratios!r}; "
                         "e.g. ratios=(0.8, 0.1, 0.1)")
    return values  # type: ignore[return-value]
