"""SASRec trained one epoch the usual way: NumPy negatives per position, a default DataLoader."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.bench.straight import numpy_negatives
from recplug.contract import TrainData

TARGET = 1.0  # compute-bound: the epoch is the same attention compute either way
PARAMS = {"max_len": 200, "hidden": 50, "batch_size": 128, "loss": "bce"}
LABEL = "max_len 200, hidden 50, bce, batch=128"


def one_epoch(train: TrainData, params: dict[str, Any], *, seed: int, threads: int) -> None:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from recplug.models.sequential.sasrec import SASRec
    from recplug.training.sequences import next_item_windows

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = SASRec(**params).build(train.n_users, train.n_items)
    optimizer = torch.optim.Adam(net.parameters(), lr=params["lr"], betas=(0.9, 0.98))
    row_users, inputs, targets = next_item_windows(train.seq_indptr, train.seq_items, params["max_len"])
    dense = train.csr.toarray() > 0
    valid = targets != 0
    negatives = np.zeros_like(targets)
    negatives[valid] = numpy_negatives(dense, np.broadcast_to(row_users[:, None], targets.shape)[valid], rng) + 1
    data = TensorDataset(torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(negatives))
    for seqs, pos, neg in DataLoader(data, batch_size=params["batch_size"], shuffle=True):
        optimizer.zero_grad()
        h = net(seqs)
        mask = pos != 0
        pos_logit = (h[mask] * net.items(pos[mask])).sum(-1)
        neg_logit = (h[mask] * net.items(neg[mask])).sum(-1)
        loss = (F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit))
                + F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit)))
        loss.backward()
        optimizer.step()
        loss.item()
