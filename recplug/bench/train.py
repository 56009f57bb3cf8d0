"""Seconds per training epoch of a model next to a straightforward torch version of it.

Data: ML-1M-shaped synthetic interactions (6,040 users x 3,706 items, ~1M distinct
pairs, Zipf-like item popularity, per-user counts from 20 up). For model ``NAME`` the
alternative is ``recplug.bench.straight.NAME`` (its contract: :mod:`recplug.bench.straight`):
the *same* network, loss, batch size and optimizer trained one epoch the way most code
does. Ours is the registered model's own ``fit`` for one epoch (shared trainer, sampling
kernels, whole-epoch tensors sliced into batches). Both time one full epoch including
building the network, in alternating rounds.

    python -m recplug.bench.train bpr sasrec
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from recplug.bench import straight
from recplug.bench.common import BenchRow, paired_medians
from recplug.contract import FitOptions, TrainData
from recplug.data.interactions import Interactions, Vocabulary
from recplug.training.threads import limited_threads

SEED = 0  #: seeds both sides of every round


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


# ---- the benchmark --------------------------------------------------------------------

def run(model: str = "bpr", repeats: int = 3, *, threads: int = 2, data: TrainData | None = None,
        params: dict[str, Any] | None = None) -> list[BenchRow]:
    """Median seconds per epoch of ``model`` (a name in ``straight.available()``), ours vs
    its straightforward version, over ``repeats`` alternating rounds (after one warm-up
    epoch each) on the CPU.

    ``data`` defaults to :func:`ml1m_shaped`; the hyperparameters are the model's defaults,
    then the straight module's ``PARAMS`` (BPR: 64 factors, batches of 1,024; SASRec:
    ``max_len=200``, the paper's ML-1M setting), then ``params``.
    Raises ConfigError for a name without a straight module, PluginError when the name
    is not a registered model.
    """
    from recplug.discovery import load_model_class

    alternative = straight.load(model)
    cls, _ = load_model_class(model)
    params = cls(**{**alternative.params, **(params or {})}).get_params()
    train = data if data is not None else ml1m_shaped()
    options = FitOptions(seed=SEED, threads=threads, max_epochs=1)

    def ours() -> None:
        cls(**params).fit(train, options)

    def theirs() -> None:
        alternative.one_epoch(train, dict(params), seed=SEED, threads=threads)

    with limited_threads(threads):
        ours_s, alternative_s = paired_medians(ours, theirs, repeats, min_seconds=0.0)  # epochs are long
    settings = alternative.label or (f"batch={params['batch_size']}" if "batch_size" in params else "")
    shape = ", ".join(filter(None, [f"{train.n_users}x{train.n_items} nnz={train.csr.nnz:,}", settings,
                                    f"cpu threads={threads}"]))
    return [BenchRow(kernel=f"{model} epoch", shape=shape, ours_s=ours_s, alternative=alternative.alternative,
                     alternative_s=alternative_s, target=alternative.target)]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    for name in args or straight.available():
        for row in run(name):
            d = row.to_dict()
            print(f"{d['kernel']:<16} {d['shape']:<55} ours {d['ours_s']:.3f}s  alt {d['alternative_s']:.3f}s  "
                  f"x{d['ratio']:.2f} (target {d['target']:g}) {'met' if d['met'] else 'NOT met'}")


if __name__ == "__main__":  # pragma: no cover
    main()
