"""Random per-interaction ratio split, seeded (DESIGN.md §4).

A seeded permutation of the rows gives ``round(ratios[1] * n)`` validation rows,
``round(ratios[2] * n)`` test rows and the rest to train (each part keeps chronological
order). Targets are the distinct items of a user's validation (test) rows not in that
user's train (train + validation) rows; re-consumed pairs are dropped and counted. Users
without train rows keep their targets (``*_users_without_train``): they are scored from
an empty history.
"""

from __future__ import annotations

import numpy as np

from recplug.data.interactions import Interactions
from recplug.splits._common import assemble, check_ratios, targets_from_rows
from recplug.splits.base import Split

PARAMS: dict[str, object] = {"ratios": (0.8, 0.1, 0.1)}


def split(data: Interactions, *, seed: int = 0, ratios=(0.8, 0.1, 0.1)) -> Split:
    """Random ratio split of ``data`` with ``numpy.random.default_rng(seed)``."""
    ratios = check_ratios(ratios, "ratio")
    n = len(data)
    n_valid = int(round(ratios[1] * n))
    n_test = int(round(ratios[2] * n))
    order = np.random.default_rng(seed).permutation(n)
    label = np.zeros(n, dtype=np.int8)
    label[order[n - n_valid - n_test:n - n_test]] = 1
    label[order[n - n_test:]] = 2
    train, validation, test = label == 0, label == 1, label == 2
    valid_targets, vc = targets_from_rows(data, validation, train)
    test_targets, tc = targets_from_rows(data, test, train | validation)
    has_train = np.zeros(data.n_users, dtype=bool)
    has_train[data.users[train]] = True
    summary = {
        "valid_repeat_dropped": vc["repeat"],
        "test_repeat_dropped": tc["repeat"],
        "valid_users_without_train": int((~has_train[valid_targets.users()]).sum()),
        "test_users_without_train": int((~has_train[test_targets.users()]).sum()),
    }
    return assemble("ratio", {"seed": seed, "ratios": ratios}, data, train, validation,
                    valid_targets, test_targets, summary, test=test)
