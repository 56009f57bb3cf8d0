"""NeuMF trained one epoch the usual way: NumPy negatives (4 per positive, by rejection),
a shuffled default DataLoader over (user, item, label) examples, BCE on the logits, Adam."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.bench.straight import numpy_negatives
from recplug.contract import TrainData

TARGET = 2.0
PARAMS = {"pretrain": False}
LABEL = "8 factors, tower 64-32-16-8, 4 negatives, batches of 1,024"


def one_epoch(train: TrainData, params: dict[str, Any], *, seed: int, threads: int) -> None:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from recplug.models.ncf.neumf import NeuMF

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    csr = train.csr
    net = NeuMF(**params).build(train.n_users, train.n_items)
    optimizer = torch.optim.Adam(net.parameters(), lr=params["lr"])
    dense = csr.toarray() > 0
    users = np.repeat(np.arange(train.n_users), np.diff(csr.indptr))
    items = csr.indices.astype(np.int64)
    n = params["n_negatives"]
    negative_users = np.repeat(users, n)
    negatives = numpy_negatives(dense, negative_users, rng)
    data = TensorDataset(torch.from_numpy(np.concatenate([users, negative_users])),
                         torch.from_numpy(np.concatenate([items, negatives])),
                         torch.from_numpy(np.concatenate([np.ones(len(users)), np.zeros(len(negatives))])
                                          .astype(np.float32)))
    for u, i, y in DataLoader(data, batch_size=params["batch_size"], shuffle=True):
        optimizer.zero_grad()
        gmf = net.gmf.users(u) * net.gmf.items(i)
        pu, qi = net.mlp.users(u), net.mlp.items(i)
        mlp = net.mlp.tower(torch.cat([pu, qi], dim=1))
        logits = net.out(torch.cat([gmf, mlp], dim=1))[:, 0]
        loss = F.binary_cross_entropy_with_logits(logits, y)
        if params["reg"]:
            rows = (net.gmf.users(u), net.gmf.items(i), pu, qi)
            loss = loss + params["reg"] * sum(r.square().sum() for r in rows) / len(u)
        loss.backward()
        optimizer.step()
        loss.item()
