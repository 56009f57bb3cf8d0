"""MLP: the multi-layer perceptron of neural collaborative filtering (He et al., WWW 2017, section 3.3)."""

from __future__ import annotations

from typing import Any

from recplug.models.ncf._towers import (LAYERS, SHARED_CONSTRAINTS, PointwiseNCF, mlp_all_items, mlp_branch,
                                        mlp_pairs, output_layer)


class MLP(PointwiseNCF):
    """User and item embeddings concatenated and passed through a ReLU tower that halves
    at every layer, then a linear output layer: ``logit(u, i) = h · tower([p_u, q_i]) + b``,
    trained pointwise (see :class:`PointwiseNCF`) with Adam.

    ``factors`` is the tower's last size (the paper's predictive factors) and ``layers`` the
    number of hidden layers: ``factors=8, layers=3`` gives embeddings of 32 and the tower
    64 -> 32 -> 16 -> 8. Other hyperparameters as for :class:`~recplug.models.ncf.gmf.GMF`.
    Not a factor model; scores (logits) are float32 torch tensors ``[B, n_items]`` on the fit
    device, computed ``ITEM_CHUNK`` items at a time.
    """

    parameter_constraints = {**SHARED_CONSTRAINTS, "layers": LAYERS}

    def __init__(self, factors: int = 16, layers: int = 3, lr: float = 2e-3, reg: float = 0.0,
                 n_negatives: int = 4, batch_size: int = 1024, epochs: int = 100, init_std: float = 0.01,
                 eval_every: int = 1):
        self.factors = factors
        self.layers = layers
        self.lr = lr
        self.reg = reg
        self.n_negatives = n_negatives
        self.batch_size = batch_size
        self.epochs = epochs
        self.init_std = init_std
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.mlp = mlp_branch(n_users, n_items, int(self.factors), int(self.layers), float(self.init_std))
        module.out = output_layer(int(self.factors))
        return module

    def pair_logits(self, users: Any, items: Any) -> tuple[Any, tuple[Any, ...]]:
        hidden, pu, qi = mlp_pairs(self.module_.mlp, users, items)
        return self.module_.out(hidden)[:, 0], (pu, qi)

    def block_scores(self, users: Any) -> Any:
        out = self.module_.out
        return mlp_all_items(self.module_.mlp, users, out.weight[0]) + out.bias
