"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018)."""

from __future__ import annotations

import math
from typing import Any

from recplug.errors import ConfigError
from recplug.models.sequential._encoder import SequenceEncoderModel, l2_penalty
from recplug.training.constraints import Integer, Options, Real

LOSSES = ("bce", "ce")


def sasrec_network(n_items: int, max_len: int, hidden: int, n_blocks: int, n_heads: int, dropout: float) -> Any:
    """The SASRec encoder: item ids ``[B, L]`` (0 = padding, items shifted by +1) -> ``[B, L, hidden]``."""
    import torch
    from torch import nn

    from recplug.training.determinism import LayerNorm, MultiheadAttention

    class PointWiseFeedForward(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(hidden, hidden)
            self.outer = nn.Linear(hidden, hidden)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dropout(self.outer(self.dropout(torch.relu(self.inner(x))))) + x

    class SASRecNet(nn.Module):
        """Embeddings + causal self-attention blocks; ``forward`` gives ``[B, L, hidden]``."""

        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + 1, hidden, padding_idx=0)
            self.positions = nn.Embedding(max_len, hidden)
            self.dropout = nn.Dropout(dropout)
            self.attention_norms = nn.ModuleList(LayerNorm(hidden, eps=1e-8) for _ in range(n_blocks))
            self.attentions = nn.ModuleList(
                MultiheadAttention(hidden, n_heads, dropout=dropout, batch_first=True)
                for _ in range(n_blocks))
            self.forward_norms = nn.ModuleList(LayerNorm(hidden, eps=1e-8) for _ in range(n_blocks))
            self.forwards = nn.ModuleList(PointWiseFeedForward() for _ in range(n_blocks))
            self.last_norm = LayerNorm(hidden, eps=1e-8)
            for name, param in self.named_parameters():
                if param.dim() > 1:
                    nn.init.xavier_normal_(param)
            with torch.no_grad():
                self.items.weight[0].zero_()

        def forward(self, seqs: torch.Tensor) -> torch.Tensor:
            length = seqs.shape[1]
            x = self.items(seqs) * math.sqrt(hidden)
            x = x + self.positions.weight[-length:].unsqueeze(0)
            x = self.dropout(x)
            keep = (seqs != 0).unsqueeze(-1).to(x.dtype)
            x = x * keep
            causal = torch.ones(length, length, dtype=torch.bool, device=seqs.device).triu(1)
            for norm_a, attention, norm_f, ffn in zip(self.attention_norms, self.attentions,
                                                      self.forward_norms, self.forwards):
                query = norm_a(x)
                out, _ = attention(query, x, x, attn_mask=causal, is_causal=True, need_weights=False)
                x = ffn(norm_f(query + out)) * keep
            return self.last_norm(x)

    return SASRecNet()


class SASRec(SequenceEncoderModel):
    """Causal self-attention over the last ``max_len`` items of a user's history.

    Architecture as in the paper: item embeddings (index 0 = padding, items shifted by
    one) scaled by sqrt(hidden) plus learned positional embeddings, ``n_blocks`` blocks of
    pre-norm causal multi-head attention and a point-wise feed-forward network with
    residual connections and dropout, a final layer norm; the score of item i after a
    sequence is the last position's hidden state · item i's embedding (shared weights).

    Trained and scored through :class:`~recplug.models.sequential._encoder.SequenceEncoderModel`:
    rows from :func:`~recplug.training.sequences.next_item_windows` (every position of every
    training sequence is a target once), a target at every position. ``loss="bce"``: binary cross-entropy against one sampled
    negative per position that is not among the user's training items (the paper);
    ``loss="ce"``: softmax cross-entropy over all items. ``l2_emb`` adds an L2 penalty on
    the embeddings used in a batch. Adam with betas (0.9, 0.98).

    ``score`` reads the histories in the batch (validation items join the input at test
    time) and returns float32 torch tensors ``[B, n_items]`` on the fit device.
    """

    parameter_constraints = {
        "max_len": Integer(1, None, search=(10, 200, "log")),
        "hidden": Integer(1, None, search=(16, 256, "log")),
        "n_blocks": Integer(1, None, search=(1, 4)),
        "n_heads": Integer(1, None, search=(1, 4)),
        "dropout": Real(0, 1, closed="left", search=(0.0, 0.7)),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(32, 1024, "log")),
        "epochs": Integer(1, None),
        "loss": Options(*LOSSES),
        "l2_emb": Real(0, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, max_len: int = 50, hidden: int = 50, n_blocks: int = 2, n_heads: int = 1,
                 dropout: float = 0.2, lr: float = 1e-3, batch_size: int = 128, epochs: int = 200,
                 loss: str = "bce", l2_emb: float = 0.0, eval_every: int = 1):
        self.max_len = max_len
        self.hidden = hidden
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.dropout = dropout
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.loss = loss
        self.l2_emb = l2_emb
        self.eval_every = eval_every

    @classmethod
    def check_param_relations(cls, params: dict[str, Any]) -> None:
        if params["hidden"] % params["n_heads"]:
            raise ConfigError(f"SASRec: hidden ({params['hidden']}) must be divisible by n_heads "
                              f"({params['n_heads']})")

    def build(self, n_users: int, n_items: int) -> Any:
        return sasrec_network(n_items, int(self.max_len), int(self.hidden), int(self.n_blocks),
                              int(self.n_heads), float(self.dropout))

    def optimizer(self, module: Any) -> Any:
        import torch

        return torch.optim.Adam(module.parameters(), lr=self.lr, betas=(0.9, 0.98))

    def encode_positions(self, seqs: Any) -> Any:
        return self.module_(seqs)

    def item_vectors(self) -> Any:
        return self.module_.items.weight[1:]

    def target_vectors(self, ids: Any) -> Any:
        return self.module_.items(ids)

    def embedding_penalty(self, used: Any) -> Any | None:
        return l2_penalty(self.l2_emb, used)
