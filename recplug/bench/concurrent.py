"""Seconds per epoch of one training job alone and of each of N identical jobs run at once.

Each job is a fresh Python process (``python -m recplug.bench.concurrent --worker``) that
loads the same ML-1M-shaped data (:func:`recplug.bench.train.ml1m_shaped`, generated once
by the parent), builds everything, reports "ready", waits until every job is ready, then
times ``epochs`` epochs of the model's own ``fit`` (so imports, data loading and thread
pool start-up are outside the timing). The solo job runs before and after the concurrent
ones; its figure is the mean of the two, so a drift of the machine's load moves both
sides alike.

Threads per job: an explicit count, or ``0`` -- each job chooses by itself with
:func:`recplug.training.threads.default_threads` as a job started by a user would
(it cannot know about the others) -- or, with ``share=True``, the count an executor hands
each job (:func:`recplug.training.threads.job_threads`), passed through
:func:`recplug.training.threads.job_environment` before the job imports torch.

    python -m recplug.bench.concurrent bpr --jobs 2
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ConcurrentResult", "TARGET_SLOWDOWN", "run"]

#: Each of 2 concurrent jobs on 2 cores should take at most this many times its solo time.
TARGET_SLOWDOWN = 2.3


@dataclass(frozen=True)
class ConcurrentResult:
    """Solo and concurrent seconds per epoch of one model (each job's own figure)."""

    model: str
    jobs: int
    epochs: int
    solo_threads: int
    job_threads: list[int]       #: threads each concurrent job ran with
    solo_s: float                #: seconds per epoch alone (mean of the run before and after)
    solo_runs_s: list[float]     #: the two solo figures
    concurrent_s: list[float]    #: seconds per epoch of each concurrent job

    @property
    def slowdowns(self) -> list[float]:
        """Each concurrent job's seconds per epoch over the solo figure."""
        return [s / self.solo_s for s in self.concurrent_s]

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "jobs": self.jobs, "epochs": self.epochs,
                "solo_threads": self.solo_threads, "job_threads": self.job_threads,
                "solo_s": self.solo_s, "solo_runs_s": self.solo_runs_s,
                "concurrent_s": self.concurrent_s, "slowdowns": self.slowdowns}


def _write_data(path: Path, interactions: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    if interactions is None:
        from recplug.bench.train import ml1m_shaped

        inter = ml1m_shaped().interactions
        interactions = (np.asarray(inter.users), np.asarray(inter.items))
    np.savez(path, users=interactions[0], items=interactions[1])


def _load_data(path: str) -> Any:
    from recplug.contract import TrainData
    from recplug.data.interactions import Interactions, Vocabulary

    arrays = np.load(path)
    users, items = arrays["users"], arrays["items"]
    n_users, n_items = int(users.max()) + 1, int(items.max()) + 1
    return TrainData(Interactions(users, items, Vocabulary(np.arange(n_users)), Vocabulary(np.arange(n_items))))


def _worker(data: str, model: str, threads: int, epochs: int) -> None:
    """One job: load, say ready, wait for "go" on stdin, time the fit, print JSON."""
    from recplug.bench import straight
    from recplug.contract import FitOptions
    from recplug.discovery import load_model_class
    from recplug.training.threads import default_threads, limited_threads

    train = _load_data(data)
    cls, _ = load_model_class(model)
    extra = straight.load(model).params if model in straight.available() else {}
    threads = threads or default_threads()
    options = FitOptions(seed=0, threads=threads, max_epochs=epochs)
    with limited_threads(threads):
        print("ready", flush=True)
        sys.stdin.readline()
        start = time.perf_counter()
        cls(**extra).fit(train, options)
        seconds = time.perf_counter() - start
    print(json.dumps({"seconds_per_epoch": seconds / epochs, "threads": threads}), flush=True)


def _run_jobs(data: Path, model: str, threads: list[int], epochs: int,
              env: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Start one worker per entry of ``threads``, release them together, collect their JSON."""
    procs = []
    for t, e in zip(threads, env):
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "recplug.bench.concurrent", "--worker", str(data), model, str(t), str(epochs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, **e}))
    try:
        for p in procs:
            line = p.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"benchmark job failed before it was ready (exit {p.wait()}): {line!r}")
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, _ = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"benchmark job exited with {p.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


def run(model: str = "bpr", jobs: int = 2, *, epochs: int = 2, threads: int = 0, share: bool = False,
        solo_threads: int | None = None,
        interactions: tuple[np.ndarray, np.ndarray] | None = None) -> ConcurrentResult:
    """Solo vs ``jobs`` concurrent fits of ``model`` (``epochs`` epochs each) on the CPU.

    ``threads``: each job's thread count (0: each job's own :func:`default_threads`).
    ``share``: hand each concurrent job :func:`job_threads` of ``jobs`` instead (and its
    :func:`job_environment`). ``solo_threads``: the solo job's count (default: ``threads``).
    ``interactions``: ``(users, items)`` int32 arrays instead of the ML-1M-shaped data.
    """
    from recplug.training.threads import job_environment, job_threads

    with tempfile.TemporaryDirectory(prefix="recplug-concurrent-") as tmp:
        data = Path(tmp) / "data.npz"
        _write_data(data, interactions)
        solo_t = threads if solo_threads is None else solo_threads
        if share:
            counts = [job_threads(jobs)] * jobs
            envs = [job_environment(c) for c in counts]
        else:
            counts, envs = [threads] * jobs, [{}] * jobs
        before = _run_jobs(data, model, [solo_t], epochs, [{}])[0]
        together = _run_jobs(data, model, counts, epochs, envs)
        after = _run_jobs(data, model, [solo_t], epochs, [{}])[0]
    solo_runs = [before["seconds_per_epoch"], after["seconds_per_epoch"]]
    return ConcurrentResult(model, jobs, epochs, before["threads"], [r["threads"] for r in together],
                            sum(solo_runs) / 2, solo_runs, [r["seconds_per_epoch"] for r in together])


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--worker":
        _worker(args[1], args[2], int(args[3]), int(args[4]))
        return
    import argparse

    parser = argparse.ArgumentParser(prog="python -m recplug.bench.concurrent")
    parser.add_argument("model", nargs="?", default="bpr")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--share", action="store_true")
    ns = parser.parse_args(args)
    result = run(ns.model, ns.jobs, epochs=ns.epochs, threads=ns.threads, share=ns.share)
    print(json.dumps(result.to_dict()))


if __name__ == "__main__":  # pragma: no cover
    main()
