"""The RNN recommender: item embeddings -> a GRU or LSTM over the history -> its last state
-> item scores by dot product with the item embeddings."""

from __future__ import annotations

from typing import Any

from recplug.models.sequential._encoder import LOSSES, SequenceEncoderModel, item_table
from recplug.training.constraints import Integer, Options, Real

CELLS = ("gru", "lstm")


def recurrent_states(rnn: Any, embedded: Any, seqs: Any) -> Any:
    """A ``batch_first`` torch RNN run over left-padded histories as if the padding were absent.

    ``embedded [B, L, e]`` are the embeddings of ``seqs`` (int64 ``[B, L]``, 0 = left padding);
    returns ``[B, L, h]`` where position ``t`` holds the state after the items up to ``t``
    (padding positions hold unused values). The rows are moved to right padding (the RNN
    starts from a zero state at each row's first item); in training, columns that are
    padding in every row are dropped first (same values, less work); in evaluation every
    block keeps its full shape, so a row's states never depend on the rows beside it.
    """
    import torch

    length = seqs.shape[1]
    lengths = (seqs != 0).sum(1)
    steps = torch.arange(length, device=seqs.device)
    to_right = (steps[None, :] + (length - lengths)[:, None]) % length
    x = embedded.gather(1, to_right[..., None].expand_as(embedded))
    if rnn.training:
        x = x[:, :max(int(lengths.max()), 1)]
    out, _ = rnn(x)
    if out.shape[1] < length:
        out = torch.cat([out, out.new_zeros(out.shape[0], length - out.shape[1], out.shape[2])], 1)
    to_left = (steps[None, :] + lengths[:, None]) % length
    return out.gather(1, to_left[..., None].expand(-1, -1, out.shape[-1]))


class RNN(SequenceEncoderModel):
    """Item embeddings feed a ``cell`` RNN (``n_layers`` layers of size ``hidden``); its state
    after each position, mapped to the embedding size by a linear layer when ``hidden !=
    embedding``, is dotted with the (shared) item embeddings. Dropout ``dropout`` on the
    embeddings, the states and between layers.

    Trained at every position of :func:`~recplug.training.sequences.next_item_windows`
    rows with the ``loss`` of the sequence encoder base (full softmax ``ce`` by default),
    Adam. Scores read the last ``max_len`` items of the batch's histories.
    """

    target_positions = "all"
    padding_invariant = True
    parameter_constraints = {
        "cell": Options(*CELLS),
        "embedding": Integer(1, None, search=(16, 256, "log")),
        "hidden": Integer(1, None, search=(16, 256, "log")),
        "n_layers": Integer(1, None, search=(1, 3)),
        "dropout": Real(0, 1, closed="left", search=(0.0, 0.6)),
        "max_len": Integer(1, None, search=(10, 200, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(32, 1024, "log")),
        "epochs": Integer(1, None),
        "loss": Options(*LOSSES),
        "n_negatives": Integer(1, None, search=(1, 256, "log")),
        "eval_every": Integer(1, None),
    }

    def __init__(self, cell: str = "gru", embedding: int = 64, hidden: int = 64, n_layers: int = 1,
                 dropout: float = 0.2, max_len: int = 50, lr: float = 1e-3, batch_size: int = 64,
                 epochs: int = 100, loss: str = "ce", n_negatives: int = 1, eval_every: int = 1):
        self.cell = cell
        self.embedding = embedding
        self.hidden = hidden
        self.n_layers = n_layers
        self.dropout = dropout
        self.max_len = max_len
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.loss = loss
        self.n_negatives = n_negatives
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        from torch import nn

        embedding, hidden, layers = int(self.embedding), int(self.hidden), int(self.n_layers)
        module = nn.Module()
        module.items = item_table(n_items, embedding)
        module.dropout = nn.Dropout(float(self.dropout))
        recurrent = nn.GRU if self.cell == "gru" else nn.LSTM
        module.rnn = recurrent(embedding, hidden, num_layers=layers, batch_first=True,
                               dropout=float(self.dropout) if layers > 1 else 0.0)
        module.out = nn.Identity() if hidden == embedding else nn.Linear(hidden, embedding)
        return module

    def encode_positions(self, seqs: Any) -> Any:
        net = self.module_
        states = recurrent_states(net.rnn, net.dropout(net.items(seqs)), seqs)
        return net.out(net.dropout(states))

    def item_vectors(self) -> Any:
        return self.module_.items.weight[1:]
