"""Item2Vec trained one epoch the usual way: skip-gram pairs built in Python loops,
popularity negatives drawn with NumPy (rejected while they hit the user's items), a
shuffled default DataLoader; the same network, loss, batch size and Adam as ``Item2Vec``."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.contract import TrainData
from recplug.models.embeddings.item2vec import keep_probabilities

TARGET = 2.0
ALTERNATIVE = "Python-built pairs + NumPy negatives + torch DataLoader(TensorDataset)"
LABEL = "the defaults: 64 factors, window 10, 5 negatives, batch=1024"


def python_pairs(train: TrainData, window: int | None, keep: np.ndarray, rng: np.random.Generator
                 ) -> tuple[list[int], list[int], list[int]]:
    """(users, centers, contexts) of one epoch: subsampled sequences, pairs within ``window``."""
    users: list[int] = []
    centers: list[int] = []
    contexts: list[int] = []
    for u in range(train.n_users):
        seq = [int(i) for i in train.sequence(u) if rng.random() < keep[i]]
        for p, center in enumerate(seq):
            low = 0 if window is None else max(0, p - window)
            high = len(seq) if window is None else min(len(seq), p + window + 1)
            for q in range(low, high):
                if q != p:
                    users.append(u)
                    centers.append(center)
                    contexts.append(seq[q])
    return users, centers, contexts


def popularity_negatives(dense_positives: np.ndarray, users: np.ndarray, n: int, q: np.ndarray,
                         rng: np.random.Generator) -> np.ndarray:
    """``n`` draws per row from ``q``, redrawn while they hit a positive of the row's user."""
    negatives = rng.choice(len(q), size=(len(users), n), p=q)
    bad = dense_positives[users[:, None], negatives]
    while bad.any():
        negatives[bad] = rng.choice(len(q), size=int(bad.sum()), p=q)
        bad = dense_positives[users[:, None], negatives]
    return negatives


def one_epoch(train: TrainData, params: dict[str, Any], *, seed: int, threads: int) -> None:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from recplug.models.embeddings.item2vec import Item2Vec

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    module = Item2Vec(**params).build(train.n_users, train.n_items)
    optimizer = torch.optim.Adam(module.parameters(), lr=params["lr"])
    keep = keep_probabilities(np.bincount(train.seq_items, minlength=train.n_items), params["subsample"])
    users, centers, contexts = python_pairs(train, params["window"], keep, rng)
    weights = train.item_user_counts().astype(np.float64) ** params["neg_alpha"] * (train.item_user_counts() > 0)
    dense = train.csr.toarray() > 0
    negatives = popularity_negatives(dense, np.array(users), params["negatives"], weights / weights.sum(), rng)
    data = TensorDataset(torch.tensor(centers), torch.tensor(contexts), torch.from_numpy(negatives))
    for c, o, neg in DataLoader(data, batch_size=params["batch_size"], shuffle=True):
        optimizer.zero_grad()
        u = module.inputs(c)
        logits = (u[:, None, :] * module.outputs(torch.cat([o[:, None], neg], dim=1))).sum(-1)
        labels = torch.zeros_like(logits)
        labels[:, 0] = 1.0
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        loss.backward()
        optimizer.step()
        loss.item()
