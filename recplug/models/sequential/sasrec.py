"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018)."""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from recplug.contract import FitOptions, ScoreBatch, Tags, TrainData
from recplug.errors import ConfigError
from recplug.models._torch import TorchModel
from recplug.training import shuffled_batches
from recplug.training.constraints import Integer, Options, Real
from recplug.training.losses import bce_loss, l2_batch, softmax_ce
from recplug.training.negatives import NegativeSampler
from recplug.training.sequences import next_item_windows

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


class SASRec(TorchModel):
    """Causal self-attention over the last ``max_len`` items of a user's history.

    Architecture as in the paper: item embeddings (index 0 = padding, items shifted by
    one) scaled by sqrt(hidden) plus learned positional embeddings, ``n_blocks`` blocks of
    pre-norm causal multi-head attention and a point-wise feed-forward network with
    residual connections and dropout, a final layer norm; the score of item i after a
    sequence is the last position's hidden state · item i's embedding (shared weights).

    Training rows come from :func:`~recplug.training.sequences.next_item_windows` (every position of every training
    sequence is a target once). ``loss="bce"``: binary cross-entropy against one sampled
    negative per position that is not among the user's training items (the paper);
    ``loss="ce"``: softmax cross-entropy over all items. ``l2_emb`` adds an L2 penalty on
    the embeddings used in a batch. Adam with betas (0.9, 0.98).

    ``score`` reads the histories in the batch (validation items join the input at test
    time) and returns float32 torch tensors ``[B, n_items]`` on the fit device.
    """

    tags = Tags(sequential=True, supports_cuda=True)
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

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        row_users, self._inputs, self._targets = next_item_windows(train.seq_indptr, train.seq_items,
                                                                   int(self.max_len))
        self._sampler = NegativeSampler(train.csr, threads=int(options.threads or 0))
        # positions that get a sampled negative: users who consumed every item have none
        has_negatives = self._sampler.users_with_negatives()[row_users]
        self._valid = (self._targets != 0) & has_negatives[:, None]
        self._position_users = np.broadcast_to(row_users[:, None], self._targets.shape)[self._valid]

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        arrays = [self._inputs, self._targets]
        if self.loss == "bce":
            negatives = np.zeros_like(self._targets)
            negatives[self._valid] = self._sampler.sample(self._position_users, 1, seed=seed)[:, 0] + 1
            arrays.append(negatives)
        return shuffled_batches(arrays, int(self.batch_size), seed=seed, device=self.device_)

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        import torch

        net = self.module_
        seqs, pos = batch[0], batch[1]
        hidden = net(seqs)
        mask = pos != 0
        h = hidden[mask]
        if self.loss == "ce":
            loss = softmax_ce(h @ net.items.weight[1:].T, pos[mask] - 1)
            used = net.items(pos[mask])
        else:
            neg = batch[2]
            neg_mask = neg != 0
            pos_emb, neg_emb = net.items(pos[mask]), net.items(neg[neg_mask])
            loss = bce_loss((h * pos_emb).sum(-1), (hidden[neg_mask] * neg_emb).sum(-1))
            used = torch.cat([pos_emb, neg_emb])
        return loss + float(self.l2_emb) * l2_batch(used.float()) if self.l2_emb else loss

    def score_inputs(self, batch: ScoreBatch) -> Any:
        import torch

        return torch.as_tensor(batch.recent(int(self.max_len), pad=0, shift=1), device=self.device_)

    def block_scores(self, seqs: Any) -> Any:
        return (self.module_(seqs)[:, -1, :] @ self.module_.items.weight[1:].T).float()
