"""What the autoencoders share: user-row batches, the sparse input layer (with input
dropout and L2 normalisation), the dense layer stack, and the row-model skeleton.

A user's row is its ``[n_items]`` interaction vector. Training reads the rows of
``TrainData.csr`` through :func:`~recplug.training.batches.user_row_batches` (one batch
dense at a time); scoring reads the distinct items of each history in the score batch
(validation items join the input at test time). The first layer only touches a row's
nonzero entries (``embedding_bag`` over them), so its cost and memory follow the
interactions, not ``users x items``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from recplug.contract import FitOptions, ScoreBatch, TrainData
from recplug.models._torch import TorchModel
from recplug.training.batches import user_row_batches

#: hidden/output activations the autoencoders accept by name
ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")


def activation(name: str) -> Any:
    """The ``torch.nn`` module of an activation in :data:`ACTIVATIONS`."""
    from torch import nn

    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}[name]()


def squared_norm(*tensors: Any) -> Any:
    """``|t_1|² + |t_2|² + ...`` summed in a fixed order (an L2 penalty that does not depend
    on the thread count)."""
    from recplug.training.determinism import fixed_order_sum

    total = fixed_order_sum(tensors[0].square())
    for t in tensors[1:]:
        total = total + fixed_order_sum(t.square())
    return total


@dataclass
class SparseRows:
    """The nonzero entries of ``n_rows`` user rows, row-major.

    ``rows`` int64 ``[nnz]`` (the row of each entry, sorted), ``items`` int64 ``[nnz]``,
    ``values`` float32 ``[nnz]``.
    """

    n_rows: int
    rows: Any
    items: Any
    values: Any

    @classmethod
    def from_dense(cls, dense: Any) -> "SparseRows":
        """The nonzeros of a dense float ``[B, n_items]`` batch."""
        rows, items = dense.nonzero(as_tuple=True)
        return cls(dense.shape[0], rows, items, dense[rows, items].float())

    @classmethod
    def from_padded(cls, padded: Any) -> "SparseRows":
        """Binary rows of item lists ``[B, L]`` int64 padded with -1 (see :func:`history_inputs`)."""
        import torch

        rows, slots = (padded >= 0).nonzero(as_tuple=True)
        items = padded[rows, slots]
        return cls(padded.shape[0], rows, items, torch.ones(len(items), device=padded.device))

    def with_values(self, values: Any) -> "SparseRows":
        return SparseRows(self.n_rows, self.rows, self.items, values)

    def l2_normalized(self, eps: float = 1e-12) -> "SparseRows":
        """Each row divided by its Euclidean norm (at least ``eps``), as ``F.normalize``."""
        import torch

        squares = torch.zeros(self.n_rows, device=self.values.device).index_add_(0, self.rows, self.values.square())
        return self.with_values(self.values / squares.sqrt().clamp_min(eps)[self.rows])

    def dropped_out(self, p: float, training: bool) -> "SparseRows":
        """Input dropout: each entry zeroed with probability ``p``, survivors scaled by ``1/(1-p)``
        (torch's global generator; the zeros of a row are unaffected either way)."""
        import torch.nn.functional as F

        return self.with_values(F.dropout(self.values, p, training)) if p and training else self

    def offsets(self) -> Any:
        """int64 ``[n_rows]``: where each row's entries start."""
        import torch

        counts = torch.bincount(self.rows, minlength=self.n_rows)
        return torch.cumsum(counts, 0) - counts


def row_input_layer(n_items: int, width: int) -> Any:
    """The first layer ``rows @ W + b`` (``W`` ``[n_items, width]``) computed over the nonzero
    entries only: call it with a :class:`SparseRows`; returns float ``[n_rows, width]``."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class RowInput(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.empty(n_items, width))
            self.bias = nn.Parameter(torch.empty(width))
            nn.init.xavier_uniform_(self.weight)
            nn.init.normal_(self.bias, std=1e-3)

        def forward(self, sparse: SparseRows) -> torch.Tensor:
            out = F.embedding_bag(sparse.items, self.weight, sparse.offsets(),
                                  per_sample_weights=sparse.values, mode="sum")
            return out + self.bias

    return RowInput()


def dense_stack(widths: list[int], hidden_activation: str, last_activation: str = "identity") -> Any:
    """Linear layers ``widths[0] -> widths[1] -> ... -> widths[-1]``, ``hidden_activation``
    after every layer but the last, ``last_activation`` after the last one. Xavier-uniform
    weights and N(0, 0.001²) biases (Liang et al.'s initialisation)."""
    from torch import nn

    layers: list[Any] = []
    for k, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        linear = nn.Linear(fan_in, fan_out)
        nn.init.xavier_uniform_(linear.weight)
        nn.init.normal_(linear.bias, std=1e-3)
        layers += [linear, activation(hidden_activation if k < len(widths) - 2 else last_activation)]
    return nn.Sequential(*layers)


@dataclass
class RowBatch:
    """One training batch: ``users`` int64 ``[b]``, their dense ``rows`` float32 ``[b, n_items]``
    and ``step``, the optimizer steps before this batch (``Trainer.step`` while its loss is computed)."""

    users: Any
    rows: Any
    step: int


def history_inputs(batch: ScoreBatch, device: Any) -> Any:
    """Score inputs: int64 ``[B, 1 + L]``, column 0 the user, then the user's distinct history
    items (``L`` the longest), padded with -1. Rows of item ids, never ``B x n_items``."""
    import torch

    csr = batch.history_csr()
    lengths = np.diff(csr.indptr)
    width = int(lengths.max(initial=0))
    out = np.full((len(batch), 1 + width), -1, dtype=np.int64)
    out[:, 0] = batch.users
    slots = np.arange(width)[None, :] < lengths[:, None]
    out[:, 1:][slots] = csr.indices
    return torch.from_numpy(out).to(device)


class UserRowModel(TorchModel):
    """An autoencoder over user rows: batches of ``batch_size`` shuffled users (every user once
    per epoch), scores from the history rows of the score batch.

    A subclass defines ``build``, ``row_loss(batch: RowBatch)`` (scalar mean loss) and
    ``row_scores(users, sparse: SparseRows)`` (float ``[B, n_items]`` in eval mode; any
    monotone transform of the output, e.g. logits before a sigmoid or softmax).
    """

    def row_loss(self, batch: RowBatch) -> Any:  # pragma: no cover
        raise NotImplementedError

    def row_scores(self, users: Any, sparse: SparseRows) -> Any:  # pragma: no cover
        raise NotImplementedError

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        self._csr = train.csr

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[RowBatch]:
        size = int(self.batch_size)
        per_epoch = math.ceil(self._csr.shape[0] / size)
        batches = user_row_batches(self._csr, size, seed=seed, device=self.device_)
        for k, (users, rows) in enumerate(batches):
            yield RowBatch(users, rows, (epoch - 1) * per_epoch + k)

    def batch_loss(self, batch: RowBatch) -> Any:
        return self.row_loss(batch)

    def score_inputs(self, batch: ScoreBatch) -> Any:
        return history_inputs(batch, self.device_)

    def block_scores(self, inputs: Any) -> Any:
        return self.row_scores(inputs[:, 0], SparseRows.from_padded(inputs[:, 1:])).float()
