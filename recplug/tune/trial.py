"""One trial: fit a configuration on the training part and score it on validation only.

:func:`run_trial` is what an executor runs (in this process or as a Ray task): it gets
a :class:`TrialJob` (picklable), the split and a snapshot of the study's finished
trials, and returns a :class:`TrialReport`; it never touches the study's storage or the
results store. The test part of the split is never read: the model is fitted on
``split.train`` and scored by :class:`~recplug.evaluation.SplitValidator` on
``"valid"`` (the validator masks the train history).

Pruning: every validation the trainer makes (``FitOptions.progress`` reports the epoch and
its value) is reported to an in-memory copy of the study holding the snapshot, and the
median pruner decides there; a pruned trial stops at once (the epochs it ran are its
cost). Given the same snapshot this decides exactly as the live study would.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

from recplug.contract import EpochReport, FitOptions, TrainData, reads_items
from recplug.evaluation import EvalConfig, SplitValidator

#: trial states of a report; "interrupted" (Ctrl-C / SIGTERM) never counts against the budget
STATES = ("complete", "pruned", "failed", "interrupted")


@dataclass(frozen=True)
class Pruning:
    """Median pruner settings: no pruning before ``startup_trials`` finished trials nor
    before epoch ``warmup_epochs``."""

    startup_trials: int = 5
    warmup_epochs: int = 0

    def pruner(self):
        import optuna

        return optuna.pruners.MedianPruner(n_startup_trials=self.startup_trials,
                                           n_warmup_steps=self.warmup_epochs)


@dataclass(frozen=True)
class TrialJob:
    """What a trial fits: ``cls(**params)`` with ``seed``, validated on ``metric``
    (higher is better) with ``eval_config``'s tie rule."""

    study: str
    number: int
    model: str
    cls: type
    params: dict
    seed: int
    metric: str
    eval_config: EvalConfig
    device: str = "cpu"
    threads: int = 1
    max_epochs: int | None = None
    patience: int = 5
    pruning: Pruning | None = field(default_factory=Pruning)


@dataclass
class TrialReport:
    """How a trial ended: ``state`` in :data:`STATES`, ``value`` the validation metric
    (the last reported one when pruned), ``intermediate`` ``[(epoch, value)]``, ``epochs``
    run (0 for models that do not train in epochs), ``seconds`` of wall time."""

    study: str
    number: int
    state: str
    value: float | None = None
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    error: str | None = None


class _Pruned(Exception):
    """Raised from the progress hook to stop a pruned fit."""


class _PruningHook:
    """``FitOptions.progress``: reports each validation to a copy of the study, raises
    :class:`_Pruned` when the median pruner says so."""

    def __init__(self, job: TrialJob, snapshot: list) -> None:
        self.intermediate: list[tuple[int, float]] = []
        self.epochs = 0
        self._trial = None
        if job.pruning is not None:
            import optuna

            study = optuna.create_study(direction="maximize", pruner=job.pruning.pruner(),
                                        sampler=optuna.samplers.RandomSampler(seed=0))
            finished = [t for t in snapshot if t.state.is_finished()]
            if finished:
                study.add_trials(finished)
            self._trial = study.ask()

    def __call__(self, report: EpochReport) -> None:
        self.epochs = report.epoch
        if report.validation is None:
            return
        self.intermediate.append((report.epoch, float(report.validation)))
        if self._trial is not None:
            self._trial.report(float(report.validation), report.epoch)
            if self._trial.should_prune():
                raise _Pruned


def run_trial(job: TrialJob, split: Any, snapshot: list | None = None) -> TrialReport:
    """Fit ``job`` on ``split.train`` and return its validation value (see the module
    docstring). ``snapshot``: the study's trials when the job was handed out (FrozenTrials)."""
    from recplug.training.seeding import seed_everything
    from recplug.training.threads import limited_threads

    start = time.perf_counter()
    hook = _PruningHook(job, snapshot or [])
    validator = SplitValidator(split, job.metric, replace(job.eval_config, seed=job.seed), device=job.device)

    def report(state: str, value: float | None = None, error: str | None = None) -> TrialReport:
        return TrialReport(job.study, job.number, state, value, hook.intermediate, hook.epochs,
                           time.perf_counter() - start, error)

    options = FitOptions(device=job.device, seed=job.seed, threads=job.threads,
                         max_epochs=job.max_epochs, patience=job.patience, progress=hook,
                         validator=validator if validator.available else None)
    try:
        with limited_threads(job.threads):
            model = job.cls(**job.params)
            seed_everything(job.seed)
            model.fit(TrainData(split.train, items=split.items if reads_items(job.cls) else None), options)
            result = getattr(model, "train_result_", None)
            if result is not None and result.stopped == "interrupted":
                return report("interrupted", error="interrupted (Ctrl-C or SIGTERM)")
            value = float(validator(model))  # the kept (best) weights, on validation
    except _Pruned:
        last = hook.intermediate[-1][1] if hook.intermediate else None
        return report("pruned", last)
    except KeyboardInterrupt:
        return report("interrupted", error="interrupted (Ctrl-C or SIGTERM)")
    except Exception as exc:  # a failing configuration never stops the study
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return report("failed", error=line)
    if value != value:  # NaN: the model scored nothing usable
        return report("failed", error="the validation metric is NaN")
    return report("complete", value)
