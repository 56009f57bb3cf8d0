"""Run a catalogue entry as ordinary ``recplug eval`` runs and compare with the published numbers.

The runs are the same runs ``recplug eval`` would store for that configuration (tags are no
part of a run's identity, so runs already in the store are reused), each tagged
``reproduce=<entry id>``. Our value of a metric is its mean over the entry's seeds, each
seed's value being the mean over its runs (its folds under ``kfold``); the seed spread is
the range of the per-seed values, and a published value is "inside" when the interval it
stands for (± half a unit of its last published decimal: 0.748 is 0.7475-0.7485) meets that
range (with a single seed there is no spread).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from recplug.errors import ConfigError
from recplug.reproduce.catalogue import AVAILABLE, Entry

TAG = "reproduce"  #: the store tag naming the entry a run measures
RANKING_KS = (5, 10, 20, 50)  #: eval's default cut-offs: shared with plain `recplug eval` runs


@dataclass
class MetricComparison:
    """One metric of an entry: published vs ours (``None`` when no run measured it)."""

    metric: str
    published: float
    ours: float | None
    seed_values: list[float] = field(default_factory=list)
    decimals: int = 4  #: the published value's precision

    @property
    def difference(self) -> float | None:
        return None if self.ours is None else self.ours - self.published

    @property
    def spread(self) -> tuple[float, float] | None:
        return (min(self.seed_values), max(self.seed_values)) if len(self.seed_values) > 1 else None

    @property
    def inside(self) -> bool | None:
        """The published value (± its rounding) meets our per-seed range; None with one seed."""
        spread = self.spread
        if spread is None:
            return None
        half = 0.5 * 10.0 ** -self.decimals
        return spread[0] <= self.published + half and self.published - half <= spread[1]

    @property
    def seed_std(self) -> float | None:
        return statistics.stdev(self.seed_values) if len(self.seed_values) > 1 else None


@dataclass
class Reproduction:
    """The outcome of an entry: its comparisons, the run ids used, and runs that failed."""

    entry: Entry
    comparisons: list[MetricComparison]
    run_ids: list[int]
    failed: list[str] = field(default_factory=list)


def _ks(entry: Entry) -> tuple[int, ...]:
    from recplug.evaluation.validation import parse_metric

    return tuple(sorted(set(RANKING_KS) | {parse_metric(m)[1] for m in entry.published}))


def eval_request(entry: Entry, *, db: str | None = None, threads: int = 0, device: str = "auto",
                 seeds: list[int] | None = None, batch_size: int = 1024):
    """The :class:`~recplug.runner.EvalRequest` of ``entry`` (runs tagged with its id)."""
    from recplug.data.dataset import DataOptions
    from recplug.evaluation import EvalConfig
    from recplug.runner import EvalRequest

    config = EvalConfig(batch_size=batch_size, threads=threads)
    if entry.task == "ranking":
        config = EvalConfig(ks=_ks(entry), negatives=entry.negatives, batch_size=batch_size,
                            threads=threads)
    return EvalRequest(models=[entry.model], dataset=entry.dataset, task=entry.task, split=entry.split,
                       split_params=dict(entry.split_params), seeds=list(seeds or entry.seeds),
                       eval_config=config, overrides={entry.model: dict(entry.set)} if entry.set else {},
                       device=device, threads=threads, max_epochs=entry.epochs, patience=entry.patience,
                       refit=entry.refit, data_options=DataOptions(**entry.data), db=db,
                       tags={TAG: entry.id})


def compare(entry: Entry, records: list[Any]) -> list[MetricComparison]:
    """Published vs ours for every published metric, from the entry's done ``records``."""
    by_seed: dict[int, list[Any]] = {}
    for record in records:
        by_seed.setdefault(record.spec.seed, []).append(record)
    comparisons = []
    for metric, published in entry.published.items():
        seed_values = []
        for seed in sorted(by_seed):
            values = [r.metrics[metric] for r in by_seed[seed] if metric in r.metrics]
            if values:
                seed_values.append(statistics.fmean(values))
        ours = statistics.fmean(seed_values) if seed_values else None
        comparisons.append(MetricComparison(metric, published, ours, seed_values, entry.decimals))
    return comparisons


def reproduce(entry: Entry, *, db: str | None = None, threads: int = 0, device: str = "auto",
              seeds: list[int] | None = None, reporter: Any = None, run: bool = True) -> Reproduction:
    """Run ``entry`` (skipping runs already in the store) and compare with its published
    values. ``run=False`` only reads the store: the runs tagged with the entry whose
    configuration is the entry's. ConfigError when this installation cannot run it."""
    from recplug.runner import run_eval
    from recplug.store import ResultStore

    status = entry.availability()
    if run and status != AVAILABLE:
        raise ConfigError(f"entry {entry.id} cannot run here: {status}")
    request = eval_request(entry, db=db, threads=threads, device=device, seeds=seeds)
    failed: list[str] = []
    if run:
        outcomes = run_eval(request, reporter)
        ids = [o.run_id for o in outcomes if o.status in ("done", "skipped") and o.run_id is not None]
        failed = [f"{o.label}: {o.error}" for o in outcomes if o.status == "failed"]
        with ResultStore(db) as store:
            records = [store.run(run_id) for run_id in ids]
    else:
        with ResultStore(db, readonly=True) as store:
            records = [r for r in store.runs_tagged(TAG, entry.id) if _matches(r, request)]
    return Reproduction(entry, compare(entry, records), [r.id for r in records], failed)


def _matches(record: Any, request: Any) -> bool:
    """A stored run of this entry's configuration (the seeds asked for, its protocol)."""
    return record.spec.seed in request.seeds and record.spec.protocol == request.protocol \
        and record.spec.split == request.split
