"""The content model shared by ``text`` and ``clip``: frozen item embeddings, user profiles.

Fit: the encoder embeds every item of the vocabulary once (cached on disk, see
:mod:`recplug_content.cache`) into L2-normalised rows ``E [n_items, d]``; items without any
text or image get a zero row. Scores are ``user_vector @ item_vectors.T`` (declared
factors: CPU evaluation runs recplug's fused top-K kernel). The ``profile`` says how:

- ``mean``: user = mean of ``E`` over the history's items; item = ``E``. No training.
- ``recency``: the same mean weighted ``0.5 ** (age / half_life)``, age = how many
  interactions ago (0 for the last one). No training.
- ``adapter``: two linear maps of the frozen embeddings, ``user = mean(E[history]) A``,
  ``item = E B`` (``factors`` columns each), trained with BPR (one uniform negative per
  training pair, the positive left out of its own history mean) through recplug's Trainer,
  so early stopping, the epoch budget and validation work as for every torch model.
  Cold items are scored through ``E B``, like every other item.
- ``hybrid``: ``adapter`` plus learned ID embeddings, ``user = mean(E[history]) A + p_u``,
  ``item = E B + q_i`` (q drawn from N(0, init_std²)). Warm items gain what their IDs
  learned; a cold item's ``q`` was only ever a sampled negative.

An empty history scores every item 0 (``mean``/``recency``/``adapter``) or ``p_u · item``.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from recplug.contract import FitOptions, ScoreBatch, Tags, TrainData
from recplug.models._factors import TorchFactorModel, user_item_embeddings
from recplug.training import NegativeSampler, bpr_loss, fit_context, l2_batch, resolve_device, shuffled_batches
from recplug.training.constraints import Constraint, Integer, Nullable, Options, Real, check_model_params

PROFILES = ("mean", "recency", "adapter", "hybrid")
TRAINED = ("adapter", "hybrid")


class Text(Constraint):
    """A non-empty string (a model name, a path, a comma-separated list)."""

    def describe(self) -> str:
        return "a non-empty string"

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, str) and value.strip() else self.describe()


COMMON_CONSTRAINTS = {
    "profile": Options(*PROFILES),
    "half_life": Real(0, None, closed="neither", allow_inf=True, search=(1.0, 100.0, "log")),
    "factors": Integer(1, None, search=(16, 256, "log")),
    "lr": Real(0, None, closed="neither", search=(1e-4, 1e-1, "log")),
    "reg": Real(0, None, search=(1e-6, 1e-1, "log")),
    "batch_size": Integer(1, None, search=(256, 8192, "log")),
    "epochs": Integer(1, None),
    "init_std": Real(0, None, closed="neither", search=(1e-3, 0.3, "log")),
    "eval_every": Integer(1, None),
    "encode_batch_size": Integer(1, None),
    "text_fields": Nullable(Text()),
}


class ContentModel(TorchFactorModel):
    """Base of :class:`~recplug_content.text.TextContent` and :class:`~recplug_content.clip.ClipContent`.

    A subclass defines :meth:`embed` (the ``[n_items, d]`` embeddings of an item table) and
    the encoder hyperparameters; this class does the profiles, the training and the files.
    """

    tags = Tags(supports_cuda=True, needs_item_features=True)

    # ---- what a subclass defines ----------------------------------------------------
    def embed(self, items: Any, device: Any) -> np.ndarray:  # pragma: no cover
        """L2-normalised float32 ``[items.n_items, d]`` (zero rows for items with no content)."""
        raise NotImplementedError

    def text_field_names(self) -> list[str] | None:
        if self.text_fields is None:
            return None
        return [f.strip() for f in self.text_fields.split(",") if f.strip()]

    # ---- fit ------------------------------------------------------------------------
    def fit(self, train: TrainData, options: FitOptions) -> "ContentModel":
        import torch

        from recplug_content.encoders import check_items

        check_model_params(type(self), self.get_params())
        check_items(getattr(train, "items", None), type(self).__name__)
        device = resolve_device(options.device, supports_cuda=self.tags.supports_cuda)
        content = torch.as_tensor(self.embed(train.items, device))
        if self.profile in TRAINED:
            self._content = content
            try:
                return super().fit(train, options)
            finally:
                del self._content
        with fit_context(options, supports_cuda=True):
            self.shapes_ = {"n_users": int(train.n_users), "n_items": int(train.n_items),
                            "embedding_dim": int(content.shape[1])}
            self.device_ = device
            self._content = content
            try:
                self.module_ = self.build(train.n_users, train.n_items).to(device)
            finally:
                del self._content
        return self

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        content = getattr(self, "_content", None)
        if content is None:  # restoring from a file: the buffer comes from the state dict
            content = torch.zeros(n_items, int(self.shapes_["embedding_dim"]))
        self.shapes_ = {**getattr(self, "shapes_", {}), "embedding_dim": int(content.shape[1])}
        module = torch.nn.Module()
        module.register_buffer("content", content.float().contiguous())
        if self.profile in TRAINED:
            dim, factors = int(content.shape[1]), int(self.factors)
            module.user_map = torch.nn.Linear(dim, factors, bias=False)
            module.item_map = torch.nn.Linear(dim, factors, bias=False)
            for layer in (module.user_map, module.item_map):
                torch.nn.init.normal_(layer.weight, std=dim ** -0.5)
        if self.profile == "hybrid":
            module.users, module.items = user_item_embeddings(n_users, n_items, int(self.factors),
                                                              float(self.init_std))
        return module

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        import torch

        self._sampler = NegativeSampler(train.csr, threads=int(options.threads or 0))
        self._pairs = self._sampler.positive_pairs()
        content = self.module_.content.cpu().numpy()
        sums = np.asarray(train.csr @ content, dtype=np.float32)  # scipy: row by row
        self._history_sums = torch.as_tensor(sums, device=self.device_)
        counts = np.diff(train.csr.indptr).astype(np.float32)
        self._history_counts = torch.as_tensor(counts, device=self.device_)

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        users, items = self._pairs
        negatives = self._sampler.sample(users, 1, seed=seed)[:, 0]
        return shuffled_batches((users, items, negatives), int(self.batch_size), seed=seed,
                                device=self.device_)

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        u, i, j = batch
        content = self.module_.content
        others = (self._history_sums[u] - content[i]) / (self._history_counts[u] - 1).clamp(min=1)[:, None]
        user = self.module_.user_map(others)
        pos, neg = self.module_.item_map(content[i]), self.module_.item_map(content[j])
        penalised = [user, pos, neg]
        if self.profile == "hybrid":
            pu, qi, qj = self.module_.users(u), self.module_.items(i), self.module_.items(j)
            user, pos, neg = user + pu, pos + qi, neg + qj
            penalised = [pu, qi, qj]
        loss = bpr_loss((user * pos).sum(dim=1), (user * neg).sum(dim=1))
        return loss + float(self.reg) * l2_batch(*penalised) if self.reg else loss

    # ---- scoring --------------------------------------------------------------------
    def score_inputs(self, batch: ScoreBatch) -> Any:
        """``[B, d + 1]``: each user's history profile of the frozen embeddings, then the
        user index (read by the ``hybrid`` profile's ID embeddings)."""
        import scipy.sparse as sp
        import torch

        indptr, items = batch.history_items()
        lengths = np.diff(indptr)
        if self.profile == "recency":
            age = (np.repeat(indptr[1:], lengths) - 1 - np.arange(len(items))).astype(np.float64)
            weights = np.exp2(-age / float(self.half_life)).astype(np.float32)
        else:
            weights = np.ones(len(items), dtype=np.float32)
        # copies: sum_duplicates sorts in place and must not reorder the batch's history
        history = sp.csr_matrix((weights, items.copy(), indptr.copy()), shape=(len(batch), self.shapes_["n_items"]))
        if self.profile != "recency":
            history.sum_duplicates()
            history.data[:] = 1.0
        totals = np.asarray(history.sum(axis=1), dtype=np.float32).ravel()
        content = self.module_.content.detach().cpu().float().numpy()
        profile = np.asarray(history @ content, dtype=np.float32) / np.maximum(totals, 1e-12)[:, None]
        rows = np.concatenate([profile, batch.users.astype(np.float32)[:, None]], axis=1)
        return torch.as_tensor(np.ascontiguousarray(rows, dtype=np.float32), device=self.device_)

    def user_vectors(self, rows: Any) -> Any:
        profile = rows[:, :-1]
        if self.profile not in TRAINED:
            return profile
        vectors = self.module_.user_map(profile)
        if self.profile == "hybrid":
            vectors = vectors + self.module_.users(rows[:, -1].long())
        return vectors

    def item_vectors(self) -> Any:
        content = self.module_.content
        if self.profile not in TRAINED:
            return content
        vectors = self.module_.item_map(content)
        return vectors + self.module_.items.weight if self.profile == "hybrid" else vectors
