"""The LSTM encoder-decoder: an encoder LSTM reads the history, a decoder LSTM started from
its final state emits the next item."""

from __future__ import annotations

from typing import Any

from recplug.models.sequential._encoder import LOSSES, SequenceEncoderModel, item_table
from recplug.training.constraints import Integer, Options, Real


class Seq2Seq(SequenceEncoderModel):
    """Encoder-decoder over the history, scoring the next item.

    Formulation: the encoder ``LSTMCell`` (size ``hidden``) reads the item embeddings of
    the history oldest first from a zero state, its state held at zero over the left
    padding, giving ``(h_t, c_t)`` after each item. The decoder ``LSTMCell`` starts from
    ``(h_t, c_t)`` and takes one step on a learned start-of-output vector; its output,
    after dropout and a linear layer ``[hidden -> embedding]``, is dotted with the (shared)
    item embeddings to score item ``t + 1``. One decoding step: only the next item is
    predicted (trained and scored). Dropout ``dropout`` on the embeddings and the decoder output.

    Trained at every position of :func:`~recplug.training.sequences.next_item_windows`
    rows (the decoder runs from every encoder state) with the ``loss`` of the sequence
    encoder base (full softmax ``ce`` by default), Adam.
    """

    target_positions = "all"
    padding_invariant = True
    parameter_constraints = {
        "embedding": Integer(1, None, search=(16, 256, "log")),
        "hidden": Integer(1, None, search=(16, 256, "log")),
        "dropout": Real(0, 1, closed="left", search=(0.0, 0.6)),
        "max_len": Integer(1, None, search=(10, 200, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(32, 1024, "log")),
        "epochs": Integer(1, None),
        "loss": Options(*LOSSES),
        "n_negatives": Integer(1, None, search=(1, 256, "log")),
        "eval_every": Integer(1, None),
    }

    def __init__(self, embedding: int = 64, hidden: int = 64, dropout: float = 0.2, max_len: int = 50,
                 lr: float = 1e-3, batch_size: int = 64, epochs: int = 100, loss: str = "ce",
                 n_negatives: int = 1, eval_every: int = 1):
        self.embedding = embedding
        self.hidden = hidden
        self.dropout = dropout
        self.max_len = max_len
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.loss = loss
        self.n_negatives = n_negatives
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch
        from torch import nn

        embedding, hidden = int(self.embedding), int(self.hidden)
        module = nn.Module()
        module.items = item_table(n_items, embedding)
        module.dropout = nn.Dropout(float(self.dropout))
        module.encoder = nn.LSTMCell(embedding, hidden)
        module.decoder = nn.LSTMCell(embedding, hidden)
        module.start = nn.Parameter(torch.empty(1, embedding))
        nn.init.xavier_normal_(module.start)
        module.out = nn.Linear(hidden, embedding)
        return module

    def encoder_states(self, seqs: Any) -> tuple[Any, Any]:
        """``(h, c)``, each ``[B, L, hidden]``: the encoder state after each position (0 over padding)."""
        import torch

        net = self.module_
        x = net.dropout(net.items(seqs))
        batch, length = seqs.shape
        h = c = x.new_zeros(batch, int(self.hidden))
        real = seqs != 0
        # columns that are padding in every row leave the state at exactly zero: skip them
        first = int(real.any(0).to(torch.int64).argmax()) if bool(real.any()) else length
        hs, cs = [h] * first, [c] * first
        for t in range(first, length):
            h_new, c_new = net.encoder(x[:, t], (h, c))
            keep = real[:, t, None]
            h, c = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
            hs.append(h)
            cs.append(c)
        return torch.stack(hs, 1), torch.stack(cs, 1)

    def decode(self, h: Any, c: Any) -> Any:
        """One decoder step from encoder states ``[M, hidden]`` -> user vectors ``[M, embedding]``."""
        net = self.module_
        out, _ = net.decoder(net.start.expand(h.shape[0], -1), (h, c))
        return net.out(net.dropout(out))

    def encode_positions(self, seqs: Any) -> Any:
        h, c = self.encoder_states(seqs)
        batch, length, size = h.shape
        return self.decode(h.reshape(-1, size), c.reshape(-1, size)).view(batch, length, -1)

    def encode(self, seqs: Any) -> Any:
        h, c = self.encoder_states(seqs)
        return self.decode(h[:, -1], c[:, -1])

    def item_vectors(self) -> Any:
        return self.module_.items.weight[1:]
