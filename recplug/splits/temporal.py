"""Global temporal split at two time cut points (DESIGN.md §4).

The cut points are the timestamps at the ``valid_from`` and ``test_from`` quantiles of all
rows: ``t_valid = ts[floor(valid_from * n)]`` over the sorted timestamps (same for
``t_test``). Train is every row before ``t_valid``; the validation window is
``[t_valid, t_test)``; the test window is ``t_test`` onwards. Rows sharing a timestamp
always fall on the same side.

Targets of a window are the distinct items a user consumed in it that are not in that
user's earlier history (train for validation, train + validation window for test).
Dropped and counted: users of the window with no earlier history (``*_no_history_users``),
pairs whose item no earlier row has (``*_cold_item_dropped``), and pairs the user already
had (``*_repeat_dropped``). ``target="next"`` keeps each user's first remaining item of
the window (next-item evaluation). Test-window rows are never history.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.data.interactions import Interactions
from recplug.errors import SplitError
from recplug.splits import checks
from recplug.splits._common import assemble, targets_from_rows
from recplug.splits.base import Split

PARAMS: dict[str, object] = {"valid_from": 0.8, "test_from": 0.9, "target": "all"}


def check_params(valid_from: Any = 0.8, test_from: Any = 0.9, target: Any = "all") -> tuple[float, float, str]:
    """The parameters as numbers and a target name; SplitError when out of range."""
    try:
        valid_from, test_from = float(valid_from), float(test_from)
    except (TypeError, ValueError):
        raise SplitError("split 'temporal': valid_from and test_from must be numbers") from None
    if not 0.0 < valid_from < test_from < 1.0:
        raise SplitError(f"split 'temporal': need 0 < valid_from < test_from < 1, got valid_from="
                         f"{valid_from}, test_from={test_from}")
    if target not in ("all", "next"):
        raise SplitError(f"split 'temporal': target must be 'all' or 'next', got {target!r}")
    return valid_from, test_from, target


def split(data: Interactions, *, seed: int = 0, valid_from: float = 0.8, test_from: float = 0.9,
          target: str = "all") -> Split:
    """Temporal split of ``data``; needs timestamps."""
    if data.timestamps is None:
        raise SplitError(f"split 'temporal' needs timestamps, and {data.name!r} has none (e.g. a "
                         "per-user line file); use loo, temporal-user or ratio")
    valid_from, test_from, target = check_params(valid_from, test_from, target)
    ts = data.timestamps  # non-decreasing: rows are in chronological order
    n = len(ts)
    t_valid = ts[min(int(np.floor(valid_from * n)), n - 1)]
    t_test = ts[min(int(np.floor(test_from * n)), n - 1)]
    train = ts < t_valid
    validation = (ts >= t_valid) & (ts < t_test)
    test = ts >= t_test
    for label, mask in (("train", train), ("validation window", validation), ("test window", test)):
        if not mask.any():
            raise SplitError(f"split 'temporal' of {data.name!r}: the {label} is empty (cut points "
                             f"{t_valid} and {t_test}; many rows share a timestamp?); move "
                             "valid_from/test_from")
    checks.check_chronology(ts[train], ts[validation], split="temporal", earlier_name="train",
                            later_name="validation-window")
    checks.check_chronology(ts[train | validation], ts[test], split="temporal",
                            earlier_name="train+validation", later_name="test-window")
    first = target == "next"
    valid_targets, vc = targets_from_rows(data, validation, train, need_user_history=True,
                                          need_known_item=True, first_only=first)
    test_targets, tc = targets_from_rows(data, test, train | validation, need_user_history=True,
                                         need_known_item=True, first_only=first)
    summary = {
        "valid_from_time": _plain(t_valid),
        "test_from_time": _plain(t_test),
        "test_window_interactions": int(test.sum()),
        "valid_no_history_users": vc["no_history_users"],
        "valid_cold_item_dropped": vc["cold_item"],
        "valid_repeat_dropped": vc["repeat"],
        "test_no_history_users": tc["no_history_users"],
        "test_cold_item_dropped": tc["cold_item"],
        "test_repeat_dropped": tc["repeat"],
    }
    params = {"seed": seed, "valid_from": valid_from, "test_from": test_from, "target": target}
    return assemble("temporal", params, data, train, validation, valid_targets, test_targets,
                    summary, test=test)


def _plain(value: np.generic) -> int | float:
    return value.item()
