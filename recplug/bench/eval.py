"""``recplug bench eval``: full-ranking evaluation of a fixed 64-dim embedding model.

Ours: the recplug evaluator (scoring fused with masking and top-K in the C++ kernels,
metrics kernel). Alternative, in the same run: a torch-only implementation of the same
pipeline (batched matmul into a reused buffer, index_put_ of -inf on the history, topk,
metrics with torch ops).
"""

from __future__ import annotations

import sys

import numpy as np

from recplug.bench.common import BenchRow, paired_medians
from recplug.training.threads import limited_threads

SCALES = {"ml1m": (6_040, 3_706, 1_000_000), "large": (100_000, 50_000, 10_000_000)}


class EmbeddingModel:
    """A fixed dot-product model: scores = U[users] @ V.T (float32)."""

    def __init__(self, user_emb: np.ndarray, item_emb: np.ndarray):
        self.user_emb, self.item_emb = user_emb, item_emb

    def score(self, batch):
        return self.user_emb[batch.users] @ self.item_emb.T

    def latent_factors(self, batch):
        return self.user_emb[batch.users], self.item_emb, None


def _torch_pipeline(user_emb, item_emb, hist_csr, targets, ks, batch_size):
    """The same evaluation written directly in torch (vectorised, no per-user Python loop);
    returns mean NDCG@10 (sanity)."""
    import torch

    from recplug.evaluation.batches import csr_rows
    from recplug.evaluation.ranking_torch import metrics_torch

    users = targets.users()
    U, V = torch.from_numpy(user_emb), torch.from_numpy(item_emb)
    n_items = V.shape[0]
    buffer = torch.empty((batch_size, n_items), dtype=torch.float32)
    minus_inf = torch.tensor(float("-inf"))
    total = 0.0
    for start in range(0, len(users), batch_size):
        bu = users[start:start + batch_size]
        scores = buffer[:len(bu)]
        torch.matmul(U[torch.from_numpy(bu.astype(np.int64))], V.T, out=scores)
        h_ptr, h_items = csr_rows(hist_csr.indptr, hist_csr.indices, bu)
        rows = np.repeat(np.arange(len(bu), dtype=np.int64), np.diff(h_ptr))
        scores.index_put_((torch.from_numpy(rows), torch.from_numpy(h_items.astype(np.int64))), minus_inf)
        top = torch.topk(scores, max(ks), dim=1).indices
        metrics = metrics_torch(top, csr_rows(targets.indptr, targets.items, bu), n_items, tuple(ks))
        total += float(metrics["ndcg"][0].sum())
    return total / len(users)


#: The evaluation should take at most this many times the bare score GEMM (the floor).
FLOOR_FACTOR = 1.5


def _gemm_floor(user_emb: np.ndarray, item_emb: np.ndarray, users: np.ndarray, batch_size: int) -> None:
    """The scores alone: torch (BLAS) GEMM of every evaluated user's batch into a reused buffer."""
    import torch

    U, V = torch.from_numpy(user_emb), torch.from_numpy(item_emb)
    buffer = torch.empty((batch_size, V.shape[0]), dtype=torch.float32)
    index = torch.from_numpy(users.astype(np.int64))
    for start in range(0, len(users), batch_size):
        bu = index[start:start + batch_size]
        torch.matmul(U[bu], V.T, out=buffer[:len(bu)])


def run(scale: str = "ml1m", repeats: int = 5, threads: int = 2) -> list[BenchRow]:
    """Our evaluation vs the torch-only pipeline, and vs the GEMM floor (the fp32 scores alone,
    computed by torch's BLAS in the same batches: ours should take at most 1.5x that)."""
    from recplug.data.synthetic import generate
    from recplug.evaluation import EvalConfig, evaluate
    from recplug.splits import make_split

    n_users, n_items, n_inter = SCALES[scale]
    data = generate(n_users, n_items, n_inter, seed=0)
    split = make_split(data, "loo")
    rng = np.random.default_rng(0)
    user_emb = rng.standard_normal((split.train.n_users, 64), dtype=np.float32)
    item_emb = rng.standard_normal((split.train.n_items, 64), dtype=np.float32)
    model = EmbeddingModel(user_emb, item_emb)
    ks = (10, 20)
    config = EvalConfig(ks=ks, threads=threads, batch_size=2048)
    history = split.test_history().csr()
    users = split.test_targets.users()
    with limited_threads(threads):
        ours, alt = paired_medians(
            lambda: evaluate(model, split, "test", config),
            lambda: _torch_pipeline(user_emb, item_emb, history, split.test_targets, ks, 2048), repeats)
        ours_f, floor = paired_medians(lambda: evaluate(model, split, "test", config),
                                       lambda: _gemm_floor(user_emb, item_emb, users, 2048), repeats)
    shape = f"{n_users:,} users x {n_items:,} items, d=64, K=10,20, all metrics"
    return [BenchRow("full-ranking evaluation", shape, ours, "torch-only pipeline", alt, 4.0),
            BenchRow("evaluation vs GEMM floor", shape + f" (ours within {FLOOR_FACTOR:g}x)", ours_f,
                     "torch GEMM of the scores alone, batches of 2,048", floor, 1 / FLOOR_FACTOR)]


def evaluation_peak_rss(scale: str = "large", threads: int = 2) -> int:
    """Peak resident memory (bytes) of a fresh process that generates the data, splits it and
    evaluates the embedding model with full ranking: shows memory is bounded by the batch.

    The child reports its own high-water mark (``VmHWM`` on Linux): ``ru_maxrss`` would also
    count the pages the child shared with this (possibly large) parent process before ``exec``.
    """
    import subprocess

    code = ("from recplug.bench.eval import _evaluate_once, _own_peak_rss; "
            f"_evaluate_once({scale!r}, {threads}); print(_own_peak_rss())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def _own_peak_rss() -> int:
    """This process's peak resident memory in bytes (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    import resource

    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * scale


def _evaluate_once(scale: str, threads: int) -> None:
    from recplug.data.synthetic import generate
    from recplug.evaluation import EvalConfig, evaluate
    from recplug.splits import make_split

    n_users, n_items, n_inter = SCALES[scale]
    split = make_split(generate(n_users, n_items, n_inter, seed=0), "loo")
    rng = np.random.default_rng(0)
    model = EmbeddingModel(rng.standard_normal((split.train.n_users, 64), dtype=np.float32),
                           rng.standard_normal((split.train.n_items, 64), dtype=np.float32))
    with limited_threads(threads):
        evaluate(model, split, "test", EvalConfig(ks=(10, 20), threads=threads, batch_size=1024))
