"""Catalogue-level statistics of the recommended top-K lists."""

from __future__ import annotations

import numpy as np


def gini(counts: np.ndarray) -> float:
    """Gini index of non-negative counts over all items (0 = equal exposure, ->1 = concentrated)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = len(x)
    total = x.sum()
    if n == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * ranks - n - 1) @ x / (n * total))


class ListStats:
    """Accumulates recommendation counts per item at each K across user batches.

    ``summary()`` gives ``Coverage@K`` (share of items recommended to anyone),
    ``ARP@K`` (mean over users of the mean training popularity of their list) and
    ``Gini@K`` (of the item exposure counts).
    """

    def __init__(self, ks: tuple[int, ...], popularity: np.ndarray):
        self.ks = ks
        self.popularity = np.asarray(popularity, dtype=np.float64)
        self.counts = {k: np.zeros(len(popularity), dtype=np.int64) for k in ks}
        self.arp_parts: dict[int, list[np.ndarray]] = {k: [] for k in ks}  # per-user ARP, batch by batch
        self.n_users = 0

    def add(self, ids: np.ndarray) -> None:
        """Add a batch of top-L lists (int32 ``[B, L]``, -1 = empty slot)."""
        self.n_users += ids.shape[0]
        for k in self.ks:
            top = ids[:, :k]
            valid = top >= 0
            self.counts[k] += np.bincount(top[valid], minlength=len(self.popularity))
            pops = np.where(valid, self.popularity[np.maximum(top, 0)], 0.0)
            lengths = valid.sum(1)
            self.arp_parts[k].append(pops.sum(1)[lengths > 0] / lengths[lengths > 0])

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        n_items = len(self.popularity)
        for k in self.ks:
            out[f"Coverage@{k}"] = float(np.count_nonzero(self.counts[k]) / n_items) if n_items else 0.0
            # one mean over the concatenated per-user values: independent of the batching
            per_user = np.concatenate(self.arp_parts[k]) if self.arp_parts[k] else np.zeros(0)
            out[f"ARP@{k}"] = float(per_user.sum() / self.n_users) if self.n_users else float("nan")
            out[f"Gini@{k}"] = gini(self.counts[k])
        return out
