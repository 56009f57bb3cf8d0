"""Full-ranking evaluation: stream users in batches, items in chunks, keep per-user metrics.

Scores from the model are masked with each user's history (train for validation,
train + validation for test), ranked with the tie policy, and turned into per-user
metrics by the C++ kernels (numpy / CPU torch scores) or by torch operations (CUDA
scores). Memory is bounded by one batch of scores, never by users x items.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from recplug import kernels
from recplug.contract import ScoreBatch
from recplug.errors import EvaluationError
from recplug.evaluation.batches import csr_rows, make_batch
from recplug.evaluation.config import TIE_TIER, EvalConfig, metric_name
from recplug.evaluation.lists import ListStats
from recplug.splits.base import Split


@dataclass
class EvalResult:
    """Per-user metrics of one evaluation and their means.

    ``per_user[name]`` is float32 ``[U]`` aligned with ``users`` (int32 user indices);
    ``summary`` holds the user means (``NDCG@10`` ...) plus catalogue metrics
    (``Coverage@K``, ``ARP@K`` average recommended popularity, ``Gini@K``).
    """

    which: str
    protocol: str
    users: np.ndarray
    per_user: dict[str, np.ndarray]
    summary: dict[str, float]
    boundary_tie_rate: float | None  #: share of users whose top-K boundary cuts a tie (at max K); None when sampled
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def sampled(self) -> bool:
        return self.protocol != "full"


def tie_priority(n_items: int, seed: int) -> np.ndarray:
    """Seeded random priority per item (int32 permutation): the same for every model."""
    return np.random.default_rng([seed, 0x7E5]).permutation(n_items).astype(np.int32)


def _as_scores(raw: Any, batch: ScoreBatch, model: Any) -> Any:
    """Check a model's scores; numpy float32 [B, N] or a torch tensor (CUDA stays on device)."""
    name = type(model).__name__
    shape = tuple(getattr(raw, "shape", ()))
    if shape != (len(batch), batch.n_items):
        raise EvaluationError(f"{name}.score returned shape {shape}, expected "
                              f"({len(batch)}, {batch.n_items}) = (batch users, items)")
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    if torch is not None and isinstance(raw, torch.Tensor):
        if raw.dtype != torch.float32:
            raise EvaluationError(f"{name}.score returned {raw.dtype}; the contract asks for float32")
        raw = raw.detach()
        return raw if raw.is_cuda else np.ascontiguousarray(raw.numpy())
    if not isinstance(raw, np.ndarray):
        raise EvaluationError(f"{name}.score returned {type(raw).__name__}; expected a numpy array or torch tensor")
    if raw.dtype != np.float32:
        raise EvaluationError(f"{name}.score returned {raw.dtype}; the contract asks for float32")
    return np.ascontiguousarray(raw)


def _rank_numpy(scores: np.ndarray, k: int, exclude, priority, targets, config: EvalConfig):
    n_items = scores.shape[1]
    chunk = config.chunk_size or n_items
    if chunk >= n_items:
        return kernels.masked_topk(scores, k, exclude=exclude, priority=priority, targets=targets,
                                   ties=config.ties, threads=config.threads)
    state = kernels.TopKState(scores.shape[0], k)
    for start in range(0, n_items, chunk):
        block = np.ascontiguousarray(scores[:, start:start + chunk])
        state.update(block, start, exclude=exclude, priority=priority, targets=targets,
                     ties=config.ties, threads=config.threads)
    ids, top = state.result()
    return ids, top, state.boundary_ties()


def _rank_torch(scores, k, exclude, priority, targets, config: EvalConfig):
    import torch

    from recplug.evaluation.ranking_torch import metrics_torch, topk_torch

    tensor = scores if isinstance(scores, torch.Tensor) else torch.from_numpy(scores)
    ids, _, boundary = topk_torch(tensor, k, exclude=exclude, priority=priority, targets=targets,
                                  tier=TIE_TIER[config.ties])
    metrics = metrics_torch(ids, targets, tensor.shape[1], config.ks)
    return (ids.cpu().numpy().astype(np.int32), boundary.cpu().numpy(),
            {m: v.cpu().numpy() for m, v in metrics.items()})


def _factors(model: Any, batch: ScoreBatch) -> tuple[np.ndarray, np.ndarray] | None:
    """(user vectors [B, d], item vectors [N, d]) float32 numpy when the model offers them on CPU."""
    method = getattr(model, "score_factors", None)
    if method is None or batch.device != "cpu":
        return None
    user_vecs, item_vecs = method(batch)
    to_np = lambda a: np.ascontiguousarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a,  # noqa: E731
                                           dtype=np.float32)
    user_vecs, item_vecs = to_np(user_vecs), to_np(item_vecs)
    if user_vecs.shape[0] != len(batch) or item_vecs.shape[0] != batch.n_items or \
            user_vecs.shape[1] != item_vecs.shape[1]:
        raise EvaluationError(f"{type(model).__name__}.score_factors returned shapes {user_vecs.shape} and "
                              f"{item_vecs.shape}; expected ({len(batch)}, d) and ({batch.n_items}, d)")
    return user_vecs, item_vecs


class Collector:
    """The users to evaluate, their batches, and the per-user metrics filled batch by batch.

    Shared by full-ranking and sampled evaluation, so both report the same way.
    """

    def __init__(self, split: Split, which: str, config: EvalConfig):
        self.start_time = time.perf_counter()
        self.which, self.config = which, config
        self.history = split.history(which)
        self.targets = split.targets(which)
        self.users = self.targets.users()
        self.n_items = self.history.n_items
        self.seq_indptr, self.seq_items = self.history.sequences()
        self.priority = tie_priority(self.n_items, config.seed)
        self.per_user = {metric_name(m, kk): np.zeros(len(self.users), dtype=np.float32)
                         for m in config.metrics for kk in config.ks}
        self.lists = ListStats(config.ks, split.train.item_popularity())
        self.boundary_ties = 0

    def batches(self, device: str) -> Iterator[tuple[int, np.ndarray, ScoreBatch]]:
        """(offset of the batch in ``users``, its user indices, its ScoreBatch)."""
        for start in range(0, len(self.users), self.config.batch_size):
            batch_users = self.users[start:start + self.config.batch_size]
            yield start, batch_users, make_batch(batch_users, self.seq_indptr, self.seq_items,
                                                 self.n_items, device)

    def batch_targets(self, batch_users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return csr_rows(self.targets.indptr, self.targets.items, batch_users)

    def add(self, start: int, ids: np.ndarray, metrics: dict[str, np.ndarray],
            boundary: np.ndarray | None = None) -> None:
        """Record one batch: top-K ids ``[B, K]``, kernel metrics ``{m: [len(ks), B]}``, boundary ties."""
        stop = start + ids.shape[0]
        for m in self.config.metrics:
            for row, kk in enumerate(self.config.ks):
                self.per_user[metric_name(m, kk)][start:stop] = metrics[m][row]
        self.lists.add(ids)
        if boundary is not None:
            self.boundary_ties += int(np.count_nonzero(boundary))

    def result(self, *, tie_rate: bool = True, **info: Any) -> EvalResult:
        n = len(self.users)
        summary = {name: float(values.astype(np.float64).mean()) if n else float("nan")
                   for name, values in self.per_user.items()}
        summary.update(self.lists.summary())
        rate = (self.boundary_ties / n if n else 0.0) if tie_rate else None
        return EvalResult(which=self.which, protocol=self.config.protocol, users=self.users,
                          per_user=self.per_user, summary=summary, boundary_tie_rate=rate,
                          seconds=time.perf_counter() - self.start_time,
                          info={"n_users": int(n), "n_items": int(self.n_items),
                                "ties": self.config.ties, **info})


def evaluate(model: Any, split: Split, which: str = "test", config: EvalConfig | None = None,
             *, device: str = "cpu") -> EvalResult:
    """Evaluate a fitted ``model`` on ``split``'s ``which`` targets ("valid" or "test")."""
    config = config or EvalConfig()
    if config.negatives is not None:
        from recplug.evaluation.sampled import evaluate_sampled

        return evaluate_sampled(model, split, which, config, device=device)
    run = Collector(split, which, config)
    hist = run.history.csr()
    hist_indptr, hist_items = hist.indptr.astype(np.int64), hist.indices.astype(np.int32)
    k, threads = config.max_k, config.threads
    for start, batch_users, batch in run.batches(device):
        exclude = csr_rows(hist_indptr, hist_items, batch_users)
        targets = run.batch_targets(batch_users)
        factors = _factors(model, batch) if not config.force_torch else None
        if factors is not None:
            ids, _, boundary = kernels.fused_topk(*factors, k, exclude=exclude, priority=run.priority,
                                                  targets=targets, ties=config.ties, threads=threads)
            metrics = kernels.ranking_metrics(ids, targets, config.ks, threads=threads)
        else:
            scores = _as_scores(model.score(batch), batch, model)
            if config.force_torch or not isinstance(scores, np.ndarray):
                ids, boundary, metrics = _rank_torch(scores, k, exclude, run.priority, targets, config)
            else:
                ids, _, boundary = _rank_numpy(scores, k, exclude, run.priority, targets, config)
                metrics = kernels.ranking_metrics(ids, targets, config.ks, threads=threads)
        run.add(start, ids, metrics, boundary)
    return run.result()
