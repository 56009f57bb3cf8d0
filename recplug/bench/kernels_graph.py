"""Benchmark: negative sampling and CSR x dense aggregation against NumPy / torch.

Run ``python -m recplug.bench.kernels_graph [ml1m|large] [repeats]``. Data are synthetic
with MovieLens-1M-like shape (6,040 users x 3,706 items, ~1M interactions) or a large
shape (100,000 x 50,000, ~10M), with Zipf-like item popularity and skewed user activity.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from recplug import kernels
from recplug.bench.common import BenchRow, paired_medians
from recplug.errors import ConfigError
from recplug.training.threads import limited_threads

THREADS = 2
SCALES = {"ml1m": (6_040, 3_706, 1_000_000), "large": (100_000, 50_000, 10_000_000)}
SAMPLED_ROWS = 1_000_000  # negative sampling: one row per positive, 1M positives
DIM = 64
SAMPLING_TARGET = 8.0
MATMUL_TARGET = 5.0


@dataclass(frozen=True)
class GraphData:
    """User x item interactions as CSR (int64 indptr, int32 item ids sorted per user)."""

    n_users: int
    n_items: int
    indptr: np.ndarray
    items: np.ndarray

    @property
    def nnz(self) -> int:
        return len(self.items)

    def row_users(self) -> np.ndarray:
        """int32 [nnz]: the user of each positive."""
        return np.repeat(np.arange(self.n_users, dtype=np.int32), np.diff(self.indptr))


def make_data(n_users: int, n_items: int, nnz: int, seed: int = 0) -> GraphData:
    """Distinct (user, item) pairs: Zipf(1) item popularity, log-normal user activity."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, n_items + 1)
    item_p = rng.permutation(item_p / item_p.sum())
    user_p = rng.lognormal(0.0, 1.0, n_users)
    user_p /= user_p.sum()
    keys = np.zeros(0, np.int64)
    while len(keys) < nnz:  # draw until enough distinct pairs remain after deduplication
        extra = int((nnz - len(keys)) * 1.3) + 1000
        users = rng.choice(n_users, extra, p=user_p)
        items = rng.choice(n_items, extra, p=item_p)
        keys = np.unique(np.concatenate([keys, users.astype(np.int64) * n_items + items]))
    keys = np.sort(rng.choice(keys, nnz, replace=False))
    users, items = np.divmod(keys, n_items)
    indptr = np.zeros(n_users + 1, np.int64)
    np.cumsum(np.bincount(users, minlength=n_users), out=indptr[1:])
    return GraphData(n_users, n_items, indptr, items.astype(np.int32))


class BitmapSampler:
    """The NumPy alternative: rejection against a user x item bitmap, vectorised.

    Draw every candidate at once, look each up in the bitmap, redraw only the rejected
    ones until none is left. The bitmap is built once, outside the timing (as our
    NegativeSampler is). Beyond 10^9
    cells it is bit-packed (8 users' items per byte row) to stay in memory.
    """

    def __init__(self, data: GraphData, seed: int = 0):
        self.n_items = data.n_items
        self.packed = data.n_users * data.n_items > 1_000_000_000
        users = data.row_users()
        if self.packed:
            self.bitmap = np.zeros((data.n_users, (data.n_items + 7) // 8), np.uint8)
            np.bitwise_or.at(self.bitmap, (users, data.items >> 3),
                             (1 << (data.items & 7)).astype(np.uint8))
        else:
            self.bitmap = np.zeros((data.n_users, data.n_items), bool)
            self.bitmap[users, data.items] = True
        self.rng = np.random.default_rng(seed)

    def _hits(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        if self.packed:
            return (self.bitmap[users, items >> 3] >> (items & 7).astype(np.uint8)) & 1 == 1
        return self.bitmap[users, items]

    def __call__(self, users: np.ndarray, n: int) -> np.ndarray:
        out = self.rng.integers(0, self.n_items, (len(users), n), dtype=np.int32)
        rows, cols = np.nonzero(self._hits(users[:, None], out))
        while len(rows):
            fresh = self.rng.integers(0, self.n_items, len(rows), dtype=np.int32)
            out[rows, cols] = fresh
            still = self._hits(users[rows], fresh)
            rows, cols = rows[still], cols[still]
        return out


def _sampling_rows(data: GraphData, repeats: int) -> list[BenchRow]:
    rng = np.random.default_rng(1)
    users = data.row_users()
    if len(users) > SAMPLED_ROWS:
        users = rng.choice(users, SAMPLED_ROWS, replace=False)
    users = rng.permutation(users).astype(np.int32)  # shuffled, as in a training epoch
    alternative = BitmapSampler(data)
    kind = "bit-packed" if alternative.packed else "bool"
    name = f"NumPy rejection, {kind} bitmap"
    # Both sides hold the positives in a structure built once, outside the timing (a
    # trainer builds it in fit and samples every epoch): our NegativeSampler, their bitmap.
    sampler = kernels.NegativeSampler(data.indptr, data.items, data.n_items, threads=THREADS)
    rows = []
    for n in (1, 100):
        def ours() -> np.ndarray:
            return sampler.sample(users, n, seed=0, threads=THREADS)

        ours_s, alt_s = paired_medians(ours, lambda: alternative(users, n), repeats)
        rows.append(BenchRow("NegativeSampler.sample uniform",
                             f"{len(users):,} rows x {n} (both samplers prebuilt)", ours_s,
                             name, alt_s, SAMPLING_TARGET))
    return rows


def _matmul_row(data: GraphData, repeats: int) -> BenchRow:
    import torch

    indptr, indices, values = kernels.bipartite_norm_adj(data.indptr, data.items, data.n_items,
                                                         threads=THREADS)
    n_nodes = len(indptr) - 1
    dense = np.random.default_rng(2).standard_normal((n_nodes, DIM)).astype(np.float32)
    adj_t = torch.sparse_csr_tensor(torch.from_numpy(indptr.astype(np.int32)),
                                    torch.from_numpy(indices), torch.from_numpy(values),
                                    size=(n_nodes, n_nodes))
    dense_t = torch.from_numpy(dense)

    def ours() -> np.ndarray:
        return kernels.csr_dense_matmul(indptr, indices, values, dense, threads=THREADS)

    def alternative() -> torch.Tensor:
        return torch.sparse.mm(adj_t, dense_t)

    np.testing.assert_allclose(ours(), alternative().numpy(), rtol=1e-4, atol=1e-5)
    ours_s, alt_s = paired_medians(ours, alternative, repeats)
    return BenchRow("csr_dense_matmul", f"{n_nodes:,} nodes, {len(indices):,} edges, d={DIM}",
                    ours_s, "torch.sparse.mm (CSR, int32 indices)", alt_s, MATMUL_TARGET)


def run(scale: str = "ml1m", repeats: int = 5) -> list[BenchRow]:
    """Time both kernels against their alternatives on ``scale`` ("ml1m" or "large").

    Everything runs under ``limited_threads(2)`` and our kernels get ``threads=2``.
    """
    if scale not in SCALES:
        raise ConfigError(f"unknown benchmark scale {scale!r}; choose one of {sorted(SCALES)}")
    data = make_data(*SCALES[scale])
    with limited_threads(THREADS):
        return [*_sampling_rows(data, repeats), _matmul_row(data, repeats)]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    scale = args[0] if args else "ml1m"
    repeats = int(args[1]) if len(args) > 1 else 5
    for row in run(scale, repeats):
        print(f"{row.kernel:30} {row.shape:46} ours {row.ours_s * 1e3:9.2f} ms  "
              f"{row.alternative} {row.alternative_s * 1e3:9.2f} ms  "
              f"ratio {row.ratio:6.2f} (target {row.target:g}) {'met' if row.met else 'NOT met'}")


if __name__ == "__main__":
    main()
