"""CDAE: collaborative denoising autoencoder with a user-specific input node (Wu et al., WSDM 2016)."""

from __future__ import annotations

from typing import Any

from recplug.models.autoencoders._rows import (ACTIVATIONS, RowBatch, SparseRows, UserRowModel, dense_stack, row_input_layer,
                                               activation, squared_norm)
from recplug.training.constraints import Integer, Options, Real
from recplug.training.losses import row_bce


class CDAE(UserRowModel):
    """Corrupted user row ỹ (each entry dropped with probability ``corruption``, survivors
    scaled by ``1/(1-corruption)``) -> ``h = a(W ỹ + V_u + b)`` with ``V_u`` the user's own
    ``hidden``-sized node and ``a`` the ``activation`` (sigmoid, the paper's) -> logits
    ``W' h + b'`` over the items, sigmoid output. Loss: the log loss over the whole row (every unobserved item a negative; the paper samples negatives only
    to save time, which full rows do not need) + ``reg`` · (|W|² + |W'|² + |V_u|² of the batch)/2,
    means over users. Adam.

    Defaults: sigmoid mappings as in the paper; ``hidden=200`` and ``lr=5e-3`` from ml-100k's
    validation split (with the paper's 50 units, or lr 1e-3, validation NDCG@10 stayed at
    popularity's level until early stopping). Scores are the logits of the uncorrupted
    history row, float32 ``[B, n_items]``.
    """

    parameter_constraints = {
        "hidden": Integer(1, None, search=(16, 512, "log")),
        "corruption": Real(0, 1, closed="left", search=(0.0, 0.8)),
        "activation": Options(*ACTIVATIONS),
        "reg": Real(0, None, search=(1e-6, 1e-1, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(64, 1024, "log")),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, hidden: int = 200, corruption: float = 0.5, activation: str = "sigmoid",
                 reg: float = 1e-4, lr: float = 5e-3, batch_size: int = 128, epochs: int = 200, eval_every: int = 5):
        self.hidden = hidden
        self.corruption = corruption
        self.activation = activation
        self.reg = reg
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.input = row_input_layer(n_items, int(self.hidden))
        module.users = torch.nn.Embedding(n_users, int(self.hidden))
        torch.nn.init.normal_(module.users.weight, std=1e-2)
        module.output = dense_stack([int(self.hidden), n_items], "identity")
        return module

    def logits(self, users: Any, sparse: SparseRows) -> tuple[Any, Any]:
        """Logits ``[B, n_items]`` and the user nodes ``[B, hidden]`` used."""
        import torch

        net = self.module_
        nodes = net.users(users)
        sparse = sparse.dropped_out(float(self.corruption), net.training)
        return net.output(activation(self.activation)(net.input(sparse) + nodes)), nodes

    def row_loss(self, batch: RowBatch) -> Any:
        logits, nodes = self.logits(batch.users, SparseRows.from_dense(batch.rows))
        loss = row_bce(logits, batch.rows)
        if not self.reg:
            return loss
        net = self.module_
        return loss + float(self.reg) / 2 * squared_norm(net.input.weight, net.output[0].weight, nodes)

    def row_scores(self, users: Any, sparse: SparseRows) -> Any:
        return self.logits(users, sparse)[0]
