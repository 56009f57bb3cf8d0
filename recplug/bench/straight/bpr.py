"""BPR trained one epoch the usual way: NumPy negatives, a shuffled default DataLoader."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.bench.straight import numpy_negatives
from recplug.contract import TrainData

TARGET = 2.0
PARAMS = {"factors": 64, "batch_size": 1024}
LABEL = "64 factors, batch=1024"


def one_epoch(train: TrainData, params: dict[str, Any], *, seed: int, threads: int) -> None:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from recplug.models.mf.bpr import BPR

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    csr = train.csr
    module = BPR(**params).build(train.n_users, train.n_items)
    optimizer = torch.optim.Adam(module.parameters(), lr=params["lr"])
    dense = csr.toarray() > 0
    users = np.repeat(np.arange(train.n_users), np.diff(csr.indptr))
    negatives = numpy_negatives(dense, users, rng)
    data = TensorDataset(torch.from_numpy(users), torch.from_numpy(csr.indices.astype(np.int64)),
                         torch.from_numpy(negatives))
    for u, i, j in DataLoader(data, batch_size=params["batch_size"], shuffle=True):
        optimizer.zero_grad()
        pu, qi, qj = module.users(u), module.items(i), module.items(j)
        loss = -torch.nn.functional.logsigmoid((pu * (qi - qj)).sum(1)).mean()
        loss = loss + params["reg"] * (pu.square().sum() + qi.square().sum() + qj.square().sum()) / len(u)
        loss.backward()
        optimizer.step()
        loss.item()
