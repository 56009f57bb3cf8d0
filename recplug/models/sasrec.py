"""SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018)."""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from recplug import kernels
from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.errors import ConfigError
from recplug.models._common import check_batch, check_fitted, in_fixed_blocks
from recplug.training import Trainer, fit_context, resolve_device, shuffled_batches

LOSSES = ("bce", "ce")


def training_windows(seq_indptr: np.ndarray, seq_items: np.ndarray, max_len: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut every user's chronological sequence into next-item training rows, vectorised.

    Each row holds up to ``max_len`` consecutive targets and, for each, the item just
    before it as input, right-aligned with 0 as left padding and items shifted by +1
    (0 is the padding id). Windows run backwards from the end of the sequence, so every
    position after a user's first item is a target exactly once. Users with fewer than
    two items give no row.

    Returns ``(row_users int32[R], inputs int64[R, max_len], targets int64[R, max_len])``.
    """
    starts = seq_indptr[:-1].astype(np.int64)
    ends = seq_indptr[1:].astype(np.int64)
    n_windows = np.maximum(ends - starts - 1, 0)
    n_windows = -(-n_windows // max_len)                       # ceil((n - 1) / max_len)
    row_users = np.repeat(np.arange(len(starts), dtype=np.int32), n_windows)
    first_row = np.cumsum(n_windows) - n_windows
    window = np.arange(len(row_users)) - np.repeat(first_row, n_windows)
    window_end = ends[row_users] - window * max_len              # exclusive end of the targets
    target_pos = window_end[:, None] - max_len + np.arange(max_len)[None, :]
    valid = target_pos >= (starts[row_users] + 1)[:, None]
    safe = np.where(valid, target_pos, 1)
    inputs = np.where(valid, seq_items[safe - 1].astype(np.int64) + 1, 0)
    targets = np.where(valid, seq_items[safe].astype(np.int64) + 1, 0)
    return row_users, inputs, targets


def _network(n_items: int, max_len: int, hidden: int, n_blocks: int, n_heads: int, dropout: float) -> Any:
    import torch
    from torch import nn

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
            self.attention_norms = nn.ModuleList(nn.LayerNorm(hidden, eps=1e-8) for _ in range(n_blocks))
            self.attentions = nn.ModuleList(
                nn.MultiheadAttention(hidden, n_heads, dropout=dropout, batch_first=True)
                for _ in range(n_blocks))
            self.forward_norms = nn.ModuleList(nn.LayerNorm(hidden, eps=1e-8) for _ in range(n_blocks))
            self.forwards = nn.ModuleList(PointWiseFeedForward() for _ in range(n_blocks))
            self.last_norm = nn.LayerNorm(hidden, eps=1e-8)
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


class SASRec(Model):
    """Causal self-attention over the last ``max_len`` items of a user's history.

    Architecture as in the paper: item embeddings (index 0 = padding, items shifted by
    one) scaled by sqrt(hidden) plus learned positional embeddings, ``n_blocks`` blocks of
    pre-norm causal multi-head attention and a point-wise feed-forward network with
    residual connections and dropout, a final layer norm; the score of item i after a
    sequence is the last position's hidden state · item i's embedding (shared weights).

    Training rows come from :func:`training_windows` (every position of every training
    sequence is a target once). ``loss="bce"``: binary cross-entropy against one sampled
    negative per position that is not among the user's training items (the paper);
    ``loss="ce"``: softmax cross-entropy over all items. ``l2_emb`` adds an L2 penalty on
    the embeddings used in a batch. Adam with betas (0.9, 0.98).

    ``score`` reads the histories in the batch (validation items join the input at test
    time) and returns float32 torch tensors ``[B, n_items]`` on the fit device.
    """

    tags = Tags(sequential=True, supports_cuda=True)

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

    def _check_params(self) -> None:
        for name in ("max_len", "hidden", "n_blocks", "n_heads", "batch_size", "epochs", "eval_every"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ConfigError(f"SASRec: {name} must be a positive integer, got {value!r}")
        if self.hidden % self.n_heads:
            raise ConfigError(f"SASRec: hidden ({self.hidden}) must be divisible by n_heads ({self.n_heads})")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"SASRec: dropout must be in [0, 1), got {self.dropout!r}")
        if not self.lr > 0:
            raise ConfigError(f"SASRec: lr must be > 0, got {self.lr!r}")
        if self.l2_emb < 0:
            raise ConfigError(f"SASRec: l2_emb must be >= 0, got {self.l2_emb!r}")
        if self.loss not in LOSSES:
            raise ConfigError(f"SASRec: loss must be one of {LOSSES}, got {self.loss!r}")

    def fit(self, train: TrainData, options: FitOptions) -> "SASRec":
        import torch
        import torch.nn.functional as F

        self._check_params()
        device = resolve_device(options.device)
        max_len, n_items = int(self.max_len), train.n_items
        row_users, inputs, targets = training_windows(train.seq_indptr, train.seq_items, max_len)
        csr = train.csr
        # positions that get a sampled negative: users who consumed every item have none
        has_negatives = np.diff(csr.indptr)[row_users] < n_items
        valid = (targets != 0) & has_negatives[:, None]
        position_users = np.broadcast_to(row_users[:, None], targets.shape)[valid]
        threads = int(options.threads or 0)
        l2 = float(self.l2_emb)

        with fit_context(options):
            net = _network(n_items, max_len, int(self.hidden), int(self.n_blocks), int(self.n_heads),
                           float(self.dropout)).to(device)
            self.module_ = net
            self.device_ = device
            optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, betas=(0.9, 0.98))

            def epoch_batches(epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
                if self.loss == "ce":
                    return shuffled_batches((inputs, targets), int(self.batch_size), seed=seed, device=device)
                negatives = np.zeros_like(targets)
                negatives[valid] = kernels.sample_negatives(
                    position_users, csr.indptr, csr.indices, n_items, 1, seed=seed, threads=threads)[:, 0] + 1
                return shuffled_batches((inputs, targets, negatives), int(self.batch_size),
                                        seed=seed, device=device)

            def loss_fn(batch: tuple[Any, ...]) -> Any:
                seqs, pos = batch[0], batch[1]
                hidden = net(seqs)
                mask = pos != 0
                h = hidden[mask]
                if self.loss == "ce":
                    logits = h @ net.items.weight[1:].T
                    loss = F.cross_entropy(logits.float(), pos[mask] - 1)
                    used = net.items(pos[mask])
                else:
                    neg = batch[2]
                    neg_mask = neg != 0
                    pos_emb, neg_emb = net.items(pos[mask]), net.items(neg[neg_mask])
                    pos_logit = (h * pos_emb).sum(-1).float()
                    neg_logit = (hidden[neg_mask] * neg_emb).sum(-1).float()
                    loss = F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit))
                    if len(neg_logit):
                        loss = loss + F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit))
                    used = torch.cat([pos_emb, neg_emb])
                if l2:
                    loss = loss + l2 * used.float().square().sum() / len(used)
                return loss

            trainer = Trainer(options, epochs=int(self.epochs), eval_every=int(self.eval_every))
            self.train_result_ = trainer.fit(self, net, optimizer, epoch_batches, loss_fn)
        return self

    def score(self, batch: ScoreBatch) -> Any:
        import torch

        check_fitted(self, "module_")
        net = self.module_
        check_batch(self, batch, net.items.num_embeddings - 1)
        seqs = torch.as_tensor(batch.recent(int(self.max_len), pad=0, shift=1), device=self.device_)
        items = net.items.weight[1:]
        with torch.no_grad():
            return in_fixed_blocks(lambda s: (net(s)[:, -1, :] @ items.T).float(), seqs)
