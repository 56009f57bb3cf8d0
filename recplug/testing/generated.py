"""Small generated datasets with learnable structure and a NumPy HR@K: does a model learn?

``clustered`` (users mostly consume their cluster's items) suits collaborative models,
``chains`` (item t+1 follows item t) sequential ones; ``hit_rate`` scores a fitted model
on the held-out target of each user. recplug's model tests use them; plugins may too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recplug.contract import PAD, FitOptions, ScoreBatch, TrainData
from recplug.data.interactions import Interactions, Vocabulary
from recplug.testing.checks import to_numpy


@dataclass
class Generated:
    train: TrainData
    users: np.ndarray     #: evaluated users (int32)
    targets: np.ndarray   #: one held-out item per evaluated user (int32)


def make_train(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> TrainData:
    """TrainData whose indices equal the given ints (rows already chronological)."""
    inter = Interactions(np.asarray(users, np.int32), np.asarray(items, np.int32),
                         Vocabulary(np.arange(n_users)), Vocabulary(np.arange(n_items)),
                         timestamps=np.arange(len(users), dtype=np.int64))
    return TrainData(inter)


def clustered(seed: int = 0, n_users: int = 300, n_items: int = 120, n_clusters: int = 6,
              per_user: int = 12, noise: float = 0.1) -> Generated:
    """Users belong to clusters and mostly consume their cluster's items.

    Item popularity is skewed inside each cluster, so popularity is a fair but beatable
    baseline. One unseen in-cluster item per user is held out.
    """
    rng = np.random.default_rng(seed)
    cluster_of_item = np.arange(n_items) % n_clusters
    weights = 1.0 / (1.0 + np.arange(n_items) // n_clusters) ** 0.5  # skew inside each cluster
    rows_u, rows_i, targets = [], [], []
    for u in range(n_users):
        c = u % n_clusters
        own = np.flatnonzero(cluster_of_item == c)
        p = weights[own] / weights[own].sum()
        picked = rng.choice(own, size=per_user + 1, replace=False, p=p)
        history, target = picked[:-1], picked[-1]
        n_noise = rng.binomial(per_user, noise)
        others = rng.choice(np.flatnonzero(cluster_of_item != c), size=n_noise, replace=False)
        seq = rng.permutation(np.concatenate([history, others]))
        rows_u.extend([u] * len(seq))
        rows_i.extend(seq.tolist())
        targets.append(target)
    train = make_train(np.array(rows_u), np.array(rows_i), n_users, n_items)
    return Generated(train, np.arange(n_users, dtype=np.int32), np.array(targets, dtype=np.int32))


def chains(seed: int = 0, n_users: int = 300, n_items: int = 60, length: int = 16,
           follow: float = 0.9) -> Generated:
    """Sequences where item t+1 is ``successor[item t]`` with probability ``follow``.

    ``successor`` is one random cycle over all items, so items are equally popular and
    only the order carries signal. The held-out target is the successor of the last item.
    """
    rng = np.random.default_rng(seed)
    cycle = rng.permutation(n_items)
    successor = np.empty(n_items, dtype=np.int64)
    successor[cycle] = np.roll(cycle, -1)
    rows_u, rows_i, targets = [], [], []
    for u in range(n_users):
        item = int(rng.integers(n_items))
        seq = [item]
        for _ in range(length - 1):
            item = int(successor[item]) if rng.random() < follow else int(rng.integers(n_items))
            seq.append(item)
        rows_u.extend([u] * length)
        rows_i.extend(seq)
        targets.append(successor[seq[-1]])
    train = make_train(np.array(rows_u), np.array(rows_i), n_users, n_items)
    gen = Generated(train, np.arange(n_users, dtype=np.int32), np.array(targets, dtype=np.int32))
    gen.successor = successor  # type: ignore[attr-defined]
    return gen


def batch_of(train: TrainData, users: np.ndarray, device: str = "cpu") -> ScoreBatch:
    """ScoreBatch with each user's chronological training sequence, PAD-padded at the end."""
    users = np.asarray(users, dtype=np.int32)
    lengths = (train.seq_indptr[users + 1] - train.seq_indptr[users]).astype(np.int32)
    width = max(int(lengths.max(initial=0)), 1)
    histories = np.full((len(users), width), PAD, dtype=np.int32)
    for row, u in enumerate(users):
        seq = train.sequence(int(u))
        histories[row, :len(seq)] = seq
    return ScoreBatch(users, histories, lengths, train.n_items, device)


def hit_rate(model, gen: Generated, k: int = 10) -> float:
    """HR@k of ``model`` on the held-out targets, training items masked (NumPy)."""
    scores = to_numpy(model.score(batch_of(gen.train, gen.users))).astype(np.float64).copy()
    seen = gen.train.csr[gen.users].toarray() > 0
    scores[seen] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float((top == gen.targets[:, None]).any(axis=1).mean())


def options(seed: int = 0, **kw) -> FitOptions:
    """CPU, one thread, the given seed."""
    return FitOptions(device="cpu", seed=seed, threads=1, **kw)
