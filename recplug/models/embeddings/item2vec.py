"""Item2Vec: skip-gram with negative sampling over users' item sequences (Barkan & Koenigstein, 2016)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from recplug.contract import FitOptions, ScoreBatch, TrainData
from recplug.models._factors import TorchFactorModel
from recplug.training import derive_seed, shuffled_batches
from recplug.training.constraints import Integer, Nullable, Options, Real
from recplug.training.losses import pointwise_bce
from recplug.training.negatives import NegativeSampler
from recplug.training.sequences import skipgram_pairs

SIMILARITIES = ("context", "cosine")


def keep_probabilities(counts: np.ndarray, threshold: float | None) -> np.ndarray:
    """Word2vec's frequent-item subsampling (Mikolov et al. 2013, as in Item2Vec): an
    occurrence of item ``i`` with frequency ``f_i = count_i / sum(counts)`` is kept with
    probability ``min(1, sqrt(threshold / f_i))``; ``threshold=None`` keeps everything.
    float64 ``[n_items]``."""
    if threshold is None:
        return np.ones(len(counts))
    frequency = counts / max(int(counts.sum()), 1)
    with np.errstate(divide="ignore"):
        return np.minimum(1.0, np.sqrt(threshold / frequency))


class Item2Vec(TorchFactorModel):
    """Item embeddings trained like word2vec's skip-gram, each user's sequence a sentence.

    Every epoch drops occurrences of frequent items (``subsample``, see
    :func:`keep_probabilities`), takes every (center, context) pair at most ``window``
    positions apart in a user's chronological training sequence (``window=None``: the
    user's whole set, as in the paper) and draws ``negatives`` items per pair with
    probability ``∝ users(i) ** neg_alpha`` from the shared sampler, never one of that
    user's items. Loss: the skip-gram negative-sampling log loss, ``-log σ(u_c · v_o) -
    Σ_k log σ(-u_c · v_k)``, as the mean log loss over the 1 + ``negatives`` examples of
    each pair (that sum divided by 1 + ``negatives``); Adam.

    Scores: a user's vector is the mean of the input vectors ``u`` of the distinct items in
    the history the batch carries (validation items join it at test time), and item ``j``
    scores ``user · w_j``. ``similarity="context"`` (default): the raw input vectors for the
    history and the output vectors ``w = v`` for ``j`` -- the trained skip-gram predictor;
    with uniform negatives (``neg_alpha=0``) ``u_h · v_j`` estimates ``log p(j | h)`` up to
    a constant, popularity included. ``"cosine"``: unit-length input vectors on both sides
    (the paper's similar-items cosine). The factors are declared, so CPU evaluation runs
    the fused top-K kernel. An empty history scores every item 0.

    Defaults tuned on the validation split of ml-100k (leave-one-out and ratio):
    ``window=10``, ``neg_alpha=0`` (word2vec's 0.75 and ``"cosine"`` scoring were clearly
    worse there), ``subsample=1e-3``, 5 negatives, 64 factors, ``lr=3e-3``.
    """

    parameter_constraints = {
        "factors": Integer(1, None, search=(16, 256, "log")),
        "window": Nullable(Integer(1, None, search=(1, 50, "log"))),
        "negatives": Integer(1, None, search=(1, 20, "log")),
        "neg_alpha": Real(0, None, search=(0.0, 1.0)),
        "subsample": Nullable(Real(0, 1, closed="right", search=(1e-5, 1e-1, "log"))),
        "similarity": Options(*SIMILARITIES),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-1, "log")),
        "batch_size": Integer(1, None, search=(256, 16384, "log")),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, factors: int = 64, window: int | None = 10, negatives: int = 5, neg_alpha: float = 0.0,
                 subsample: float | None = 1e-3, similarity: str = "context", lr: float = 3e-3,
                 batch_size: int = 1024, epochs: int = 50, eval_every: int = 1):
        self.factors = factors
        self.window = window
        self.negatives = negatives
        self.neg_alpha = neg_alpha
        self.subsample = subsample
        self.similarity = similarity
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        d = int(self.factors)
        module = torch.nn.Module()
        module.inputs = torch.nn.Embedding(n_items, d)   # u: the item as a center
        module.outputs = torch.nn.Embedding(n_items, d)  # v: the item as a context
        torch.nn.init.uniform_(module.inputs.weight, -0.5 / d, 0.5 / d)  # word2vec's initialisation
        torch.nn.init.zeros_(module.outputs.weight)
        return module

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        self._indptr, self._items = train.seq_indptr, train.seq_items
        self._position_users = np.repeat(np.arange(train.n_users, dtype=np.int32), np.diff(train.seq_indptr))
        counts = np.bincount(train.seq_items, minlength=train.n_items)
        self._keep = keep_probabilities(counts, self.subsample)
        self._sampler = NegativeSampler(train.csr, distribution="popularity", alpha=float(self.neg_alpha),
                                        threads=int(options.threads or 0))
        self._has_negatives = self._sampler.users_with_negatives()

    def pairs(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch's skip-gram examples after subsampling: ``(users, centers, contexts)`` int64 ``[P]``."""
        rng = np.random.default_rng(derive_seed(seed, "subsample"))
        kept = rng.random(len(self._items)) < self._keep[self._items]
        indptr = np.concatenate([[0], np.cumsum(kept)])[self._indptr]
        window = None if self.window is None else int(self.window)
        centers, contexts = skipgram_pairs(indptr, self._items[kept], window)
        users, _ = skipgram_pairs(indptr, self._position_users[kept], window)  # the same pairs, as users
        usable = self._has_negatives[users]
        return users[usable], centers[usable], contexts[usable]

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        users, centers, contexts = self.pairs(seed)
        negatives = self._sampler.sample(users, int(self.negatives), seed=derive_seed(seed, "negatives"))
        return shuffled_batches((centers, contexts, negatives), int(self.batch_size), seed=seed,
                                device=self.device_)

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        import torch

        centers, contexts, negatives = batch
        u = self.module_.inputs(centers)                                          # [B, d]
        targets = torch.cat([contexts[:, None], negatives], dim=1)                # [B, 1 + n]
        logits = (u[:, None, :] * self.module_.outputs(targets)).sum(-1)          # [B, 1 + n]
        labels = torch.zeros_like(logits)
        labels[:, 0] = 1.0
        return pointwise_bce(logits.reshape(-1), labels.reshape(-1))

    # ---- scoring: user vector = mean of the history's item vectors ----------------
    def _history_side(self) -> Any:
        import torch

        u = self.module_.inputs.weight
        return torch.nn.functional.normalize(u, dim=1) if self.similarity == "cosine" else u

    def score_inputs(self, batch: ScoreBatch) -> Any:
        """User vectors ``[B, factors]``: the mean history-side vector of each user's distinct items."""
        import torch

        history = batch.history_csr()
        counts = np.maximum(np.diff(history.indptr), 1).astype(np.float32)
        vectors = self._history_side().detach().cpu().float().numpy()
        means = (history @ vectors) / counts[:, None]  # scipy: row by row, whatever the batch
        return torch.as_tensor(np.ascontiguousarray(means, dtype=np.float32), device=self.device_)

    def user_vectors(self, rows: Any) -> Any:
        return rows

    def item_vectors(self) -> Any:
        return self.module_.outputs.weight if self.similarity == "context" else self._history_side()
