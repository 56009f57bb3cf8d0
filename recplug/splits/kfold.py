"""K-fold cross-validation of ratings, as Surprise's ``KFold`` (DESIGN.md §4).

The rows are shuffled with ``numpy.random.default_rng(seed)`` and cut into ``folds``
consecutive parts of the shuffled order (the first ``n % folds`` parts one row longer), so
every row is in exactly one test fold. Fold ``fold`` (0-based) is the test part; the other
folds are the *training fold*.

The training fold is itself split for early stopping: a seeded ``validation`` fraction of
it (``default_rng([seed, fold])``; default 0.1) is ``split.validation``, the rest is
``split.train``. Validation never comes from the test fold. The whole training fold is
``split.history("test")``: refit on it (``--refit``) to train on exactly what Surprise's
``cross_validate`` trains on; ``validation=0`` leaves no validation (``split.train`` is then
the whole training fold and early stopping is off).

Ranking targets are derived as in ``ratio`` (distinct test items new to their user), so the
split passes the same leakage checks; the rating task reads the rows themselves
(``split.rows("test")``, every rating).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.data.interactions import Interactions
from recplug.errors import DataError, SplitError
from recplug.splits._common import assemble, targets_from_rows
from recplug.splits.base import Split

PARAMS: dict[str, object] = {"folds": 5, "fold": 0, "validation": 0.1}


def check_params(folds: Any = 5, fold: Any = 0, validation: Any = 0.1) -> tuple[int, int, float]:
    """The parameters checked: SplitError naming the one out of range."""
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise SplitError(f"folds must be an integer >= 2 (the number of cross-validation folds), "
                         f"got {folds!r}")
    if isinstance(fold, bool) or not isinstance(fold, (int, np.integer)) or not 0 <= fold < folds:
        raise SplitError(f"fold must be an integer in 0..{folds - 1} (which of the {folds} folds is "
                         f"the test part), got {fold!r}")
    try:
        fraction = float(validation)
    except (TypeError, ValueError):
        fraction = float("nan")
    if isinstance(validation, bool) or not 0.0 <= fraction < 1.0:
        raise SplitError(f"validation must be a fraction in [0, 1) of the training fold held out for "
                         f"early stopping (0 = none), got {validation!r}")
    return int(folds), int(fold), fraction


def fold_of_rows(n: int, folds: int, seed: int) -> np.ndarray:
    """int64 ``[n]``: the test fold of each row (Surprise's ``KFold`` cut of a seeded shuffle)."""
    order = np.random.default_rng(seed).permutation(n)
    sizes = np.full(folds, n // folds, dtype=np.int64)
    sizes[:n % folds] += 1
    label = np.empty(n, dtype=np.int64)
    label[order] = np.repeat(np.arange(folds), sizes)
    return label


def check_ratings(data: Interactions, needed_by: str) -> None:
    """DataError unless every row of ``data`` has a finite rating; ``needed_by`` names what
    needs them (``"split 'kfold'"``, ``"task 'rating'"``)."""
    if data.ratings is None:
        raise DataError(f"{needed_by} needs ratings, but {data.name!r} has none (if a column holds "
                        "them under another name, map it with columns rating=COL; min_rating keeps "
                        "the ratings of the rows it keeps); rank its interactions with the ranking "
                        "task and loo, ratio or temporal instead")
    bad = ~np.isfinite(data.ratings)
    if bad.any():
        raise DataError(f"{data.name!r}: {int(bad.sum())} rating(s) are NaN or infinite (first at row "
                        f"{int(np.flatnonzero(bad)[0])}); ratings must be finite numbers")


def split(data: Interactions, *, seed: int = 0, folds: int = 5, fold: int = 0,
          validation: float = 0.1) -> Split:
    """Fold ``fold`` of a seeded ``folds``-fold cut of ``data``'s ratings (see module doc)."""
    folds, fold, validation = check_params(folds, fold, validation)
    check_ratings(data, "split 'kfold'")
    n = len(data)
    if n < folds:
        raise SplitError(f"split 'kfold' of {data.name!r}: {n} rating(s) cannot make {folds} folds; "
                         "use fewer folds")
    test = fold_of_rows(n, folds, seed) == fold
    training_rows = np.flatnonzero(~test)
    n_valid = int(round(validation * len(training_rows)))
    held = np.random.default_rng([seed, fold]).permutation(len(training_rows))[:n_valid]
    valid = np.zeros(n, dtype=bool)
    valid[training_rows[held]] = True
    train = ~test & ~valid
    valid_targets, vc = targets_from_rows(data, valid, train)
    test_targets, tc = targets_from_rows(data, test, train | valid)
    summary = {
        "valid_repeat_dropped": vc["repeat"],
        "test_repeat_dropped": tc["repeat"],
    }
    params = {"seed": seed, "folds": folds, "fold": fold, "validation": validation}
    return assemble("kfold", params, data, train, valid, valid_targets, test_targets, summary,
                    test=test)
