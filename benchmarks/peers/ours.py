"""recplug's side of the peer comparison: writes the data as RecBole atomic files and times
our own ``fit`` per epoch on exactly the rows RecBole trains on.

Run with recplug's environment:

    .venv/bin/python benchmarks/peers/ours.py OUT_DIR --threads 2 --epochs 3

Data: :func:`recplug.bench.train.ml1m_shaped` (6,040 x 3,706, ~1 M distinct pairs; each
user's rows in sequence order). ``OUT_DIR/ml1m-shaped/ml1m-shaped.inter`` holds every row
(``timestamp`` = position in the user's sequence); RecBole leaves each user's last two out
for validation and test (``LS``, ``TO``), so ours trains on the same rows without them.
Prints one JSON object: seconds per epoch of each model (median over ``--epochs``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

#: Hyperparameters both sides use (RecBole's names are mapped in recbole_epochs.py).
SETTINGS = {
    "bpr": {"factors": 64, "batch_size": 2048, "lr": 1e-3, "reg": 0.0},
    "sasrec": {"max_len": 200, "hidden": 50, "n_blocks": 2, "n_heads": 1, "dropout": 0.2, "batch_size": 128,
               "lr": 1e-3, "loss": "ce"},
}


def write_atomic(out_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Write the atomic file; return (users, items) of the training rows (last two per user out)."""
    from recplug.bench.train import ml1m_shaped

    inter = ml1m_shaped().interactions
    users, items = np.asarray(inter.users), np.asarray(inter.items)
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    starts = np.searchsorted(users, users, side="left")
    position = np.arange(len(users)) - starts
    folder = out_dir / "ml1m-shaped"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "ml1m-shaped.inter", "w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for u, i, t in zip(users.tolist(), items.tolist(), position.tolist()):
            f.write(f"{u}\t{i}\t{t}\n")
    counts = np.bincount(users)
    keep = position < counts[users] - 2
    return users[keep], items[keep]


def time_ours(model: str, users: np.ndarray, items: np.ndarray, threads: int, epochs: int) -> list[float]:
    from recplug.contract import FitOptions, TrainData
    from recplug.data.interactions import Interactions, Vocabulary
    from recplug.discovery import load_model_class
    from recplug.training.threads import limited_threads

    n_users, n_items = int(users.max()) + 1, 3706
    train = TrainData(Interactions(users.astype(np.int32), items.astype(np.int32), Vocabulary(np.arange(n_users)),
                                   Vocabulary(np.arange(n_items))))
    cls, _ = load_model_class(model)
    times: list[float] = []

    def progress(report) -> None:
        now = time.perf_counter()
        times.append(now - progress.last)
        progress.last = now

    with limited_threads(threads):
        progress.last = time.perf_counter()
        cls(**SETTINGS[model]).fit(train, FitOptions(seed=0, threads=threads, max_epochs=epochs, progress=progress))
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", default="bpr,sasrec")
    args = parser.parse_args()
    users, items = write_atomic(args.out_dir)
    result = {"rows": int(len(users)), "threads": args.threads, "models": {}}
    for model in args.models.split(","):
        times = time_ours(model, users, items, args.threads, args.epochs)
        # the first epoch also builds the sampler / windows: the median of the later ones is the epoch
        steady = times[1:] or times
        result["models"][model] = {"settings": SETTINGS[model], "epoch_s": times,
                                   "median_epoch_s": statistics.median(steady)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
