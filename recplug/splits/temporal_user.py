"""Per-user chronological ratio split (DESIGN.md §4). Known to leak across users.

Each user's rows, in stable chronological order, are cut into train / validation / test
by ``ratios`` (default 0.8/0.1/0.1), with RecBole's rounding: the validation and test
parts get ``floor(ratio * n)`` rows, plus one row when ``ratio * n`` is in (0, 1) and more
than one row would stay in train; train gets the rest. Targets are the distinct items of
a user's validation (test) part not in that user's train (train + validation) part.

Users are cut at different times, so one user's test rows can be older than another
user's train rows: a model trained on train sees "the future" of other users. Both
``summary["leaks_across_users"]`` and ``params["note"]`` say so; prefer ``temporal``.
"""

from __future__ import annotations

import numpy as np

from recplug.data.interactions import Interactions
from recplug.splits._common import assemble, check_ratios, targets_from_rows, user_positions
from recplug.splits.base import Split

PARAMS: dict[str, object] = {"ratios": (0.8, 0.1, 0.1)}
NOTE = ("per-user cut points: one user's test rows can be older than another user's train rows, "
        "so information leaks across users; prefer the global 'temporal' split")


def part_sizes(n: np.ndarray, ratios: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray,
                                                                          np.ndarray]:
    """Rows per part for users with ``n`` rows (RecBole's rounding, see module doc)."""
    n = np.asarray(n, dtype=np.int64)
    sizes = [np.floor(r * n + 1e-9).astype(np.int64) for r in ratios]
    sizes[0] = n - sizes[1] - sizes[2]
    for part in (2, 1):  # test first, then validation, as RecBole walks from the end
        exact = ratios[part] * n
        bump = (sizes[0] > 1) & (exact > 0) & (exact < 1)
        sizes[part] = sizes[part] + bump
        sizes[0] = sizes[0] - bump
    return sizes[0], sizes[1], sizes[2]


def split(data: Interactions, *, seed: int = 0, ratios=(0.8, 0.1, 0.1)) -> Split:
    """Per-user chronological ratio split of ``data``."""
    ratios = check_ratios(ratios, "temporal-user")
    position, count = user_positions(data)
    n_train, n_valid, _ = part_sizes(count, ratios)
    train = position < n_train
    validation = ~train & (position < n_train + n_valid)
    test = ~(train | validation)
    valid_targets, vc = targets_from_rows(data, validation, train)
    test_targets, tc = targets_from_rows(data, test, train | validation)
    summary = {
        "leaks_across_users": True,
        "valid_repeat_dropped": vc["repeat"],
        "test_repeat_dropped": tc["repeat"],
    }
    params = {"seed": seed, "ratios": ratios, "note": NOTE}
    return assemble("temporal-user", params, data, train, validation, valid_targets, test_targets,
                    summary, test=test)
