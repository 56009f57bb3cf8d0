"""An eval sweep on an executor: each (model, seed, fold) run is one job; only the driver
touches the results store.

The driver loads the dataset, makes each split once and shares it
(:meth:`~recplug.executors.Executor.share`: Ray's object store), claims every run in the
store (done runs are skipped, another live process's are left to it), submits the claimed
ones and, as each job comes back, finalises its run as done or failed; a heartbeat thread
keeps every claim in flight alive. A job (:func:`fit_and_test`) fits and tests exactly as
the plain runner does (:func:`recplug.runner.fit_on_split`, the same seeds and threads),
so the numbers are identical. Ctrl-C / SIGTERM cancels the jobs, stores their runs as
interrupted and stops (exit 130 / 143); a driver killed outright leaves its claims to a
dead owner, which the next sweep takes over: rerunning finishes only what is missing.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

from recplug.errors import ConfigError


@dataclass
class JobResult:
    """What a job sends back: everything :meth:`ResultStore.finish_run` needs, or ``error``."""

    metrics: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    users: Any = None
    per_user: dict = field(default_factory=dict)
    fit_seconds: float | None = None
    eval_seconds: float | None = None
    peak_memory_bytes: int | None = None
    split_summary: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    boundary_tie_rate: float | None = None
    fallback_predictions: int | None = None
    error: str | None = None


def fit_and_test(request: Any, plan: Any, seed: int, split: Any) -> JobResult:
    """One run's work, wherever the executor runs it: fit on the split as eval does, test."""
    from recplug import runner
    from recplug.training.threads import limited_threads

    config = replace(request.eval_config, seed=seed)
    try:
        with limited_threads(request.threads or 0):
            fitted = runner.fit_on_split(request, plan, seed, split, config)
            result, metrics, summary = runner.score_on_test(request, fitted.model, split, config, plan.device,
                                                    fitted.fitted_on)
    except Exception as exc:  # a failing model is recorded, never stops the sweep
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return JobResult(error=line)
    return JobResult(metrics=metrics, summary=dict(result.summary), users=result.users,
                     per_user=result.per_user, fit_seconds=fitted.seconds, eval_seconds=result.seconds,
                     peak_memory_bytes=runner.peak_memory_bytes(), split_summary={**split.summary, **summary},
                     training=fitted.training, boundary_tie_rate=result.boundary_tie_rate,
                     fallback_predictions=summary.get("fallback_predictions"))


class _Heartbeats:
    """Heartbeat every run id in ``ids`` every ``every`` seconds while running."""

    def __init__(self, store: Any, every: float = 15.0) -> None:
        self.store, self.every = store, every
        self.ids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="recplug-heartbeats", daemon=True)

    def _beat(self) -> None:
        from recplug.errors import StoreError

        while not self._stop.wait(self.every):
            for run_id in list(self.ids):
                try:
                    self.store.heartbeat(run_id)
                except StoreError:
                    continue

    def __enter__(self) -> "_Heartbeats":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def check_plan(plan: Any) -> None:
    """ConfigError for what only the plain executor does (saving or loading model folders)."""
    request = plan.request
    if request.save_model is not None or request.model_dirs:
        raise ConfigError("save_model and model_dirs read and write model folders on this machine: run them "
                          "with the plain executor")


def run_plan_on(executor: Any, plan: Any, reporter: Any = None) -> list:
    """:func:`recplug.runner.run_plan` with every run a job of ``executor``; returns the
    outcomes in the plain runner's order (seed, fold, model)."""
    from recplug import runner
    from recplug.store import ResultStore

    check_plan(plan)
    reporter = reporter or runner.SilentReporter()
    request = replace(plan.request, threads=max(1, int(executor.cpus_per_job)))
    planned = plan.models
    slots: list[Any] = []  # RunOutcome, or (run_id, model, seed, fold) awaiting its job
    in_flight: dict[Any, int] = {}
    signals = runner.Signals()
    with signals.installed():
        dataset = runner.load_dataset_of(request, reporter)  # before the store: unrated data create none
        with ResultStore(request.db) as store, _Heartbeats(store) as beats:
            _sweep(executor, request, planned, dataset, store, beats, signals, slots, in_flight, reporter)
    return slots


def _sweep(executor, request, planned, dataset, store, beats, signals, slots, in_flight, reporter) -> None:
    from recplug import runner
    from recplug.splits import make_split
    from recplug.store import run_env

    try:
        fingerprint = dataset.fingerprint()
        for seed in request.seeds:
            for fold, params in runner.split_runs(request):
                where = "" if fold is None else f", fold {fold}"
                reporter.stage(f"splitting ({request.split}, seed {seed}{where})")
                split = make_split(dataset, request.split, seed=seed, **params)
                shared = None
                for model in planned:
                    spec = runner.run_spec(request, model, seed, split, dataset.name, fingerprint)
                    claim = store.claim(spec, run_env(model.device, request.threads), rerun=request.rerun)
                    if claim.status == "done":
                        done = store.run(claim.run_id)
                        slots.append(runner.RunOutcome(
                            model.name, seed, "skipped", done.id, dict(done.metrics),
                            fit_seconds=done.fit_seconds, eval_seconds=done.eval_seconds,
                            boundary_tie_rate=done.split_summary.get("boundary_tie_rate"),
                            training=dict(done.training_info or {}), fold=fold,
                            fallback_predictions=done.split_summary.get("fallback_predictions")))
                    elif claim.status == "busy":
                        slots.append(runner.RunOutcome(model.name, seed, "busy", claim.run_id,
                                                       error=f"being run by {claim.owner}", fold=fold))
                    else:
                        shared = executor.share(split) if shared is None else shared
                        handle = executor.submit(fit_and_test, request, model, seed, shared)
                        in_flight[handle] = len(slots)
                        beats.ids.add(claim.run_id)
                        slots.append((claim.run_id, model.name, seed, fold))
                        reporter.stage(f"submitted {runner.run_label(model.name, seed, fold)}")
        for outcome in slots:
            if isinstance(outcome, runner.RunOutcome):
                runner.tag_outcome(store, outcome, request.tags)
                reporter.outcome(outcome)
        while in_flight:
            done = executor.wait_any(list(in_flight))
            index = in_flight.pop(done.handle)
            run_id, name, seed, fold = slots[index]
            result = done.value if done.error is None else JobResult(error=done.error)
            outcome = _finish(store, run_id, name, seed, fold, result)
            beats.ids.discard(run_id)
            runner.tag_outcome(store, outcome, request.tags)
            slots[index] = outcome
            reporter.outcome(outcome)
            if signals.count:
                raise KeyboardInterrupt(signals.received)
    except KeyboardInterrupt:
        executor.cancel(list(in_flight))
        for index in in_flight.values():
            run_id = slots[index][0]
            store.interrupt_run(run_id, "interrupted before its job finished (Ctrl-C or SIGTERM)")
        name = signals.received or "SIGINT"
        finished = [o for o in slots if isinstance(o, runner.RunOutcome)]
        raise runner.EvalInterrupted(
            f"interrupted ({name}); {len(in_flight)} run(s) in flight are stored as interrupted, "
            f"{len(finished)} are stored; run the same command again to go on", name, finished) from None


def _finish(store: Any, run_id: int, name: str, seed: int, fold: int | None, result: JobResult):
    from recplug import runner

    if result.error is not None:
        store.fail_run(run_id, result.error)
        return runner.RunOutcome(name, seed, "failed", run_id, error=result.error, fold=fold)
    store.finish_run(run_id, metrics=result.metrics, users=result.users, per_user=result.per_user,
                     fit_seconds=result.fit_seconds, eval_seconds=result.eval_seconds,
                     peak_memory_bytes=result.peak_memory_bytes, split_summary=result.split_summary,
                     training=result.training)
    return runner.RunOutcome(name, seed, "done", run_id, result.summary, fit_seconds=result.fit_seconds,
                             eval_seconds=result.eval_seconds, boundary_tie_rate=result.boundary_tie_rate,
                             training=result.training, fold=fold,
                             fallback_predictions=result.fallback_predictions)
