"""Leave-one-out: each user's last interaction is the test target, the one before it the
validation target, the rest is train (DESIGN.md §4).

"Last" follows the stable chronological row order (timestamps, then file order). Users
with fewer than 3 interactions stay in train only (``users_train_only``). A target whose
item the user already has in the history it is masked against (re-consumption) is
dropped and counted (``valid_repeat_dropped``/``test_repeat_dropped``): a masked item can
never be ranked. The validation interaction always joins the test-time history.
"""

from __future__ import annotations

import numpy as np

from recplug.data.interactions import Interactions
from recplug.splits._common import assemble, targets_from_rows, user_positions
from recplug.splits.base import Split

PARAMS: dict[str, object] = {}


def split(data: Interactions, *, seed: int = 0) -> Split:
    """Leave-one-out split of ``data`` (``seed`` is recorded; the split is deterministic)."""
    position, count = user_positions(data)
    eligible = count >= 3
    test = eligible & (position == count - 1)
    validation = eligible & (position == count - 2)
    train = ~(test | validation)
    valid_targets, vc = targets_from_rows(data, validation, train)
    test_targets, tc = targets_from_rows(data, test, train | validation)
    rows_per_user = np.bincount(data.users, minlength=data.n_users)
    summary = {
        "users_train_only": int(((rows_per_user > 0) & (rows_per_user < 3)).sum()),
        "valid_repeat_dropped": vc["repeat"],
        "test_repeat_dropped": tc["repeat"],
    }
    return assemble("loo", {"seed": seed}, data, train, validation, valid_targets, test_targets,
                    summary, test=test)
