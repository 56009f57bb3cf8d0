"""Sampled-negative evaluation (paper reproduction only; results are labelled sampled).

Each evaluated user's targets are ranked among ``negatives`` items drawn without
replacement, uniformly or by training popularity, never among the user's history or
targets. Negatives depend only on the seed, so every model sees the same candidates.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from recplug import kernels
from recplug.evaluation.batches import csr_rows, make_batch
from recplug.evaluation.config import TIE_TIER, EvalConfig, metric_name
from recplug.evaluation.lists import ListStats
from recplug.splits.base import Split


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
                     *, device: str = "cpu"):
    from recplug.evaluation.evaluator import EvalResult, _as_scores, _store, tie_priority

    start_time = time.perf_counter()
    history = split.history(which)
    targets = split.targets(which)
    users = targets.users()
    n_items = history.n_items
    seq_indptr, seq_items = history.sequences()
    pos_indptr, pos_items = _positives(history.csr(), targets, history.n_users)
    popularity = None
    if config.sampler == "popularity":
        popularity = split.train.item_popularity().astype(np.float64)
    negatives = kernels.sample_negatives(users, pos_indptr, pos_items, n_items, config.negatives,
                                         seed=config.seed, popularity=popularity, replace=False,
                                         threads=config.threads)
    priority = tie_priority(n_items, config.seed)
    per_user = {metric_name(m, kk): np.zeros(len(users), dtype=np.float32)
                for m in config.metrics for kk in config.ks}
    lists = ListStats(config.ks, split.train.item_popularity())
    counts = targets.counts()
    for start in range(0, len(users), config.batch_size):
        batch_users = users[start:start + config.batch_size]
        stop = start + len(batch_users)
        batch = make_batch(batch_users, seq_indptr, seq_items, n_items, device)
        scores = _as_scores(model.score(batch), batch, model)
        if not isinstance(scores, np.ndarray):
            scores = scores.cpu().numpy()
        t_indptr, t_items = csr_rows(targets.indptr, targets.items, batch_users)
        width = int(counts[batch_users].max())
        cand = np.full((len(batch_users), width + config.negatives), -1, dtype=np.int64)
        lengths = np.diff(t_indptr)
        cols = np.arange(width)
        mask = cols[None, :] < lengths[:, None]
        cand[:, :width][mask] = t_items
        cand[:, width:] = negatives[start:stop]
        is_target = np.zeros(cand.shape, dtype=bool)
        is_target[:, :width] = mask
        cand_scores = np.take_along_axis(scores, np.maximum(cand, 0), axis=1)
        ids = rank_candidates(cand_scores, cand, is_target, priority, TIE_TIER[config.ties], config.max_k)
        metrics = kernels.ranking_metrics(ids, (t_indptr, t_items), config.ks, threads=config.threads)
        _store(per_user, metrics, config, start, stop)
        lists.add(ids)
    summary = {name: float(v.astype(np.float64).mean()) if len(v) else float("nan")
               for name, v in per_user.items()}
    summary.update(lists.summary())
    return EvalResult(which=which, protocol=config.protocol, users=users, per_user=per_user,
                      summary=summary, boundary_tie_rate=None,
                      seconds=time.perf_counter() - start_time,
                      info={"n_users": int(len(users)), "n_items": int(n_items), "ties": config.ties,
                            "negatives": config.negatives, "sampler": config.sampler})
