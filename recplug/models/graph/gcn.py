"""A graph convolutional network over the user-item graph, with neighbour mean aggregation."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.contract import TrainData
from recplug.models._factors import user_item_embeddings
from recplug.models.graph._base import GraphModel
from recplug.training.constraints import Integer, Real
from recplug.training.losses import l2_batch
from recplug.training.propagation import SparseGraph, propagate


def mean_aggregation(csr: Any, *, threads: int = 0) -> SparseGraph:
    """``D̃^-1 Ã`` for ``Ã = [[0, R], [Rᵀ, 0]] + I`` (R the binary user x item CSR): row ``v`` averages
    node ``v`` and its neighbours (users ``0..U-1``, item ``i`` is node ``U + i``). Not
    symmetric: the backward uses its transpose, built once."""
    import scipy.sparse as sp

    n_users, n_items = csr.shape
    binary = sp.csr_matrix((np.ones(csr.nnz, dtype=np.float32), csr.indices, csr.indptr), shape=csr.shape)
    adjacency = sp.bmat([[None, binary], [binary.T, None]], format="csr") + sp.eye(n_users + n_items, format="csr")
    adjacency.data[:] = 1.0  # a repeated pair counts once
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    return SparseGraph.from_scipy(sp.diags((1.0 / degree).astype(np.float32)) @ adjacency, threads=threads)


class GCN(GraphModel):
    """Learned node embeddings ``H⁰`` through ``layers`` graph convolutions
    ``H^(l) = σ(M H^(l-1) W_l + b_l)``, ``M = D̃^-1 (A + I)`` the mean over a node and its
    neighbours, ``σ`` ReLU between layers and the identity after the last (so scores can be
    negative); the last layer's user and item rows are the factors, scored by dot product.

    Loss: ``bpr_loss + reg · (|h⁰_u|² + |h⁰_i|² + |h⁰_j|²) / B`` (L2 on the batch's input
    embeddings) plus ``reg · Σ_l |W_l|²``, Adam. Hyperparameters: ``factors`` (embedding and
    layer width), ``layers`` (2 by default), ``lr``, ``reg``, ``batch_size``, ``epochs``,
    ``init_std``, ``eval_every``; not tuned beyond the ml-100k validation checks in the README.
    """

    parameter_constraints = {
        "factors": Integer(1, None, search=(16, 256, "log")),
        "layers": Integer(1, None, search=(1, 3)),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "reg": Real(0, None, search=(1e-6, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(256, 8192, "log")),
        "epochs": Integer(1, None),
        "init_std": Real(0, None, closed="neither", search=(1e-3, 0.3, "log")),
        "eval_every": Integer(1, None),
    }

    def __init__(self, factors: int = 64, layers: int = 2, lr: float = 1e-3, reg: float = 1e-4,
                 batch_size: int = 2048, epochs: int = 400, init_std: float = 0.1, eval_every: int = 10):
        self.factors = factors
        self.layers = layers
        self.lr = lr
        self.reg = reg
        self.batch_size = batch_size
        self.epochs = epochs
        self.init_std = init_std
        self.eval_every = eval_every

    def output_size(self) -> int:
        return int(self.factors)

    def make_graph(self, train: TrainData, threads: int) -> SparseGraph:
        return mean_aggregation(train.csr, threads=threads)

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.users, module.items = user_item_embeddings(n_users, n_items, self.factors, self.init_std)
        size = int(self.factors)
        module.maps = torch.nn.ModuleList(torch.nn.Linear(size, size) for _ in range(int(self.layers)))
        return self.add_outputs(module, n_users, n_items)

    def embeddings(self, graph: SparseGraph) -> tuple[Any, Any]:
        import torch

        hidden = torch.cat([self.module_.users.weight, self.module_.items.weight])
        for depth, linear in enumerate(self.module_.maps, start=1):
            hidden = linear(propagate(graph, hidden))
            if depth < len(self.module_.maps):
                hidden = torch.relu(hidden)
        n_users = self.shapes_["n_users"]
        return hidden[:n_users], hidden[n_users:]

    def penalty(self, users: Any, pos: Any, neg: Any, rows: tuple[Any, Any, Any]) -> Any:
        if not self.reg:
            return 0.0
        from recplug.training.determinism import fixed_order_sum

        module = self.module_
        weights = sum(fixed_order_sum(linear.weight.square()) for linear in module.maps)
        return float(self.reg) * (l2_batch(module.users(users), module.items(pos), module.items(neg)) + weights)
