"""NARM: neural attentive session-based recommendation (Li et al., CIKM 2017)."""

from __future__ import annotations

from typing import Any

from recplug.models.sequential._encoder import LOSSES, SequenceEncoderModel, item_table
from recplug.models.sequential.rnn import recurrent_states
from recplug.training.constraints import Integer, Options, Real


class NARM(SequenceEncoderModel):
    """A GRU encoder with a global and a local (attention) encoder and a bilinear decoder.

    Item embeddings (size ``embedding``, dropout ``emb_dropout``) feed a GRU of size
    ``hidden`` over the last ``max_len`` items, giving states ``h_1 .. h_t``. The global
    encoder is the last state ``c_g = h_t``; the local one ``c_l = Σ_j α_j h_j`` with
    ``α_j = v · σ(A1 h_t + A2 h_j)`` over the non-padding positions (unnormalised, as in the
    paper). The bilinear decoder scores item ``i`` as ``e_i · B [c_g; c_l]`` with ``B [2·hidden
    -> embedding]`` after dropout ``ct_dropout``, so the user vector is ``B c`` and the item
    vectors the item embeddings. Defaults from the paper: embedding 50, hidden 100, dropout
    0.25 / 0.5, Adam with lr 1e-3, batch size 512, full softmax cross-entropy, trained on
    every prefix of every training sequence (each target with its own last ``max_len`` items).
    """

    target_positions = "last"
    padding_invariant = True
    parameter_constraints = {
        "embedding": Integer(1, None, search=(16, 256, "log")),
        "hidden": Integer(1, None, search=(16, 256, "log")),
        "emb_dropout": Real(0, 1, closed="left", search=(0.0, 0.6)),
        "ct_dropout": Real(0, 1, closed="left", search=(0.0, 0.7)),
        "max_len": Integer(1, None, search=(10, 200, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(32, 1024, "log")),
        "epochs": Integer(1, None),
        "loss": Options(*LOSSES),
        "n_negatives": Integer(1, None, search=(1, 256, "log")),
        "eval_every": Integer(1, None),
    }

    def __init__(self, embedding: int = 50, hidden: int = 100, emb_dropout: float = 0.25,
                 ct_dropout: float = 0.5, max_len: int = 50, lr: float = 1e-3, batch_size: int = 512,
                 epochs: int = 100, loss: str = "ce", n_negatives: int = 1, eval_every: int = 1):
        self.embedding = embedding
        self.hidden = hidden
        self.emb_dropout = emb_dropout
        self.ct_dropout = ct_dropout
        self.max_len = max_len
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.loss = loss
        self.n_negatives = n_negatives
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        from torch import nn

        embedding, hidden = int(self.embedding), int(self.hidden)
        module = nn.Module()
        module.items = item_table(n_items, embedding)
        module.emb_dropout = nn.Dropout(float(self.emb_dropout))
        module.gru = nn.GRU(embedding, hidden, batch_first=True)
        module.a1 = nn.Linear(hidden, hidden, bias=False)
        module.a2 = nn.Linear(hidden, hidden, bias=False)
        module.v = nn.Linear(hidden, 1, bias=False)
        module.ct_dropout = nn.Dropout(float(self.ct_dropout))
        module.b = nn.Linear(2 * hidden, embedding, bias=False)
        return module

    def encode(self, seqs: Any) -> Any:
        import torch

        net = self.module_
        states = recurrent_states(net.gru, net.emb_dropout(net.items(seqs)), seqs)   # [B, L, h]
        last = states[:, -1]                                                          # c_g
        alpha = net.v(torch.sigmoid(net.a1(last).unsqueeze(1) + net.a2(states))).squeeze(-1)
        alpha = alpha * (seqs != 0).to(alpha.dtype)
        local = (alpha.unsqueeze(-1) * states).sum(1)                                 # c_l
        return net.b(net.ct_dropout(torch.cat([last, local], dim=1)))

    def item_vectors(self) -> Any:
        return self.module_.items.weight[1:]
