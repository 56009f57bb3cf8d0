"""Seconds per training epoch of BPR and SASRec next to a straightforward torch version.

Data: ML-1M-shaped synthetic interactions (6,040 users x 3,706 items, ~1M distinct
pairs, Zipf-like item popularity, per-user counts from 20 up). The alternative trains the
*same* network with the *same* loss, batch size and optimizer the way most code does:
negatives drawn with NumPy (rejection against a dense positives matrix) and a default
``torch.utils.data.DataLoader`` over a ``TensorDataset`` with ``shuffle=True``. Ours is the
model's own ``fit`` for one epoch (shared trainer, negative-sampling kernel, whole-epoch
tensors sliced into batches). Both time one full epoch including building the network.

Targets: BPR >= 2x faster per epoch; SASRec (compute-bound) >= 1x.

    python -m recplug.bench.train bpr
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from recplug.bench.common import BenchRow, median_seconds
from recplug.contract import FitOptions, TrainData
from recplug.data.interactions import Interactions, Vocabulary
from recplug.errors import ConfigError
from recplug.training.threads import limited_threads

TARGETS = {"bpr": 2.0, "sasrec": 1.0}
ALTERNATIVE = "torch DataLoader(TensorDataset) + NumPy negatives"


def ml1m_shaped(n_users: int = 6040, n_items: int = 3706, interactions: int = 1_000_000,
                seed: int = 0) -> TrainData:
    """Synthetic implicit feedback shaped like MovieLens-1M (distinct pairs, random order per user)."""
    rng = np.random.default_rng(seed)
    counts = rng.lognormal(mean=0.0, sigma=1.0, size=n_users)
    counts = np.minimum(20 + counts / counts.sum() * max(interactions - 20 * n_users, 0), n_items // 2)
    counts = counts.astype(np.int64)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity = rng.permutation(popularity)
    # distinct items per user by Gumbel top-k over log-popularity (no per-item Python loops)
    users, items = [], []
    log_p = np.log(popularity)
    for start in range(0, n_users, 512):
        stop = min(start + 512, n_users)
        keys = log_p[None, :] + rng.gumbel(size=(stop - start, n_items))
        order = np.argsort(-keys, axis=1)
        for row, u in enumerate(range(start, stop)):
            chosen = order[row, :counts[u]]
            users.append(np.full(len(chosen), u, dtype=np.int32))
            items.append(rng.permutation(chosen).astype(np.int32))
    inter = Interactions(np.concatenate(users), np.concatenate(items), Vocabulary(np.arange(n_users)),
                         Vocabulary(np.arange(n_items)))
    return TrainData(inter)


def numpy_negatives(dense_positives: np.ndarray, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform negative per row of ``users``, resampled while it hits a positive (NumPy)."""
    n_items = dense_positives.shape[1]
    negatives = rng.integers(0, n_items, size=len(users))
    bad = dense_positives[users, negatives]
    while bad.any():
        negatives[bad] = rng.integers(0, n_items, size=int(bad.sum()))
        bad = dense_positives[users, negatives]
    return negatives


# ---- the straightforward alternatives -------------------------------------------------

def _plain_bpr_epoch(train: TrainData, params: dict[str, Any], device: str, seed: int) -> float:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from recplug.models.mf.bpr import BPR

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    csr = train.csr
    module = BPR(**params).build(train.n_users, train.n_items).to(device)
    optimizer = torch.optim.Adam(module.parameters(), lr=params["lr"])
    dense = csr.toarray() > 0
    users = np.repeat(np.arange(train.n_users), np.diff(csr.indptr))
    negatives = numpy_negatives(dense, users, rng)
    data = TensorDataset(torch.from_numpy(users), torch.from_numpy(csr.indices.astype(np.int64)),
                         torch.from_numpy(negatives))
    total = 0.0
    for u, i, j in DataLoader(data, batch_size=params["batch_size"], shuffle=True):
        u, i, j = u.to(device), i.to(device), j.to(device)
        optimizer.zero_grad()
        pu, qi, qj = module.users(u), module.items(i), module.items(j)
        loss = -torch.nn.functional.logsigmoid((pu * (qi - qj)).sum(1)).mean()
        loss = loss + params["reg"] * (pu.square().sum() + qi.square().sum() + qj.square().sum()) / len(u)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total


def _plain_sasrec_epoch(train: TrainData, params: dict[str, Any], device: str, seed: int) -> float:
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    from recplug.models.sequential.sasrec import SASRec
    from recplug.training.sequences import next_item_windows

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    max_len = params["max_len"]
    net = SASRec(**params).build(train.n_users, train.n_items).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=params["lr"], betas=(0.9, 0.98))
    row_users, inputs, targets = next_item_windows(train.seq_indptr, train.seq_items, max_len)
    dense = train.csr.toarray() > 0
    valid = targets != 0
    negatives = np.zeros_like(targets)
    negatives[valid] = numpy_negatives(dense, np.broadcast_to(row_users[:, None], targets.shape)[valid], rng) + 1
    data = TensorDataset(torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(negatives))
    total = 0.0
    for seqs, pos, neg in DataLoader(data, batch_size=params["batch_size"], shuffle=True):
        seqs, pos, neg = seqs.to(device), pos.to(device), neg.to(device)
        optimizer.zero_grad()
        h = net(seqs)
        mask = pos != 0
        pos_logit = (h[mask] * net.items(pos[mask])).sum(-1)
        neg_logit = (h[mask] * net.items(neg[mask])).sum(-1)
        loss = (F.binary_cross_entropy_with_logits(pos_logit, torch.ones_like(pos_logit))
                + F.binary_cross_entropy_with_logits(neg_logit, torch.zeros_like(neg_logit)))
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total


# ---- the benchmark --------------------------------------------------------------------

def run(model: str = "bpr", repeats: int = 3, *, device: str = "cpu", threads: int = 2,
        data: TrainData | None = None, params: dict[str, Any] | None = None) -> list[BenchRow]:
    """Median seconds per epoch of ``model`` ("bpr" or "sasrec"), ours vs the straightforward version.

    ``data`` defaults to :func:`ml1m_shaped`; SASRec uses ``max_len=200`` (the paper's
    ML-1M setting), BPR 64 factors and batches of 1,024; ``params`` overrides hyperparameters.
    """
    from recplug.models.mf.bpr import BPR
    from recplug.models.sequential.sasrec import SASRec

    if model not in TARGETS:
        raise ConfigError(f"model must be one of {sorted(TARGETS)}, got {model!r}")
    train = data if data is not None else ml1m_shaped()
    if model == "bpr":
        ours_model = BPR(factors=64, batch_size=1024)
        plain = _plain_bpr_epoch
    else:
        ours_model = SASRec(max_len=200, hidden=50, batch_size=128, loss="bce")
        plain = _plain_sasrec_epoch
    ours_model.set_params(**(params or {}))
    params = ours_model.get_params()
    options = FitOptions(device=device, seed=0, threads=threads, max_epochs=1)

    with limited_threads(threads):
        ours = median_seconds(lambda: ours_model.clone().fit(train, options), repeats=repeats)
        alternative = median_seconds(lambda: plain(train, params, device, 0), repeats=repeats)
    shape = (f"{train.n_users}x{train.n_items} nnz={train.csr.nnz:,} batch={params['batch_size']} "
             f"{device} threads={threads}")
    return [BenchRow(kernel=f"{model} epoch", shape=shape, ours_s=ours, alternative=ALTERNATIVE,
                     alternative_s=alternative, target=TARGETS[model])]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    models = args or ["bpr", "sasrec"]
    for name in models:
        for row in run(name):
            d = row.to_dict()
            print(f"{d['kernel']:<14} {d['shape']:<55} ours {d['ours_s']:.3f}s  alt {d['alternative_s']:.3f}s  "
                  f"x{d['ratio']:.2f} (target {d['target']:g}) {'met' if d['met'] else 'NOT met'}")


if __name__ == "__main__":  # pragma: no cover
    main()
