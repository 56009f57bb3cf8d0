"""Full-ranking evaluation: stream users in batches, items in chunks, keep per-user metrics.

Scores from the model are masked with each user's history (train for validation,
train + validation for test), ranked with the tie policy, and turned into per-user
metrics by the C++ kernels (numpy / CPU torch scores) or by torch operations (CUDA
scores). Memory is bounded by one batch of scores, never by users x items.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

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


def _store(per_user: dict[str, np.ndarray], metrics: dict[str, np.ndarray], config: EvalConfig,
           start: int, stop: int) -> None:
    for m in config.metrics:
        for row, kk in enumerate(config.ks):
            per_user[metric_name(m, kk)][start:stop] = metrics[m][row]


def evaluate(model: Any, split: Split, which: str = "test", config: EvalConfig | None = None,
             *, device: str = "cpu") -> EvalResult:
    """Evaluate a fitted ``model`` on ``split``'s ``which`` targets ("valid" or "test")."""
    config = config or EvalConfig()
    if config.negatives is not None:
        from recplug.evaluation.sampled import evaluate_sampled

        return evaluate_sampled(model, split, which, config, device=device)
    start_time = time.perf_counter()
    history = split.history(which)
    targets = split.targets(which)
    users = targets.users()
    n_items = history.n_items
    seq_indptr, seq_items = history.sequences()
    hist = history.csr()
    hist_indptr, hist_items = hist.indptr.astype(np.int64), hist.indices.astype(np.int32)
    priority = tie_priority(n_items, config.seed)
    k = config.max_k
    per_user = {metric_name(m, kk): np.zeros(len(users), dtype=np.float32)
                for m in config.metrics for kk in config.ks}
    lists = ListStats(config.ks, split.train.item_popularity())
    boundary_ties = 0
    for start in range(0, len(users), config.batch_size):
        batch_users = users[start:start + config.batch_size]
        batch = make_batch(batch_users, seq_indptr, seq_items, n_items, device)
        exclude = csr_rows(hist_indptr, hist_items, batch_users)
        batch_targets = csr_rows(targets.indptr, targets.items, batch_users)
        factors = _factors(model, batch) if not config.force_torch else None
        if factors is not None:
            ids, _, boundary = kernels.fused_topk(*factors, k, exclude=exclude, priority=priority,
                                                  targets=batch_targets, ties=config.ties,
                                                  threads=config.threads)
            metrics = kernels.ranking_metrics(ids, batch_targets, config.ks, threads=config.threads)
            lists.add(ids)
            boundary_ties += int(np.count_nonzero(boundary))
            _store(per_user, metrics, config, start, start + len(batch_users))
            continue
        scores = _as_scores(model.score(batch), batch, model)
        if config.force_torch or not isinstance(scores, np.ndarray):
            ids, boundary, metrics = _rank_torch(scores, k, exclude, priority, batch_targets, config)
        else:
            ids, _, boundary = _rank_numpy(scores, k, exclude, priority, batch_targets, config)
            metrics = kernels.ranking_metrics(ids, batch_targets, config.ks, threads=config.threads)
        _store(per_user, metrics, config, start, start + len(batch_users))
        lists.add(ids)
        boundary_ties += int(np.count_nonzero(boundary))
    summary = {name: float(values.astype(np.float64).mean()) if len(values) else float("nan")
               for name, values in per_user.items()}
    summary.update(lists.summary())
    return EvalResult(which=which, protocol=config.protocol, users=users, per_user=per_user,
                      summary=summary,
                      boundary_tie_rate=boundary_ties / len(users) if len(users) else 0.0,
                      seconds=time.perf_counter() - start_time,
                      info={"n_users": int(len(users)), "n_items": int(n_items), "ties": config.ties})
