"""Cold-start items: a seeded fraction of the items is held out entirely (DESIGN.md §4).

Of the items with at least one interaction, ``round(fraction * n)`` are drawn with
``numpy.random.default_rng(seed)``; the first half of the draw (rounded down) are the
validation items, the rest the test items. Every interaction with a validation (test) item
is a validation (test) row; every other row is train. So no held-out item is ever seen
at fit time, every validation and test target is cold (``cold_valid_targets`` and
``cold_test_targets`` equal the target counts), and the ranking catalogue is every item of
the vocabulary: warm, cold and metadata-only ones alike. Test targets are masked against
train + validation (a user's validation items join the history), as in every split.

Models without content score cold items with their fallback (README "Splits"): pop,
itemknn and ease give them 0 (ease's warm scores can be below 0, so a cold item may still
rank above them), bpr and other ID-embedding models score them with vectors that only ever
were sampled negatives. Users whose targets come with no train row keep them
(``*_users_without_train``) and are scored from the history they have.
"""

from __future__ import annotations

import numpy as np

from recplug.data.interactions import Interactions
from recplug.errors import SplitError
from recplug.splits._common import assemble, targets_from_rows
from recplug.splits.base import Split

PARAMS: dict[str, object] = {"fraction": 0.2}


def check_params(fraction: float = 0.2) -> float:
    """``fraction`` as a float in (0, 1); SplitError naming it otherwise."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
            or not np.isfinite(fraction) or not 0 < fraction < 1:
        raise SplitError(f"fraction must be a number in (0, 1) (the share of items held out), "
                         f"got {fraction!r}; e.g. fraction=0.2")
    return float(fraction)


def split(data: Interactions, *, seed: int = 0, fraction: float = 0.2) -> Split:
    """Hold out ``fraction`` of the interacted items of ``data``: half for validation, half for test."""
    fraction = check_params(fraction)
    interacted = np.flatnonzero(np.bincount(data.items, minlength=data.n_items) > 0)
    n_cold = int(round(fraction * len(interacted)))
    if n_cold < 2 or n_cold >= len(interacted):
        raise SplitError(f"split 'cold-items' of {data.name!r}: fraction={fraction} of its "
                         f"{len(interacted)} interacted items holds out {n_cold}; it needs at least "
                         "2 (one validation, one test item) and must leave some items for training")
    drawn = np.random.default_rng(seed).permutation(interacted)[:n_cold]
    n_valid = n_cold // 2
    label_of_item = np.zeros(data.n_items, dtype=np.int8)
    label_of_item[drawn[:n_valid]] = 1
    label_of_item[drawn[n_valid:]] = 2
    label = label_of_item[data.items]
    train, validation, test = label == 0, label == 1, label == 2
    valid_targets, _ = targets_from_rows(data, validation, train)
    test_targets, _ = targets_from_rows(data, test, train | validation)
    has_train = np.zeros(data.n_users, dtype=bool)
    has_train[data.users[train]] = True
    summary = {
        "valid_items_held_out": int(n_valid),
        "test_items_held_out": int(n_cold - n_valid),
        "valid_users_without_train": int((~has_train[valid_targets.users()]).sum()),
        "test_users_without_train": int((~has_train[test_targets.users()]).sum()),
    }
    return assemble("cold-items", {"seed": seed, "fraction": fraction}, data, train, validation,
                    valid_targets, test_targets, summary, test=test)
