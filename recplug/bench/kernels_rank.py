"""Benchmark of the ranking kernels (masked top-K, fused scoring + top-K, metrics) against torch/NumPy.

    python -m recplug.bench.kernels_rank [ml1m|large] [repeats]

Data are synthetic with a MovieLens-like shape: Zipf-like item popularity, power-law user
activity; each user's interactions form the exclusion CSR. Every row times our kernel and
its alternative in the same run, both limited to 2 threads.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from recplug.bench.common import BenchRow, median_seconds, paired_medians
from recplug.errors import ConfigError
from recplug.kernels import fused_topk, masked_topk, ranking_metrics
from recplug.training.threads import limited_threads

THREADS = 2
SCALES = {
    # n_users, n_items, interactions, embedding size, users per timed block (None = all)
    "ml1m": (6_040, 3_706, 1_000_000, 64, None),
    "large": (100_000, 50_000, 10_000_000, 64, 2_000),
}


@dataclass(frozen=True)
class Synthetic:
    """Exclusion CSR (user -> sorted distinct items) and float32 embeddings."""

    indptr: np.ndarray
    items: np.ndarray
    user_emb: np.ndarray
    item_emb: np.ndarray
    priority: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.indptr) - 1

    @property
    def n_items(self) -> int:
        return len(self.item_emb)

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Exclusion CSR of users start..stop-1, re-based to start at row 0."""
        a, b = self.indptr[start], self.indptr[stop]
        return self.indptr[start:stop + 1] - a, self.items[a:b]


def _interactions(rng: np.random.Generator, n_users: int, n_items: int, n_target: int,
                  scale: float) -> np.ndarray:
    """Sorted distinct keys user * n_items + item."""
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    popularity = popularity[rng.permutation(n_items)] / popularity.sum()
    activity = rng.pareto(1.2, n_users) + 1.0
    degree = np.clip(np.rint(activity / activity.sum() * n_target * scale), 5, n_items // 2)
    users = np.repeat(np.arange(n_users, dtype=np.int64), degree.astype(np.int64))
    items = rng.choice(n_items, size=len(users), p=popularity)
    return np.unique(users * n_items + items)


def synthetic(scale: str, seed: int = 0) -> Synthetic:
    """The data set of one scale (deterministic in ``seed``)."""
    n_users, n_items, n_target, d, _ = SCALES[scale]
    rng = np.random.default_rng(seed)
    keys = _interactions(np.random.default_rng(seed), n_users, n_items, n_target, 1.0)
    # popular items repeat within a user; one correction brings the distinct count near target
    keys = _interactions(np.random.default_rng(seed), n_users, n_items, n_target,
                         n_target / len(keys))
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // n_items, minlength=n_users), out=indptr[1:])
    return Synthetic(
        indptr=indptr,
        items=(keys % n_items).astype(np.int32),
        user_emb=(rng.normal(size=(n_users, d)) / d**0.5).astype(np.float32),
        item_emb=rng.normal(size=(n_items, d)).astype(np.float32),
        priority=rng.permutation(n_items).astype(np.int32),
    )


def _torch_mask(indptr: np.ndarray, items: np.ndarray):
    import torch

    rows = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    return torch.from_numpy(rows), torch.from_numpy(items.astype(np.int64))


def _masked_rows(data: Synthetic, n_block: int, shape_note: str, repeats: int) -> list[BenchRow]:
    import torch

    rng = np.random.default_rng(1)
    scores = rng.normal(size=(n_block, data.n_items)).astype(np.float32)
    exclude = data.rows(0, n_block)
    buffer = torch.from_numpy(scores.copy())
    mask = _torch_mask(*exclude)
    minus_inf = torch.tensor(float("-inf"))
    out = []
    for k in (10, 20):
        ids, _, _ = masked_topk(scores, k, exclude=exclude, priority=data.priority, threads=THREADS)
        buffer.index_put_(mask, minus_inf)
        if not np.array_equal(ids, torch.topk(buffer, k).indices.numpy()):  # no ties in normal scores
            raise RuntimeError("masked_topk disagrees with torch.topk on tie-free scores")

        def ours() -> None:
            masked_topk(scores, k, exclude=exclude, priority=data.priority, threads=THREADS)

        def alternative() -> None:
            buffer.index_put_(mask, minus_inf)
            torch.topk(buffer, k)

        ours_s, alternative_s = paired_medians(ours, alternative, repeats)
        out.append(BenchRow(
            kernel=f"masked top-K K={k}",
            shape=f"{n_block} users x {data.n_items} items{shape_note}, {len(exclude[1]):,} excluded",
            ours_s=ours_s, alternative="torch index_put_(-inf) + topk",
            alternative_s=alternative_s, target=3.0))
    return out


def _fused_rows(data: Synthetic, n_block: int, shape_note: str, repeats: int,
                batch: int = 2_048) -> list[BenchRow]:
    import torch

    k = 20
    users = data.user_emb[:n_block]
    batches = [(a, min(a + batch, n_block)) for a in range(0, n_block, batch)]
    excl = [data.rows(a, b) for a, b in batches]

    def ours() -> None:
        for (a, b), ex in zip(batches, excl):
            fused_topk(users[a:b], data.item_emb, k, exclude=ex, priority=data.priority,
                       threads=THREADS)

    user_t, item_t = torch.from_numpy(users), torch.from_numpy(data.item_emb)
    buffer = torch.empty((min(batch, n_block), data.n_items))
    masks = [_torch_mask(*ex) for ex in excl]
    minus_inf = torch.tensor(float("-inf"))

    def alternative() -> None:
        for (a, b), mask in zip(batches, masks):
            scores = buffer[: b - a]
            torch.matmul(user_t[a:b], item_t.T, out=scores)
            scores.index_put_(mask, minus_inf)
            torch.topk(scores, k)

    ours_s, alternative_s = paired_medians(ours, alternative, repeats)
    return [BenchRow(
        kernel="fused scoring + top-K K=20",
        shape=f"{n_block} users x {data.n_items} items x d={users.shape[1]}{shape_note}, "
              f"batches of {batch}",
        ours_s=ours_s, alternative="torch matmul(out=buffer) + index_put_ + topk",
        alternative_s=alternative_s, target=2.0)]


def _full_pass_row(data: Synthetic, repeats: int, batch: int = 4_096, budget_s: float = 6.0) -> BenchRow:
    def ours() -> None:
        for a in range(0, data.n_users, batch):
            b = min(a + batch, data.n_users)
            fused_topk(data.user_emb[a:b], data.item_emb, 20, exclude=data.rows(a, b),
                       priority=data.priority, threads=THREADS)

    return BenchRow(
        kernel="fused scoring + top-K K=20, full pass",
        shape=f"{data.n_users} users x {data.n_items} items x d={data.user_emb.shape[1]}, "
              f"batches of {batch}",
        ours_s=median_seconds(ours, repeats, warmup=0), alternative=f"budget {budget_s:g} s",
        alternative_s=budget_s, target=1.0)


def _metric_inputs(data: Synthetic, k: int = 10) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Top-k lists without repeats, ~15% hits; 1..20 sorted distinct targets per user."""
    rng = np.random.default_rng(2)
    n_users, n_items = data.n_users, data.n_items
    counts = rng.integers(1, 21, size=n_users)
    keys = np.unique(np.repeat(np.arange(n_users, dtype=np.int64), counts) * n_items
                     + rng.integers(0, n_items, size=int(counts.sum())))
    indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // n_items, minlength=n_users), out=indptr[1:])
    items = (keys % n_items).astype(np.int32)
    ids = rng.integers(0, n_items, size=(n_users, k)).astype(np.int32)
    hit = rng.random((n_users, k)) < 0.15
    pick = indptr[:-1, None] + (rng.random((n_users, k)) * np.diff(indptr)[:, None]).astype(np.int64)
    ids[hit] = items[pick[hit]]
    # a top-K list never repeats an item: empty the later copies of a repeated id
    order = np.argsort(ids, axis=1, kind="stable")
    ranked = np.take_along_axis(ids, order, axis=1)
    repeated = np.zeros_like(hit)
    repeated[:, 1:] = ranked[:, 1:] == ranked[:, :-1]
    np.put_along_axis(ids, order, np.where(repeated, -1, ranked), axis=1)
    return ids, (indptr, items)


def numpy_metrics(ids: np.ndarray, targets: tuple[np.ndarray, np.ndarray], n_items: int,
                  k: int) -> dict[str, np.ndarray]:
    """Vectorised NumPy NDCG/Recall/HR@k via searchsorted over sorted user*n_items+item keys.

    Needs targets sorted and distinct within each row (as :class:`~recplug.data.targets.Targets`).
    """
    indptr, items = targets
    n_users = len(ids)
    n_t = np.diff(indptr)
    keys = np.repeat(np.arange(n_users, dtype=np.int64), n_t) * n_items + items
    query = np.arange(n_users, dtype=np.int64)[:, None] * n_items + ids[:, :k]
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    hit = (keys[pos] == query) & (ids[:, :k] >= 0)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[1.0], np.cumsum(discount)])[np.minimum(k, n_t)]
    hits = hit.sum(axis=1)
    has = n_t > 0
    return {
        "hr": (hits > 0).astype(np.float64),
        "recall": np.where(has, hits / np.maximum(n_t, 1), 0.0),
        "ndcg": np.where(has, (hit @ discount) / ideal, 0.0),
    }


def _metric_row(data: Synthetic, repeats: int) -> BenchRow:
    ids, targets = _metric_inputs(data)
    ours = ranking_metrics(ids, targets, [10], threads=THREADS)
    alt = numpy_metrics(ids, targets, data.n_items, 10)
    for name, values in alt.items():
        if not np.allclose(ours[name][0], values, rtol=1e-12, atol=1e-15):
            raise RuntimeError(f"ranking_metrics and the NumPy reference disagree on {name}")
    ours_s, alternative_s = paired_medians(
        lambda: ranking_metrics(ids, targets, [10], threads=THREADS),
        lambda: numpy_metrics(ids, targets, data.n_items, 10), repeats)
    return BenchRow(
        kernel="NDCG/Recall/HR@10 (ours: all six metrics)",
        shape=f"{len(ids)} users, lists of 10, {len(targets[1]):,} targets",
        ours_s=ours_s, alternative="NumPy searchsorted on user*n_items+item keys",
        alternative_s=alternative_s, target=4.0)


def run(scale: str = "ml1m", repeats: int = 5) -> list[BenchRow]:
    """All ranking-kernel rows at ``scale`` ("ml1m" or "large"), each timed against its alternative."""
    if scale not in SCALES:
        raise ConfigError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    data = synthetic(scale)
    block = SCALES[scale][4] or data.n_users
    note = "" if block == data.n_users else f" (block of {block} of {data.n_users} users)"
    with limited_threads(THREADS):
        rows = _masked_rows(data, block, note, repeats)
        rows += _fused_rows(data, block, note, repeats)
        if block != data.n_users:
            rows.append(_full_pass_row(data, max(1, min(repeats, 3))))
        rows.append(_metric_row(data, repeats))
    return rows


def main(argv: list[str]) -> None:
    scale = argv[0] if argv else "ml1m"
    repeats = int(argv[1]) if len(argv) > 1 else 5
    for row in run(scale, repeats):
        print(f"{row.kernel:44s} {row.shape:78s} ours {row.ours_s * 1e3:9.2f} ms  "
              f"{row.alternative} {row.alternative_s * 1e3:9.2f} ms  ratio {row.ratio:6.2f} "
              f"(target {row.target:g}) {'met' if row.met else 'NOT met'}")


if __name__ == "__main__":
    main(sys.argv[1:])
