"""Beauty-shaped synthetic sequences for the sequence models' training benchmarks."""

from __future__ import annotations

import numpy as np

from recplug.contract import TrainData
from recplug.data.interactions import Interactions, Vocabulary


def beauty_shaped(n_users: int = 22_363, n_items: int = 12_101, interactions: int = 198_502,
                  seed: int = 0) -> TrainData:
    """Synthetic sequences shaped like Amazon Beauty (S3-Rec's file): at least 5 items per user,
    a long tail of active users (at most 200 items), Zipf-like item popularity, items drawn
    with replacement in a random order."""
    rng = np.random.default_rng(seed)
    extra = rng.lognormal(mean=0.0, sigma=1.2, size=n_users)
    counts = 5 + np.minimum(extra / extra.sum() * (interactions - 5 * n_users), 195).astype(np.int64)
    popularity = rng.permutation(1.0 / np.arange(1, n_items + 1) ** 0.8)
    items = rng.choice(n_items, size=int(counts.sum()), p=popularity / popularity.sum()).astype(np.int32)
    users = np.repeat(np.arange(n_users, dtype=np.int32), counts)
    return TrainData(Interactions(users, items, Vocabulary(np.arange(n_users)), Vocabulary(np.arange(n_items)),
                                  timestamps=np.arange(len(users), dtype=np.int64)))
