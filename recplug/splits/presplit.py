"""Use the train/test partition a dataset ships with (LightGCN ``train.txt``/``test.txt``).

Test targets are each user's distinct test items not in their train + validation rows;
test items the user also has in train (``train_test_overlap``, distinct pairs) are
reported and dropped, because masking makes them unreachable.

The files carry no validation part, so one is carved out for early stopping: for every
user with >= 3 train rows, that user's last train row (in row order, which is file order
for line files) moves to the validation part; its item is the validation target unless
the user has it among the remaining train rows. Models are therefore fitted on slightly
less than the published train file; refit on train + validation (``--refit``) to match
the published protocol exactly.
"""

from __future__ import annotations

import numpy as np

from recplug.data.interactions import Interactions
from recplug.errors import SplitError
from recplug.splits import checks
from recplug.splits._common import assemble, targets_from_rows, user_positions
from recplug.splits.base import Split

PARAMS: dict[str, object] = {}


def split(data: Interactions, *, seed: int = 0,
          predefined: dict[str, np.ndarray] | None = None) -> Split:
    """Pre-split of ``data`` following ``predefined`` train/test row masks."""
    if predefined is None:
        raise SplitError(f"split 'presplit' needs a dataset that ships its own train/test parts "
                         f"(e.g. a folder with train.txt and test.txt); {data.name!r} has none -- "
                         "use loo or temporal")
    train_file = np.asarray(predefined["train"], dtype=bool)
    test = np.asarray(predefined["test"], dtype=bool)
    if train_file.shape != (len(data),) or test.shape != (len(data),):
        raise SplitError("split 'presplit': predefined masks must have one entry per row")
    # last train row of each user with >= 3 train rows -> validation
    train_rows = np.flatnonzero(train_file)
    sub = data.with_rows(train_rows)
    position, count = user_positions(sub)
    moved = train_rows[(count >= 3) & (position == count - 1)]
    validation = np.zeros(len(data), dtype=bool)
    validation[moved] = True
    train = train_file & ~validation
    overlap = checks.overlap_pairs((data.users[train_file], data.items[train_file]),
                                   (data.users[test], data.items[test]), data.n_items)
    valid_targets, vc = targets_from_rows(data, validation, train)
    test_targets, tc = targets_from_rows(data, test, train | validation)
    has_train = np.zeros(data.n_users, dtype=bool)
    has_train[data.users[train_file]] = True
    summary = {
        "train_test_overlap": overlap,
        "validation_moved_from_train": int(len(moved)),
        "valid_repeat_dropped": vc["repeat"],
        "test_repeat_dropped": tc["repeat"],
        "test_users_without_train": int((~has_train[test_targets.users()]).sum()),
        "rows_in_neither_part": int((~(train_file | test)).sum()),
    }
    return assemble("presplit", {"seed": seed}, data, train, validation, valid_targets,
                    test_targets, summary, test=test)
