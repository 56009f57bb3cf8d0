"""Full-ranking evaluation: stream users in batches, items in chunks, keep per-user metrics.

Scores from the model are masked with each user's history (train for validation,
train + validation for test), ranked with the tie policy, and turned into per-user
metrics by the C++ kernels (numpy / CPU torch scores) or by torch operations (CUDA
scores). A model that declares its factors (:class:`~recplug.contract.FactorModel`) is
ranked on the CPU by the fused scoring + top-K kernel, without a score matrix. Memory is
bounded by one batch of scores, never by users x items.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug import kernels
from recplug.contract import FactorModel, ScoreBatch
from recplug.errors import EvaluationError
from recplug.evaluation.batches import csr_rows
from recplug.evaluation.collector import Collector, EvalResult, as_scores, check_finite, tie_priority
from recplug.evaluation.config import EvalConfig
from recplug.splits.base import Split
from recplug.vocabulary import TIE_TIER

__all__ = ["EvalResult", "evaluate", "factors_of", "tie_priority"]


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


def _float32(name: str, what: str, value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        if value.device.type != "cpu":
            raise EvaluationError(f"{name}.latent_factors returned {what} on {value.device}; factors must be "
                                  "NumPy arrays or CPU torch tensors")
        value = value.detach().numpy()
    array = np.asarray(value)
    if array.dtype != np.float32:
        raise EvaluationError(f"{name}.latent_factors returned {what} as {array.dtype}; the contract asks for float32")
    return np.ascontiguousarray(array)


def factors_of(model: Any, batch: ScoreBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """A :class:`FactorModel`'s factors for ``batch`` as checked float32 NumPy arrays:
    ``(user_vecs [B, d], item_vecs [N, d], item_bias [N] or None)``, all finite."""
    name = type(model).__name__
    user_vecs, item_vecs, item_bias = model.latent_factors(batch)
    user_vecs = _float32(name, "user_vecs", user_vecs)
    item_vecs = _float32(name, "item_vecs", item_vecs)
    item_bias = None if item_bias is None else _float32(name, "item_bias", item_bias)
    d = user_vecs.shape[1] if user_vecs.ndim == 2 else None
    if (user_vecs.shape != (len(batch), d) or item_vecs.shape != (batch.n_items, d)
            or (item_bias is not None and item_bias.shape != (batch.n_items,))):
        raise EvaluationError(
            f"{name}.latent_factors returned shapes {user_vecs.shape}, {item_vecs.shape} and "
            f"{None if item_bias is None else item_bias.shape}; expected ({len(batch)}, d), "
            f"({batch.n_items}, d) and ({batch.n_items},) or None")
    check_finite(model, user_vecs, batch.users, "user factors")
    if not np.isfinite(item_vecs).all() or (item_bias is not None and not np.isfinite(item_bias).all()):
        # every user's scores read every item vector: report the batch's first user
        bad = int((~np.isfinite(item_vecs)).sum()) + (0 if item_bias is None else int((~np.isfinite(item_bias)).sum()))
        raise EvaluationError(f"{name} returned {bad} non-finite item factors (NaN or ±inf), which spoil "
                              f"the scores of every user, first user {int(batch.users[0])}; scores must be finite")
    return user_vecs, item_vecs, item_bias


def _uses_factors(model: Any, batch: ScoreBatch, config: EvalConfig) -> bool:
    return config.use_factors and not config.force_torch and batch.device == "cpu" and isinstance(model, FactorModel)


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
        if _uses_factors(model, batch, config):
            user_vecs, item_vecs, item_bias = factors_of(model, batch)
            ids, _, boundary = kernels.fused_topk(user_vecs, item_vecs, k, exclude=exclude,
                                                  priority=run.priority, targets=targets, ties=config.ties,
                                                  item_bias=item_bias, threads=threads)
            metrics = kernels.ranking_metrics(ids, targets, config.ks, threads=threads)
        else:
            scores = as_scores(model.score(batch), batch, model)
            if config.force_torch or not isinstance(scores, np.ndarray):
                ids, boundary, metrics = _rank_torch(scores, k, exclude, run.priority, targets, config)
            else:
                ids, _, boundary = _rank_numpy(scores, k, exclude, run.priority, targets, config)
                metrics = kernels.ranking_metrics(ids, targets, config.ks, threads=threads)
        run.add(start, ids, metrics, boundary)
    return run.result()
