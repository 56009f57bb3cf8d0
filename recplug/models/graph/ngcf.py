"""NGCF, Neural Graph Collaborative Filtering (Wang et al., SIGIR 2019)."""

from __future__ import annotations

from typing import Any

from recplug.models._factors import user_item_embeddings
from recplug.models.graph._base import GraphModel
from recplug.training.constraints import Integer, Real
from recplug.training.losses import l2_batch
from recplug.training.propagation import SparseGraph, propagate


class NGCF(GraphModel):
    """Embedding propagation with the bi-interaction term, layer by layer (paper eq. 7)::

        S = L E^(l-1)                          (L = D^-1/2 A D^-1/2, the C++ kernel)
        E^(l) = LeakyReLU_0.2( W1 (S + E^(l-1)) + W2 (S ⊙ E^(l-1)) )   (W1, W2 with bias)

    then message dropout on ``E^(l)`` (rate ``mess_dropout``) and row-wise L2 normalisation;
    the final vectors concatenate ``E^(0)`` and the normalised ``E^(1..K)`` (width
    ``factors · (layers + 1)``) and are scored by dot product (declared factors). Node
    dropout (rate ``node_dropout``) follows the paper: each step a node is blocked with that
    probability and all of its outgoing messages dropped (its row of ``E^(l-1)`` is zeroed
    in the product ``L E``, the others scaled by ``1 / (1 - rate)``), instead of the official
    code's per-edge dropout of ``L``, so the kernel propagates the one fixed matrix.

    Loss (the official PyTorch code's): ``bpr_loss + reg · ½ (|e_u|² + |e_i|² + |e_j|²) / B`` on
    the batch's final vectors, Adam. Defaults from the official code: 64-dim, 3 layers of 64,
    lr 1e-4, reg 1e-5, batch 1024, dropout 0.1 (node and message), Xavier-uniform weights.
    """

    parameter_constraints = {
        "factors": Integer(1, None, search=(16, 256, "log")),
        "layers": Integer(0, None, search=(1, 4)),
        "lr": Real(0, None, closed="neither", search=(1e-5, 1e-2, "log")),
        "reg": Real(0, None, search=(1e-7, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(256, 8192, "log")),
        "node_dropout": Real(0, 1, closed="left", search=(0.0, 0.5)),
        "mess_dropout": Real(0, 1, closed="left", search=(0.0, 0.5)),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, factors: int = 64, layers: int = 3, lr: float = 1e-4, reg: float = 1e-5,
                 batch_size: int = 1024, node_dropout: float = 0.1, mess_dropout: float = 0.1,
                 epochs: int = 400, eval_every: int = 10):
        self.factors = factors
        self.layers = layers
        self.lr = lr
        self.reg = reg
        self.batch_size = batch_size
        self.node_dropout = node_dropout
        self.mess_dropout = mess_dropout
        self.epochs = epochs
        self.eval_every = eval_every

    def output_size(self) -> int:
        return int(self.factors) * (int(self.layers) + 1)

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.users, module.items = torch.nn.Embedding(n_users, self.factors), torch.nn.Embedding(n_items, self.factors)
        torch.nn.init.xavier_uniform_(module.users.weight)
        torch.nn.init.xavier_uniform_(module.items.weight)
        size = int(self.factors)
        module.sum_maps = torch.nn.ModuleList(torch.nn.Linear(size, size) for _ in range(int(self.layers)))
        module.bi_maps = torch.nn.ModuleList(torch.nn.Linear(size, size) for _ in range(int(self.layers)))
        for linear in [*module.sum_maps, *module.bi_maps]:
            torch.nn.init.xavier_uniform_(linear.weight)
            torch.nn.init.zeros_(linear.bias)
        return self.add_outputs(module, n_users, n_items)

    def embeddings(self, graph: SparseGraph) -> tuple[Any, Any]:
        import torch
        import torch.nn.functional as F

        module = self.module_
        ego = torch.cat([module.users.weight, module.items.weight])
        layers = [ego]
        for sum_map, bi_map in zip(module.sum_maps, module.bi_maps):
            sent = ego
            if self.node_dropout and module.training:  # block whole nodes: one draw per row
                keep = (torch.rand(len(ego), 1, device=ego.device) >= float(self.node_dropout)).to(ego.dtype)
                sent = ego * keep / (1.0 - float(self.node_dropout))
            side = propagate(graph, sent)
            ego = F.leaky_relu(sum_map(side + ego) + bi_map(side * ego), negative_slope=0.2)
            ego = F.dropout(ego, float(self.mess_dropout), module.training)
            layers.append(F.normalize(ego, p=2, dim=1))
        out = torch.cat(layers, dim=1)
        n_users = self.shapes_["n_users"]
        return out[:n_users], out[n_users:]

    def penalty(self, users: Any, pos: Any, neg: Any, rows: tuple[Any, Any, Any]) -> Any:
        return 0.5 * float(self.reg) * l2_batch(*rows) if self.reg else 0.0
