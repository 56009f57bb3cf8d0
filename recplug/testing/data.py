"""Tiny generated data for the conformance kit (and for plugin authors' own tests).

The data are small enough to fit any model in well under a second, yet have structure a
model can learn: items form clusters, each user walks through one cluster in order (item
``i`` is followed by ``i + 1``), with some noise. Like a temporal split, they contain one
user with no interaction at all and one item nobody interacted with.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from recplug.contract import PAD, ScoreBatch, TrainData
from recplug.data.interactions import Interactions, Vocabulary
from recplug.errors import ConfigError

N_USERS = 30
N_ITEMS = 40
N_CLUSTERS = 4
DATA_SEED = 7
T0 = 1_600_000_000  #: first timestamp (Unix seconds)
DAY = 86_400


def tiny_interactions(seed: int = DATA_SEED, n_users: int = N_USERS, n_items: int = N_ITEMS,
                      *, n_clusters: int = N_CLUSTERS) -> Interactions:
    """Chronological interactions of ``n_users`` x ``n_items`` with timestamps and ratings.

    Users ``0 .. n_users-3`` have 4 to 12 interactions, user ``n_users-2`` exactly one,
    user ``n_users-1`` none; item ``n_items-1`` is never interacted with. Timestamps are
    Unix seconds, one to three days apart per user; ratings (float32, 1-5) are high
    inside the user's cluster and low for noise items. Raw ids equal indices.
    """
    if n_users < 3 or n_items < n_clusters + 1:
        raise ConfigError(f"tiny_interactions needs n_users >= 3 and n_items >= n_clusters + 1, "
                         f"got n_users={n_users}, n_items={n_items}, n_clusters={n_clusters}")
    rng = np.random.default_rng(seed)
    clusters = np.array_split(np.arange(n_items - 1), n_clusters)  # last item stays cold
    lengths = rng.integers(4, 13, size=n_users)
    lengths[-2], lengths[-1] = 1, 0
    users, items, times, ratings = [], [], [], []
    for user, length in enumerate(lengths):
        cluster = clusters[user % n_clusters]
        walk = cluster[(rng.integers(len(cluster)) + np.arange(length)) % len(cluster)]
        noisy = rng.random(length) < 0.15
        walk = np.where(noisy, rng.integers(0, n_items - 1, size=length), walk)
        days = rng.integers(0, 30) + np.cumsum(rng.integers(1, 4, size=length))
        users.append(np.full(length, user))
        items.append(walk)
        times.append(T0 + days * DAY + rng.integers(0, DAY, size=length))
        ratings.append(np.where(noisy, rng.integers(1, 3, size=length), rng.integers(4, 6, size=length)))
    u, i, t, r = (np.concatenate(a) for a in (users, items, times, ratings))
    order = np.argsort(t, kind="stable")
    return Interactions(u[order].astype(np.int32), i[order].astype(np.int32),
                        Vocabulary(np.arange(n_users)), Vocabulary(np.arange(n_items)),
                        t[order].astype(np.int64), r[order].astype(np.float32), name="recplug-tiny")


def tiny_train(seed: int = DATA_SEED, n_users: int = N_USERS, n_items: int = N_ITEMS) -> TrainData:
    """:class:`~recplug.contract.TrainData` over :func:`tiny_interactions`."""
    return TrainData(tiny_interactions(seed, n_users, n_items))


def make_batch(users: Sequence[int], histories: Sequence[Sequence[int]], n_items: int,
               device: str = "cpu") -> ScoreBatch:
    """A :class:`~recplug.contract.ScoreBatch` exactly as the contract lays it out.

    Each history is given oldest first; rows are padded at the end with ``PAD`` (-1) to the
    longest history, as the evaluator's batches are: a batch whose histories are all empty
    is ``[B, 0]``.
    """
    if len(users) != len(histories):
        raise ConfigError(f"make_batch got {len(users)} users but {len(histories)} histories")
    lengths = np.array([len(h) for h in histories], dtype=np.int32)
    width = int(lengths.max(initial=0))
    padded = np.full((len(users), width), PAD, dtype=np.int32)
    for row, history in enumerate(histories):
        padded[row, :len(history)] = np.asarray(history, dtype=np.int32)
    return ScoreBatch(users=np.asarray(users, dtype=np.int32), histories=padded, lengths=lengths,
                      n_items=n_items, device=device)


def train_batch(train: TrainData, users: Sequence[int] | None = None,
                device: str = "cpu") -> ScoreBatch:
    """Score batch of ``users`` (default: every user with a training history) whose
    histories are their training sequences."""
    if users is None:
        sizes = np.diff(train.seq_indptr)
        users = np.flatnonzero(sizes > 0).tolist()
    return make_batch(users, [train.sequence(u) for u in users], train.n_items, device)
