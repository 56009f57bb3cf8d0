"""Attention pooling: a learned attention weight per history item, the weighted sum of the
item embeddings, a dot product with the item embeddings."""

from __future__ import annotations

from typing import Any

from recplug.models.sequential._encoder import LOSSES, SequenceEncoderModel, item_table
from recplug.training.constraints import Integer, Options, Real


class AttentionPooling(SequenceEncoderModel):
    """The user vector is an attention-weighted sum of the last ``max_len`` items.

    Item ``t`` of the history (embedding ``e_t``, learned position-from-the-end embedding
    ``p_t``) gets the weight ``softmax_t(v · tanh(W (e_t + p_t) + b))`` over the non-padding
    positions (``W [attention, embedding]``); the pooled ``Σ_t α_t e_t`` goes through dropout and a
    linear layer ``[embedding -> embedding]`` and is dotted with the (shared) item embeddings.
    The positions make the weights depend on recency (without them the order would not matter).

    Trained on one row per prefix (each target with its own last ``max_len`` items) with
    the ``loss`` of the sequence encoder base (full softmax ``ce`` by default), Adam.
    """

    target_positions = "last"
    padding_invariant = True
    parameter_constraints = {
        "embedding": Integer(1, None, search=(16, 256, "log")),
        "attention": Integer(1, None, search=(16, 256, "log")),
        "dropout": Real(0, 1, closed="left", search=(0.0, 0.6)),
        "max_len": Integer(1, None, search=(10, 200, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(32, 1024, "log")),
        "epochs": Integer(1, None),
        "loss": Options(*LOSSES),
        "n_negatives": Integer(1, None, search=(1, 256, "log")),
        "eval_every": Integer(1, None),
    }

    def __init__(self, embedding: int = 64, attention: int = 64, dropout: float = 0.2, max_len: int = 50,
                 lr: float = 1e-3, batch_size: int = 256, epochs: int = 100, loss: str = "ce",
                 n_negatives: int = 1, eval_every: int = 1):
        self.embedding = embedding
        self.attention = attention
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

        embedding, attention = int(self.embedding), int(self.attention)
        module = nn.Module()
        module.items = item_table(n_items, embedding)
        module.positions = nn.Embedding(int(self.max_len), embedding)
        nn.init.xavier_normal_(module.positions.weight)
        module.key = nn.Linear(embedding, attention)
        module.weight = nn.Linear(attention, 1, bias=False)
        module.dropout = nn.Dropout(float(self.dropout))
        module.out = nn.Linear(embedding, embedding)
        return module

    def encode(self, seqs: Any) -> Any:
        import torch

        from recplug.training.determinism import softmax

        net = self.module_
        items = net.dropout(net.items(seqs))
        logits = net.weight(torch.tanh(net.key(items + net.positions.weight[-seqs.shape[1]:]))).squeeze(-1)
        alpha = softmax(logits.masked_fill(seqs == 0, float("-inf")), dim=1)
        return net.out(net.dropout((alpha.unsqueeze(-1) * items).sum(1)))

    def item_vectors(self) -> Any:
        return self.module_.items.weight[1:]
