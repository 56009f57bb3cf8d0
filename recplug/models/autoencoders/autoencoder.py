"""The deep autoencoder of our documents: user row -> 64 -> 32 -> 64 -> items."""

from __future__ import annotations

from typing import Any

from recplug.models.autoencoders._rows import RowBatch, SparseRows, UserRowModel, dense_stack, row_input_layer
from recplug.training.constraints import Integer, Real
from recplug.training.losses import row_mse


class AutoEncoder(UserRowModel):
    """User row -> input dropout (``dropout``) -> ``width`` -> ``bottleneck`` -> ``width``
    (ReLU after each) -> sigmoid output over the items (64 -> 32 -> 64 by default, the
    documents' network). Loss: the squared error over the whole row, every item equally
    weighted (unobserved ones as 0s), summed over items and averaged over users. Adam.

    Scores are the outputs before the sigmoid for the history row (no dropout), float32
    ``[B, n_items]``.
    """

    parameter_constraints = {
        "width": Integer(1, None, search=(16, 512, "log")),
        "bottleneck": Integer(1, None, search=(8, 256, "log")),
        "dropout": Real(0, 1, closed="left", search=(0.0, 0.8)),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(64, 1024, "log")),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, width: int = 64, bottleneck: int = 32, dropout: float = 0.0, lr: float = 1e-3,
                 batch_size: int = 128, epochs: int = 200, eval_every: int = 5):
        self.width = width
        self.bottleneck = bottleneck
        self.dropout = dropout
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.input = row_input_layer(n_items, int(self.width))
        module.body = dense_stack([int(self.width), int(self.bottleneck), int(self.width), n_items], "relu")
        return module

    def logits(self, sparse: SparseRows) -> Any:
        import torch

        net = self.module_
        return net.body(torch.relu(net.input(sparse.dropped_out(float(self.dropout), net.training))))

    def row_loss(self, batch: RowBatch) -> Any:
        import torch

        return row_mse(torch.sigmoid(self.logits(SparseRows.from_dense(batch.rows))), batch.rows)

    def row_scores(self, users: Any, sparse: SparseRows) -> Any:
        return self.logits(sparse)
