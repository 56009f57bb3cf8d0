"""Masking, top-K and metrics with torch operations: the path for CUDA scores.

Same ordering and definitions as the C++ kernels (recplug.kernels): an item ranks above
another when its score is higher, then when its tier is higher (targets get +1 under
optimistic ties, -1 under pessimistic), then when its priority is higher. NaN ranks below
every number; excluded items are never returned (id -1, score NaN fill).
"""

from __future__ import annotations

import numpy as np
import torch

_EXCLUDED = -3e300
_NAN = -2e300
_NEG_INF = -1e300


def _scatter_rows(indptr: np.ndarray, items: np.ndarray, shape: tuple[int, int],
                  device: torch.device) -> torch.Tensor:
    """Dense bool ``[B, N]`` with True at each row's listed items."""
    dense = torch.zeros(shape, dtype=torch.bool, device=device)
    if len(items):
        rows = np.repeat(np.arange(shape[0]), np.diff(indptr))
        dense[torch.as_tensor(rows, device=device), torch.as_tensor(items.astype(np.int64), device=device)] = True
    return dense


def topk_torch(scores: torch.Tensor, k: int, *, exclude: tuple[np.ndarray, np.ndarray],
               priority: np.ndarray, targets: tuple[np.ndarray, np.ndarray] | None, tier: int
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top-``k`` of float32 ``scores [B, N]`` -> (ids int64 [B,k], scores float32 [B,k], boundary_ties bool [B])."""
    device = scores.device
    n_rows, n_items = scores.shape
    key = scores.double()
    key = torch.where(torch.isnan(key), torch.full_like(key, _NAN), key)
    key = torch.where(torch.isneginf(key), torch.full_like(key, _NEG_INF), key)
    excluded = _scatter_rows(exclude[0], exclude[1], (n_rows, n_items), device)
    key = key.masked_fill(excluded, _EXCLUDED)
    prio = torch.as_tensor(priority.astype(np.int64), device=device).expand(n_rows, n_items)
    tie_key = prio + n_items  # tier 0
    if tier and targets is not None:
        is_target = _scatter_rows(targets[0], targets[1], (n_rows, n_items), device)
        tie_key = tie_key + is_target.long() * (tier * n_items)
    first = torch.argsort(tie_key, dim=1, descending=True, stable=True)
    second = torch.argsort(key.gather(1, first), dim=1, descending=True, stable=True)
    order = first.gather(1, second)
    sorted_key = key.gather(1, order)
    width = min(k, n_items)
    ids = order[:, :width].clone()
    top_key = sorted_key[:, :width]
    ids[top_key == _EXCLUDED] = -1
    top_scores = scores.gather(1, order[:, :width]).float()
    top_scores[top_key == _EXCLUDED] = float("nan")
    if width < k:
        ids = torch.cat([ids, torch.full((n_rows, k - width), -1, dtype=ids.dtype, device=device)], 1)
        top_scores = torch.cat([top_scores, torch.full((n_rows, k - width), float("nan"), device=device)], 1)
    if k < n_items:
        kth, nxt = sorted_key[:, k - 1], sorted_key[:, k]
        boundary = (kth == nxt) & (nxt >= _NEG_INF)
    else:
        boundary = torch.zeros(n_rows, dtype=torch.bool, device=device)
    return ids, top_scores, boundary


def metrics_torch(ids: torch.Tensor, targets: tuple[np.ndarray, np.ndarray], n_items: int,
                  ks: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """Per-user metrics at each K from top-L ``ids [B, L]`` -> {metric: float64 [len(ks), B]}."""
    device = ids.device
    n_rows, length = ids.shape
    is_target = _scatter_rows(targets[0], targets[1], (n_rows, n_items), device)
    n_targets = is_target.sum(1).double()
    hits = is_target.gather(1, ids.clamp(min=0)) & (ids >= 0)
    hits = hits.double()
    ranks = torch.arange(1, length + 1, device=device, dtype=torch.float64)
    discounts = 1.0 / torch.log2(ranks + 1.0)
    ideal = torch.cumsum(discounts, 0)
    has = n_targets > 0
    safe_t = n_targets.clamp(min=1)
    out: dict[str, list[torch.Tensor]] = {m: [] for m in ("hr", "recall", "ndcg", "mrr", "precision", "map")}
    cum_hits = torch.cumsum(hits, 1)
    for k in ks:
        h = hits[:, :k]
        n_hit = h.sum(1)
        denom = torch.minimum(n_targets, torch.tensor(float(k), device=device)).clamp(min=1)
        out["hr"].append((n_hit > 0).double())
        out["recall"].append(n_hit / safe_t)
        out["precision"].append(n_hit / k)
        out["ndcg"].append((h * discounts[:k]).sum(1) / ideal[denom.long() - 1])
        out["mrr"].append((h / ranks[:k]).max(1).values if k else torch.zeros(n_rows, device=device))
        out["map"].append((cum_hits[:, :k] / ranks[:k] * h).sum(1) / denom)
    return {m: torch.stack(v) * has for m, v in out.items()}
