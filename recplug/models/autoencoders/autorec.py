"""U-AutoRec for implicit feedback: AutoRec's user-based network ranking items (Sedhain et al., WWW 2015)."""

from __future__ import annotations

from typing import Any

from recplug.models.autoencoders._rows import (ACTIVATIONS, RowBatch, SparseRows, UserRowModel, activation,
                                               dense_stack, row_input_layer, squared_norm)
from recplug.training.constraints import Integer, Options, Real
from recplug.training.losses import row_mse


class AutoRec(UserRowModel):
    """User row -> ``g(V r + b)`` (``hidden`` units, ``g`` = sigmoid) -> ``f(W h + b')`` over the
    items (``f`` = ``output``, identity by default), as the paper's network. The paper's
    loss counts observed ratings only; on implicit rows every observed entry is 1, so that
    loss is minimised by predicting 1 everywhere. Here the loss is the squared error over the
    whole row with the unobserved (zero) entries weighted by ``unobserved_weight``, plus the
    paper's ``reg/2 · (|W|² + |V|²)``; means over users. Adam.

    Defaults: ``hidden=500`` and the activations as in the paper; ``unobserved_weight=0.1``,
    ``reg`` and ``lr`` are starting values (they pass the ml-100k bars; not tuned further).
    Scores are the outputs before ``f`` for the history row, float32 ``[B, n_items]``.
    """

    parameter_constraints = {
        "hidden": Integer(1, None, search=(50, 1000, "log")),
        "unobserved_weight": Real(0, 1, search=(0.01, 1.0, "log")),
        "output": Options("identity", "sigmoid"),
        "reg": Real(0, None, search=(1e-6, 1e-1, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(64, 1024, "log")),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, hidden: int = 500, unobserved_weight: float = 0.1, output: str = "identity",
                 reg: float = 1e-4, lr: float = 1e-3, batch_size: int = 128, epochs: int = 200,
                 eval_every: int = 5):
        self.hidden = hidden
        self.unobserved_weight = unobserved_weight
        self.output = output
        self.reg = reg
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.input = row_input_layer(n_items, int(self.hidden))
        module.decoder = dense_stack([int(self.hidden), n_items], "identity")
        return module

    def pre_output(self, sparse: SparseRows) -> Any:
        """``W g(V r + b) + b'``, float ``[B, n_items]``."""
        import torch

        net = self.module_
        return net.decoder(torch.sigmoid(net.input(sparse)))

    def row_loss(self, batch: RowBatch) -> Any:
        out = activation(self.output)(self.pre_output(SparseRows.from_dense(batch.rows)))
        loss = row_mse(out, batch.rows, float(self.unobserved_weight))
        if not self.reg:
            return loss
        net = self.module_
        return loss + float(self.reg) / 2 * squared_norm(net.input.weight, net.decoder[0].weight)

    def row_scores(self, users: Any, sparse: SparseRows) -> Any:
        return self.pre_output(sparse)
