"""``recplug tune`` as a library call: check -> studies on validation -> the best on test.

:func:`prepare_tune` checks the whole request (the eval part through
:func:`recplug.runner.prepare`, every search range against the model's constraints, the
budget, Optuna being installed) before any data are read. :func:`run_tune` then loads the
dataset, makes the study seed's split once, and runs one study per model, every model
with the same :class:`~recplug.tune.budget.Budget`; the objective is the validation
metric only (:mod:`recplug.tune.trial`). Each study runs its trials one after another
(the executor may run the studies of several models at once), so the plain and the Ray
executor give the same trials. :func:`evaluate_best` evaluates each study's best
configuration on the test split over the request's seeds with the ordinary runner; those
runs are linked to their study by tags (:meth:`StudySummary.tags`).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recplug.errors import ConfigError, RecplugError
from recplug.tune.budget import Budget
from recplug.tune.space import Dimension, check_unscoped, model_space
from recplug.tune.study import StudyPlan, StudyRun, StudySummary, journal_path, open_storage
from recplug.tune.trial import Pruning, TrialReport, run_trial


@dataclass
class TuneRequest:
    """What ``recplug tune`` was asked to do.

    ``eval``: models, dataset, split, seeds (``seeds[0]`` is the study seed: its split and
    fit seed serve every trial; all seeds are used for the test runs), the validation
    metric (``eval.valid_metric``, the objective), ``--set`` overrides (fixed in every
    trial), threads, epoch budget and patience, results store. ``space``: search-range
    overrides by model (None: every model). ``pruning``: None turns pruning off.
    """

    eval: Any
    space: dict[str | None, dict[str, Dimension]] = field(default_factory=dict)
    budget: Budget = field(default_factory=Budget)
    pruning: Pruning | None = field(default_factory=Pruning)


@dataclass(frozen=True)
class TunePlan:
    request: TuneRequest
    eval_plan: Any
    spaces: dict[str, dict[str, Dimension]]


class TuneInterrupted(RecplugError):
    """Ctrl-C / SIGTERM during a study: finished trials are kept, the running one is not
    counted; exit 130 / 143."""

    def __init__(self, message: str, signal_name: str):
        super().__init__(message)
        self.exit_code = 128 + int(getattr(signal, signal_name, signal.SIGINT))


class TuneReporter:
    """What the tuner tells its caller; the default says nothing."""

    def stage(self, message: str) -> None:
        pass

    def trial(self, summary: StudySummary, report: TrialReport, trial: Any) -> None:
        pass


def prepare_tune(request: TuneRequest) -> TunePlan:
    """Check everything before any data are read; ConfigError naming the argument."""
    from recplug.extras import require
    from recplug.runner import prepare

    require("optuna")
    if request.eval.task != "ranking":
        raise ConfigError("tuning ranks on a validation metric: task must be 'ranking' (rating models "
                          "are not tuned yet)")
    if request.eval.refit:
        raise ConfigError("refit applies to test runs after early stopping; tuning fits on train and "
                          "validates on validation: drop refit")
    if not isinstance(request.budget, Budget):
        raise ConfigError(f"budget must be a Budget, got {type(request.budget).__name__}")
    spaces = _spaces(request)
    eval_plan = prepare(request.eval)
    return TunePlan(request, eval_plan, spaces)


def _spaces(request: TuneRequest) -> dict[str, dict[str, Dimension]]:
    """Each model's search space, checked (before the runner looks for the dataset)."""
    from recplug.contract import param_names
    from recplug.discovery import load_model_class
    from recplug.params import params_for
    from recplug.runner import check_request

    check_request(request.eval)
    classes = {name: load_model_class(name)[0] for name in dict.fromkeys(request.eval.models)}
    check_unscoped(request.space, {name: param_names(cls) for name, cls in classes.items()})
    spaces = {}
    for name, cls in classes.items():
        fixed = params_for(name, param_names(cls), request.eval.overrides)
        space = model_space(name, cls, request.space, fixed)
        if not space:
            raise ConfigError(f"{name} declares no search ranges and none were given: nothing to "
                              f"tune; add --space {name}.PARAM=RANGE or evaluate it with recplug eval")
        spaces[name] = space
    return spaces


def studies_path(request: TuneRequest) -> Path:
    """The journal file of the request's results store."""
    from recplug.store import default_store_path

    db = request.eval.db
    return journal_path(db if db is not None else default_store_path())


def _study_plans(plan: TunePlan, dataset: Any, split: Any) -> list[StudyPlan]:
    from recplug.runner import training_spec

    request, ev = plan.request, plan.request.eval
    seed = ev.seeds[0]
    config = replace(ev.eval_config, seed=seed)
    out = []
    for model in plan.eval_plan.models:
        space = plan.spaces[model.name]
        identity = {"model": model.info.qualified_name, "fixed": model.params,
                    "space": {k: d.to_dict() for k, d in space.items()},
                    "dataset": dataset.name, "fingerprint": dataset.fingerprint(), "split": split.name,
                    "split_params": {k: v for k, v in split.params.items() if k != "seed"},
                    "seed": seed, "metric": ev.valid_metric, "ties": config.ties,
                    "training": training_spec(model, ev),
                    "pruning": None if request.pruning is None else vars(request.pruning)}
        out.append(StudyPlan(model=model.name, cls=model.cls, dataset=dataset.name, split=split.name,
                             identity=identity, space=space, fixed=dict(model.params),
                             defaults={k: model.hyperparameters[k] for k in space if k in model.hyperparameters},
                             seed=seed, metric=ev.valid_metric, eval_config=config, budget=request.budget,
                             device=model.device, threads=int(ev.threads or 0), max_epochs=ev.max_epochs,
                             patience=ev.patience, pruning=request.pruning))
    return out


def run_tune(plan: TunePlan, executor: Any = None, reporter: TuneReporter | None = None
             ) -> list[StudySummary]:
    """Run (or resume) every study of ``plan`` until its budget is spent; returns their summaries
    in model order. ``executor``: a :mod:`recplug.executors` executor (None: in this process)."""
    from recplug.data import load_dataset
    from recplug.executors import PlainExecutor
    from recplug.runner import Signals
    from recplug.splits import make_split

    reporter = reporter or TuneReporter()
    executor = executor or PlainExecutor()
    ev = plan.request.eval
    reporter.stage(f"loading dataset {ev.dataset}")
    dataset = load_dataset(ev.dataset, **ev.data_options.load_kwargs())
    reporter.stage(f"splitting ({ev.split}, seed {ev.seeds[0]})")
    split = make_split(dataset, ev.split, seed=ev.seeds[0], **ev.split_params)
    if len(split.valid_targets) == 0:
        raise ConfigError(f"split {ev.split!r} of {ev.dataset} has no validation part; tuning scores "
                          "trials on validation only: use a split with one (loo, ratio, temporal)")
    plans = _study_plans(plan, dataset, split)
    if executor.name != "plain":  # a job's threads are the CPUs it asked for
        plans = [replace(p, threads=max(1, int(executor.cpus_per_job))) for p in plans]
    path = studies_path(plan.request)
    storage = open_storage(path)
    runs = [StudyRun(p, storage) for p in plans]
    for run in runs:
        done, _ = run.used()
        what = f"resuming study {run.plan.name} ({done} trials done" if run.resumed else f"study {run.plan.name} (new"
        stale = f"; {run.stale} trial(s) of a killed process not counted" if run.stale else ""
        reporter.stage(f"{what}{stale}) in {path}")
        if run.outside and not run.resumed:
            values = ", ".join(f"{k}={v}" for k, v in run.outside.items())
            reporter.stage(f"note: the defaults of {run.plan.model} ({values}) lie outside its space; "
                           "they are not tried first, so the best may fall below them")
    shared = executor.share(split)
    in_flight: dict[Any, tuple[StudyRun, int]] = {}
    signals = Signals()
    with signals.installed():
        try:
            while True:
                with signals.deferred():  # journal writes are never cut in half
                    busy = {id(run) for run, _ in in_flight.values()}
                    for run in runs:
                        if id(run) not in busy and not run.done():
                            job = run.ask()
                            handle = executor.submit(run_trial, job, shared, run.snapshot())
                            in_flight[handle] = (run, job.number)
                if not in_flight:
                    break
                done = executor.wait_any(list(in_flight))  # a plain trial runs here, interruptible
                with signals.deferred():
                    run, number = in_flight.pop(done.handle)
                    report = done.value if done.error is None else TrialReport(
                        run.plan.name, number, "failed", error=done.error)
                    trial = run.tell(report)
                    reporter.trial(run.summary(), report, trial)
                if report.state == "interrupted" or signals.count:
                    raise KeyboardInterrupt(signals.received)
        except KeyboardInterrupt:
            with signals.deferred():
                executor.cancel(list(in_flight))
                for run in runs:  # every trial asked and not told, submitted or not
                    for number in list(run.asked()):
                        run.abandon(number, "interrupted (Ctrl-C or SIGTERM)")
            name = signals.received or "SIGINT"
            raise TuneInterrupted(f"tuning was interrupted ({name}); every finished trial is kept in {path}; "
                                  "run the same command again to go on", name) from None
    return [run.summary() for run in runs]


def best_request(plan: TunePlan, summaries: list[StudySummary]):
    """The eval request of the studies' best configurations: each model that has one, with
    its ``--set`` values and best parameters, over every seed of the request."""
    ev = plan.request.eval
    best = {m.name: {**m.params, **s.best_params} for m, s in zip(plan.eval_plan.models, summaries)
            if s.best_params is not None}
    return replace(ev, models=list(best), overrides=best)


def evaluate_best(plan: TunePlan, summaries: list[StudySummary], reporter: Any = None,
                  executor: Any = None) -> list:
    """Evaluate every study's best configuration on test (ordinary runs, skipped when done;
    all models in one sweep, so an executor runs them side by side) and tag each run with its
    study (:meth:`StudySummary.tags`); returns the runner's outcomes. A study without a
    complete trial is left out."""
    from recplug.runner import prepare, run_plan, tag_outcome
    from recplug.store import ResultStore

    request = best_request(plan, summaries)
    if not request.models:
        return []
    outcomes = run_plan(prepare(request), reporter, executor=executor)
    tags = {m.name: s.tags() for m, s in zip(plan.eval_plan.models, summaries)}
    with ResultStore(request.db) as store:  # a run stored but not yet tagged is tagged by the next rerun
        for outcome in outcomes:
            tag_outcome(store, outcome, tags[outcome.model])
    return outcomes


def load_summaries(store_path: str | Path | None, *, models: list[str] | None = None,
                   dataset: str | None = None, split: str | None = None) -> list[tuple[Any, StudySummary]]:
    """``(study, summary)`` of the studies in the journal beside ``store_path`` (None: the
    default store) that match the filters, in name order. StoreError-like ConfigError
    when there is no journal."""
    import optuna

    from recplug.extras import require
    from recplug.store import default_store_path
    from recplug.tune.study import summarise

    require("optuna")
    path = journal_path(store_path if store_path is not None else default_store_path())
    if not path.is_file():
        raise ConfigError(f"no studies at {path}; run `recplug tune MODEL --dataset ... --split ...` "
                          "first (or pass the --db of the results store it used)")
    storage = open_storage(path)
    out = []
    for info in sorted(optuna.get_all_study_summaries(storage, include_best_trial=False),
                       key=lambda s: s.study_name):
        attrs = info.user_attrs
        if models and attrs.get("model") not in models:
            continue
        if dataset is not None and attrs.get("dataset") != dataset:
            continue
        if split is not None and attrs.get("split") != split:
            continue
        study = optuna.load_study(study_name=info.study_name, storage=storage)
        out.append((study, summarise(study)))
    return out


