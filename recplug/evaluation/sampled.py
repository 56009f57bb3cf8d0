"""Sampled-negative evaluation (paper reproduction only; results are labelled sampled).

Each evaluated user's targets are ranked among ``negatives`` items drawn without
replacement, uniformly or by training popularity, never among the user's history or
targets. Negatives depend only on the seed, so every model sees the same candidates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug import kernels
from recplug.evaluation.collector import Collector, EvalResult, as_scores
from recplug.evaluation.config import EvalConfig
from recplug.splits.base import Split
from recplug.vocabulary import TIE_TIER


def _positives(history_csr, targets, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-user sorted union of history items and targets (CSR)."""
    users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(history_csr.indptr))
    t_users = np.repeat(np.arange(n_users, dtype=np.int64), targets.counts())
    keys = np.unique(np.concatenate([users * (1 << 32) + history_csr.indices,
                                     t_users * (1 << 32) + targets.items]))
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys >> 32, minlength=n_users), out=indptr[1:])
    return indptr, (keys & 0xFFFFFFFF).astype(np.int32)


def rank_candidates(cand_scores: np.ndarray, cand_items: np.ndarray, is_target: np.ndarray,
                    priority: np.ndarray, tier: int, k: int) -> np.ndarray:
    """Top-``k`` item ids among each row's candidates (``-1`` = padding), same ordering as the kernels."""
    valid = cand_items >= 0
    score = np.where(np.isnan(cand_scores), -np.inf, cand_scores).astype(np.float64)
    nan_rank = np.isnan(cand_scores)  # NaN below every number
    tie = tier * is_target.astype(np.int64)
    prio = np.where(valid, priority[np.maximum(cand_items, 0)], -1)
    # np.lexsort sorts ascending by the last key first
    order = np.lexsort((-prio, -tie, -score, nan_rank, ~valid), axis=-1)
    top = np.take_along_axis(cand_items, order[:, :k], axis=1)
    if top.shape[1] < k:
        top = np.pad(top, ((0, 0), (0, k - top.shape[1])), constant_values=-1)
    return top.astype(np.int32)


def evaluate_sampled(model: Any, split: Split, which: str, config: EvalConfig,
                     *, device: str = "cpu") -> EvalResult:
    run = Collector(split, which, config)
    pos_indptr, pos_items = _positives(run.history.csr(), run.targets, run.history.n_users)
    popularity = None
    if config.sampler == "popularity":
        popularity = split.train.item_interaction_counts().astype(np.float64)
    negatives = kernels.sample_negatives(run.users, pos_indptr, pos_items, run.n_items, config.negatives,
                                         seed=config.seed, popularity=popularity, replace=False,
                                         threads=config.threads)
    counts = run.targets.counts()
    for start, batch_users, batch in run.batches(device):
        scores = as_scores(model.score(batch), batch, model)
        if not isinstance(scores, np.ndarray):
            scores = scores.cpu().numpy()
        t_indptr, t_items = run.batch_targets(batch_users)
        width = int(counts[batch_users].max())
        cand = np.full((len(batch_users), width + config.negatives), -1, dtype=np.int64)
        mask = np.arange(width)[None, :] < np.diff(t_indptr)[:, None]
        cand[:, :width][mask] = t_items
        cand[:, width:] = negatives[start:start + len(batch_users)]
        is_target = np.zeros(cand.shape, dtype=bool)
        is_target[:, :width] = mask
        cand_scores = np.take_along_axis(scores, np.maximum(cand, 0), axis=1)
        ids = rank_candidates(cand_scores, cand, is_target, run.priority, TIE_TIER[config.ties], config.max_k)
        metrics = kernels.ranking_metrics(ids, (t_indptr, t_items), config.ks, threads=config.threads)
        run.add(start, ids, metrics)
    return run.result(tie_rate=False, negatives=config.negatives, sampler=config.sampler)
