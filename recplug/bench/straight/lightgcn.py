"""LightGCN trained one epoch the usual way (as the official PyTorch code does): the normalised
adjacency as a torch sparse COO tensor, ``torch.sparse.mm`` per layer, the layers stacked and
averaged, NumPy negatives, a shuffled default DataLoader."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.bench.straight import numpy_negatives
from recplug.contract import TrainData

TARGET = 2.0
PARAMS = {"factors": 64, "layers": 3, "batch_size": 2048}
LABEL = "64 factors, 3 layers, batch=2048"
ALTERNATIVE = "torch.sparse.mm propagation + DataLoader(TensorDataset) + NumPy negatives"


def normalised_adjacency(csr: Any) -> Any:
    """``D^-1/2 [[0, R], [Rᵀ, 0]] D^-1/2`` as a coalesced float32 torch sparse COO tensor."""
    import scipy.sparse as sp
    import torch

    binary = sp.csr_matrix((np.ones(csr.nnz, dtype=np.float32), csr.indices, csr.indptr), shape=csr.shape)
    adjacency = sp.bmat([[None, binary], [binary.T, None]], format="csr")
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    scale = np.zeros_like(degree)
    scale[degree > 0] = degree[degree > 0] ** -0.5
    norm = (sp.diags(scale) @ adjacency @ sp.diags(scale)).tocoo()
    indices = torch.from_numpy(np.vstack([norm.row, norm.col]).astype(np.int64))
    return torch.sparse_coo_tensor(indices, torch.from_numpy(norm.data.astype(np.float32)), norm.shape,
                                   check_invariants=False).coalesce()


def one_epoch(train: TrainData, params: dict[str, Any], *, seed: int, threads: int) -> None:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from recplug.models._factors import user_item_embeddings

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    csr = train.csr
    n_users = train.n_users
    graph = normalised_adjacency(csr)
    users_emb, items_emb = user_item_embeddings(n_users, train.n_items, params["factors"], params["init_std"])
    optimizer = torch.optim.Adam([users_emb.weight, items_emb.weight], lr=params["lr"])
    dense = csr.toarray() > 0
    users = np.repeat(np.arange(n_users), np.diff(csr.indptr))
    negatives = numpy_negatives(dense, users, rng)
    data = TensorDataset(torch.from_numpy(users), torch.from_numpy(csr.indices.astype(np.int64)),
                         torch.from_numpy(negatives))
    for u, i, j in DataLoader(data, batch_size=params["batch_size"], shuffle=True):
        optimizer.zero_grad()
        layer = torch.cat([users_emb.weight, items_emb.weight])
        layers = [layer]
        for _ in range(params["layers"]):
            layer = torch.sparse.mm(graph, layer)
            layers.append(layer)
        final = torch.stack(layers, dim=1).mean(dim=1)
        pu, qi, qj = final[u], final[n_users + i], final[n_users + j]
        loss = -torch.nn.functional.logsigmoid((pu * qi).sum(1) - (pu * qj).sum(1)).mean()
        ego = users_emb(u).square().sum() + items_emb(i).square().sum() + items_emb(j).square().sum()
        loss = loss + params["reg"] * 0.5 * ego / len(u)
        loss.backward()
        optimizer.step()
        loss.item()
