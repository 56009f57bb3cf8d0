"""Row filters applied at load time: implicit positives and k-core.

Each filter returns a boolean keep-mask over the rows, so pre-split masks and other
per-row arrays can follow it; :func:`compact` then drops the ids no row uses.
"""

from __future__ import annotations

import numpy as np

from recplug.data.interactions import Interactions, Vocabulary
from recplug.errors import DataError


def min_rating_mask(data: Interactions, min_rating: float) -> np.ndarray:
    """Rows whose rating is >= ``min_rating`` (the implicit positives)."""
    if data.ratings is None:
        raise DataError(f"{data.name}: min_rating={min_rating} needs ratings, but this dataset has "
                        "none (if a column holds them under another name, map it with columns rating=COL); "
                        "or drop min_rating")
    if not np.isfinite(min_rating):
        raise DataError(f"min_rating must be a finite number, got {min_rating!r}")
    return data.ratings >= np.float32(min_rating)


def kcore_mask(data: Interactions, k: int, keep: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Rows left when every user and every item must have >= ``k`` rows, iterated to a fixed point.

    Counts are rows (duplicated pairs count each time, as in RecBole). ``keep`` restricts
    the start to these rows. Returns the mask and the number of rounds that removed rows.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise DataError(f"kcore must be a positive integer, got {k!r}")
    mask = np.ones(len(data), dtype=bool) if keep is None else keep.copy()
    rounds = 0
    while True:
        users, items = data.users[mask], data.items[mask]
        user_ok = np.bincount(users, minlength=data.n_users) >= k
        item_ok = np.bincount(items, minlength=data.n_items) >= k
        ok = user_ok[data.users] & item_ok[data.items]
        new_mask = mask & ok
        if np.array_equal(new_mask, mask):
            return mask, rounds
        mask = new_mask
        rounds += 1


def compact(data: Interactions) -> Interactions:
    """The same rows with vocabularies holding only the ids that occur (first-seen order)."""
    import pandas as pd

    user_codes, user_used = pd.factorize(data.users, sort=False)
    item_codes, item_used = pd.factorize(data.items, sort=False)
    if len(user_used) == data.n_users and len(item_used) == data.n_items \
            and np.array_equal(user_used, np.arange(data.n_users)) \
            and np.array_equal(item_used, np.arange(data.n_items)):
        return data
    return Interactions(user_codes.astype(np.int32), item_codes.astype(np.int32),
                        Vocabulary(data.user_vocab.ids[user_used]),
                        Vocabulary(data.item_vocab.ids[item_used]),
                        data.timestamps, data.ratings, name=data.name)
