"""LightGCN (He et al., SIGIR 2020): linear propagation over the normalised user-item graph."""

from __future__ import annotations

from typing import Any

from recplug.models._factors import user_item_embeddings
from recplug.models.graph._base import GraphModel
from recplug.training.constraints import Boolean, Integer, Real
from recplug.training.losses import l2_batch
from recplug.training.propagation import SparseGraph, propagate_layers, propagate_layers_unfused


class LightGCN(GraphModel):
    """Ego embeddings ``E⁰`` propagated ``layers`` times over ``Â = D^-1/2 A D^-1/2`` (no feature
    transform, no non-linearity); the final vectors are the mean of layers 0..K,
    ``E = (E⁰ + ÂE⁰ + ... + Â^K E⁰) / (K + 1)``, scored by dot product (declared factors).

    Loss per batch (the official code's): ``bpr_loss + reg · ½ (|e⁰_u|² + |e⁰_i|² + |e⁰_j|²) / B``,
    the L2 on the batch's ego embeddings, optimised with Adam. The whole graph is propagated
    once per step by the C++ kernel (:func:`~recplug.training.propagation.propagate_layers`,
    all layers and their mean in one operation; ``fused=False`` chains one autograd
    product per layer instead, same numbers up to float rounding). Defaults are the paper's
    (64-dim, 3 layers, lr 1e-3, reg 1e-4, batch 2048, N(0, 0.1²) initialisation); ``epochs``
    is the default budget (the official runs train 1000), ``eval_every`` the epochs between
    validations.
    """

    parameter_constraints = {
        "factors": Integer(1, None, search=(16, 256, "log")),
        "layers": Integer(0, None, search=(1, 4)),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "reg": Real(0, None, search=(1e-6, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(512, 16384, "log")),
        "epochs": Integer(1, None),
        "init_std": Real(0, None, closed="neither", search=(1e-3, 0.3, "log")),
        "eval_every": Integer(1, None),
        "fused": Boolean(),
    }

    def __init__(self, factors: int = 64, layers: int = 3, lr: float = 1e-3, reg: float = 1e-4,
                 batch_size: int = 2048, epochs: int = 1000, init_std: float = 0.1, eval_every: int = 10,
                 fused: bool = True):
        self.factors = factors
        self.layers = layers
        self.lr = lr
        self.reg = reg
        self.batch_size = batch_size
        self.epochs = epochs
        self.init_std = init_std
        self.eval_every = eval_every
        self.fused = fused

    def output_size(self) -> int:
        return int(self.factors)

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.users, module.items = user_item_embeddings(n_users, n_items, self.factors, self.init_std)
        return self.add_outputs(module, n_users, n_items)

    def embeddings(self, graph: SparseGraph) -> tuple[Any, Any]:
        import torch

        ego = torch.cat([self.module_.users.weight, self.module_.items.weight])
        weights = [1.0 / (int(self.layers) + 1)] * (int(self.layers) + 1)
        combine = propagate_layers if self.fused else propagate_layers_unfused
        out = combine(graph, ego, weights)
        return out[:self.shapes_["n_users"]], out[self.shapes_["n_users"]:]

    def penalty(self, users: Any, pos: Any, neg: Any, rows: tuple[Any, Any, Any]) -> Any:
        if not self.reg:
            return 0.0
        ego = l2_batch(self.module_.users(users), self.module_.items(pos), self.module_.items(neg))
        return 0.5 * float(self.reg) * ego
