"""Timing and the row every benchmark reports."""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

__all__ = ["BenchRow", "median_seconds", "paired_medians"]


@dataclass(frozen=True)
class BenchRow:
    """One comparison: our median seconds vs the alternative's, and the target speed-up."""

    kernel: str
    shape: str
    ours_s: float
    alternative: str
    alternative_s: float
    target: float  #: required ratio alternative_s / ours_s

    @property
    def ratio(self) -> float:
        return self.alternative_s / self.ours_s if self.ours_s > 0 else float("inf")

    @property
    def met(self) -> bool:
        return self.ratio >= self.target

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met}


def median_seconds(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs (seconds)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_medians(ours: Callable[[], Any], alternative: Callable[[], Any],
                   repeats: int, min_seconds: float = 1.0,
                   max_repeats: int = 51) -> tuple[float, float]:
    """Median seconds of two functions timed in alternation (one warm-up each).

    Alternating, with the order swapped every round, exposes both to the same machine load,
    which sequential blocks of runs do not on a shared machine. At least ``repeats`` rounds,
    and more for fast pairs (up to ``max_repeats``) so that the rounds span about
    ``min_seconds``: a burst of load on a shared machine then moves the medians less.
    """
    warm = []
    for fn in (ours, alternative):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    rounds = max(repeats, min(max_repeats, math.ceil(min_seconds / max(sum(warm), 1e-9))))
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(rounds):
        order = (0, 1) if i % 2 == 0 else (1, 0)
        for which in order:
            fn = ours if which == 0 else alternative
            gc.collect()
            start = time.perf_counter()
            fn()
            times[which].append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])
