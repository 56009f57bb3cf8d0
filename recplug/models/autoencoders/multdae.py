"""Mult-DAE: a denoising autoencoder with a multinomial likelihood (Liang et al., WWW 2018)."""

from __future__ import annotations

from typing import Any

from recplug.models.autoencoders._rows import RowBatch, SparseRows, UserRowModel, dense_stack, row_input_layer
from recplug.training.constraints import Integer, Real
from recplug.training.losses import multinomial_nll


class MultDAE(UserRowModel):
    """User row -> L2 normalisation -> input dropout -> ``hidden`` -> ``latent`` -> ``hidden``
    -> logits over the items, tanh between the layers; loss: the multinomial negative
    log-likelihood of the row under the softmax of the logits (mean over users), Adam.

    Paper defaults: ``hidden=600``, ``latent=200``, ``dropout=0.5``, ``batch_size=500``
    users, ``lr=1e-3``. ``epochs`` is the default budget (early stopping may end sooner),
    validated every ``eval_every`` epochs. Scores are the logits of the history row (no
    dropout), float32 ``[B, n_items]``.
    """

    parameter_constraints = {
        "hidden": Integer(1, None, search=(100, 1000, "log")),
        "latent": Integer(1, None, search=(50, 400, "log")),
        "dropout": Real(0, 1, closed="left", search=(0.0, 0.8)),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(64, 1024, "log")),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, hidden: int = 600, latent: int = 200, dropout: float = 0.5, lr: float = 1e-3,
                 batch_size: int = 500, epochs: int = 200, eval_every: int = 5):
        self.hidden = hidden
        self.latent = latent
        self.dropout = dropout
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.input = row_input_layer(n_items, int(self.hidden))
        module.body = dense_stack([int(self.hidden), int(self.latent), int(self.hidden), n_items], "tanh")
        return module

    def logits(self, sparse: SparseRows) -> Any:
        import torch

        net = self.module_
        sparse = sparse.l2_normalized().dropped_out(float(self.dropout), net.training)
        return net.body(torch.tanh(net.input(sparse)))

    def row_loss(self, batch: RowBatch) -> Any:
        return multinomial_nll(self.logits(SparseRows.from_dense(batch.rows)), batch.rows)

    def row_scores(self, users: Any, sparse: SparseRows) -> Any:
        return self.logits(sparse)
