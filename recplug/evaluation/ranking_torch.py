"""Masking, top-K and metrics with torch operations: the path for CUDA scores.

Same ordering and definitions as the C++ kernels (recplug.kernels): an item ranks above
another when its score is higher, then when its tier is higher (targets get +1 under
optimistic ties, -1 under pessimistic), then when its priority is higher. NaN ranks below
every number; excluded items are never returned (id -1, score NaN fill).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from recplug.errors import EvaluationError
from recplug.vocabulary import METRICS

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


def _discounts(length: int) -> tuple[list[float], list[float]]:
    """``discount[r] = 1/log2(r+1)`` and ``ideal[n]`` = sum of the first n, index 0..length, as the kernel.

    Computed in Python's float64 with the C library's log2 and summed in rank order, so
    they are bit-identical to the kernel's tables on any device.
    """
    discount, ideal = [0.0], [0.0]
    for r in range(1, length + 1):
        discount.append(1.0 / math.log2(r + 1.0))
        ideal.append(ideal[-1] + discount[-1])
    return discount, ideal


def first_occurrences(ids: torch.Tensor) -> torch.Tensor:
    """Bool ``[B, L]``: True where ``ids [B, L]`` holds an id not seen earlier in its row."""
    sorted_ids, order = torch.sort(ids, dim=1, stable=True)
    first_sorted = torch.ones_like(sorted_ids, dtype=torch.bool)
    first_sorted[:, 1:] = sorted_ids[:, 1:] != sorted_ids[:, :-1]
    return torch.empty_like(first_sorted).scatter_(1, order, first_sorted)


def running_sums(values: torch.Tensor) -> torch.Tensor:
    """Inclusive prefix sums of ``values [B, L, ...]`` along dim 1, added strictly left to right.

    ``torch.cumsum`` may add in a tree order on CUDA; this loop over L keeps the kernel's
    order (so float64 results match it bit for bit) at L small vector additions.
    """
    out = torch.empty_like(values)
    running = torch.zeros_like(values[:, 0])
    for r in range(values.shape[1]):
        running = running + values[:, r]
        out[:, r] = running
    return out


def _check_metric_inputs(ids: torch.Tensor, targets: tuple[np.ndarray, np.ndarray], n_items: int,
                         ks: tuple[int, ...]) -> None:
    width = ids.shape[1]
    if not ks or any(isinstance(k, bool) or int(k) != k or not 1 <= k <= width for k in ks):
        raise EvaluationError(f"ks must be cut-offs K with 1 <= K <= {width} (the width of ids), got {ks!r}")
    if ids.numel() and bool(((ids < -1) | (ids >= n_items)).any()):
        raise EvaluationError(f"ids must be item ids in [0, {n_items}) or -1 for an empty slot, "
                              f"found {int(ids.min())}..{int(ids.max())}")
    items = targets[1]
    if len(items) and (int(items.min()) < 0 or int(items.max()) >= n_items):
        raise EvaluationError(f"target ids must be in [0, {n_items}), "
                              f"found {int(items.min())}..{int(items.max())}")


def metrics_torch(ids: torch.Tensor, targets: tuple[np.ndarray, np.ndarray], n_items: int,
                  ks: tuple[int, ...]) -> dict[str, torch.Tensor]:
    """Per-user metrics at each K from top-L ``ids [B, L]`` -> {metric: float64 [len(ks), B]}.

    Bit-identical to ``kernels.ranking_metrics`` (README "Metrics"): a row's targets
    (indptr, items) count once each however often they are listed, an id repeated in a
    list hits at its first rank only, -1 slots never hit, rows without targets get 0.
    Sums over ranks run in rank order, as the kernel's do, whatever the device.
    """
    _check_metric_inputs(ids, targets, n_items, ks)
    device = ids.device
    n_rows = ids.shape[0]
    kmax = max(ks)
    ids = ids[:, :kmax].long()
    is_target = _scatter_rows(targets[0], targets[1], (n_rows, n_items), device)
    n_targets = is_target.sum(1)
    hits = is_target.gather(1, ids.clamp(min=0)) & (ids >= 0) & first_occurrences(ids)
    cum_hits = torch.cumsum(hits, 1)  # int64: exact on every device
    discount, ideal = (torch.tensor(t, dtype=torch.float64, device=device) for t in _discounts(kmax))
    ranks = torch.arange(1, kmax + 1, device=device, dtype=torch.float64)
    gains = hits * discount[1:]                   # DCG gain of a hit at each rank
    precisions = hits * (cum_hits / ranks)        # MAP term: precision at each hit rank
    dcg, ap = running_sums(torch.stack([gains, precisions], dim=2)).unbind(2)
    first_rank = (cum_hits == 0).sum(1) + 1       # rank of the first hit (kmax + 1: none)
    out: dict[str, list[torch.Tensor]] = {m: [] for m in METRICS}
    safe_targets = n_targets.clamp(min=1).double()
    for k in ks:
        n_hit = cum_hits[:, k - 1]
        denom = torch.minimum(n_targets, torch.tensor(k, device=device)).clamp(min=1)
        found = n_hit > 0
        out["hr"].append(found.double())
        out["recall"].append(n_hit.double() / safe_targets)
        out["ndcg"].append(dcg[:, k - 1] / ideal[denom])
        out["mrr"].append(torch.where(found, 1.0 / first_rank.double(), 0.0))
        out["precision"].append(n_hit.double() / float(k))
        out["map"].append(ap[:, k - 1] / denom.double())
    has = n_targets > 0
    return {m: torch.where(has, torch.stack(v), 0.0) for m, v in out.items()}
