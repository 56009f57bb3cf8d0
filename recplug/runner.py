"""``recplug eval`` as a library call: check -> dataset -> split -> fit -> evaluate -> store.

:func:`prepare` checks the whole request before any data are read (every option, every
model class and its hyperparameters, the devices) and :func:`run_eval` opens the store
before loading the dataset, so a bad request fails at once and writes nothing.

Every (model, seed) is one run in the results store. A process claims a configuration
before running it (``store.claim``; another process's live claim makes it "busy"), keeps
the claim alive while it fits and evaluates, and finalises it as done, failed or
interrupted. A failing model is recorded and reported and never stops the others; an
interrupted fit (Ctrl-C, SIGTERM) is stored as interrupted, never evaluated, and stops the
whole request with :class:`EvalInterrupted` (exit 130 / 143). Runs already done with the
same configuration are skipped unless ``rerun`` is set.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Protocol

from recplug.contract import EpochReport, FitOptions, TrainData, param_names
from recplug.data.dataset import DataOptions, check_source
from recplug.errors import ConfigError, RecplugError
from recplug.evaluation import EvalConfig, SplitValidator, evaluate
from recplug.params import check_unscoped_used, params_for


@dataclass
class EvalRequest:
    """Everything ``recplug eval`` was asked to do.

    ``max_epochs``: the epoch budget (None = each model's default); ``patience``:
    validation rounds without improvement before early stopping; ``refit``: after early
    stopping, refit on train + validation for the chosen number of epochs, then test.
    """

    models: list[str]
    dataset: str
    split: str = "loo"
    split_params: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    eval_config: EvalConfig = field(default_factory=EvalConfig)
    overrides: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    device: str = "auto"
    threads: int = 0
    max_epochs: int | None = None
    patience: int = 5
    validation_metric: str = "NDCG@10"
    refit: bool = False
    data_options: DataOptions = field(default_factory=DataOptions)
    db: str | None = None
    rerun: bool = False


@dataclass
class RunOutcome:
    model: str
    seed: int
    #: "done", "skipped" (already in the store), "busy" (another process runs it) or "failed"
    status: str
    run_id: int | None
    summary: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    fit_seconds: float | None = None
    eval_seconds: float | None = None
    boundary_tie_rate: float | None = None  #: share of users whose top-K cut is decided by a tie
    training: dict[str, Any] = field(default_factory=dict)  #: what training did (epochs run, ...)


class EvalInterrupted(RecplugError):
    """A fit was interrupted (Ctrl-C or SIGTERM); its run is stored as interrupted and the
    request stopped. ``exit_code`` is 130 (SIGINT) or 143 (SIGTERM); ``outcomes`` are the
    runs finished before it."""

    def __init__(self, message: str, signal_name: str, outcomes: list[RunOutcome]):
        super().__init__(message)
        self.signal_name = signal_name
        self.exit_code = 128 + int(getattr(signal, signal_name, signal.SIGINT))
        self.outcomes = outcomes


class Reporter(Protocol):
    """What the runner tells its caller (the CLI draws progress bars from it)."""

    def stage(self, message: str) -> None: ...
    def fit_started(self, model: str, seed: int, max_epochs: int | None) -> Callable[[EpochReport], None]: ...
    def fit_finished(self, model: str, seed: int) -> None: ...
    def outcome(self, outcome: RunOutcome) -> None: ...


class SilentReporter:
    def stage(self, message: str) -> None:
        pass

    def fit_started(self, model: str, seed: int, max_epochs: int | None):
        return lambda report: None

    def fit_finished(self, model: str, seed: int) -> None:
        pass

    def outcome(self, outcome: RunOutcome) -> None:
        pass


@dataclass(frozen=True)
class PlannedModel:
    """One requested model, loaded and configured: ``params`` are the overrides that apply
    to it, ``hyperparameters`` its full ``get_params()`` after them, ``device`` resolved."""

    name: str
    cls: type
    info: Any
    params: dict[str, Any]
    hyperparameters: dict[str, Any]
    device: str

    @property
    def iterative(self) -> bool:
        return bool(getattr(self.cls.tags, "iterative", True))


def peak_memory_bytes() -> int:
    """Peak resident memory of this process so far (bytes; Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


# ---- checked before any work -----------------------------------------------------------
def check_request(request: EvalRequest) -> None:
    """ConfigError naming the argument for any option out of range (no model, no data)."""
    from recplug.evaluation.config import METRICS
    from recplug.evaluation.validation import parse_metric
    from recplug.splits import check_split

    if not request.models:
        raise ConfigError("models: name at least one model (see `recplug models`)")
    if not request.seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in request.seeds):
        raise ConfigError(f"seeds must be one or more integers >= 0, got {request.seeds!r}")
    if request.max_epochs is not None and (isinstance(request.max_epochs, bool) or request.max_epochs < 1):
        raise ConfigError(f"max_epochs must be an integer >= 1 (unset: each model's default), "
                          f"got {request.max_epochs!r}")
    if isinstance(request.patience, bool) or request.patience < 1:
        raise ConfigError(f"patience must be an integer >= 1 (validation rounds without improvement), "
                          f"got {request.patience!r}")
    if isinstance(request.threads, bool) or request.threads < 0:
        raise ConfigError(f"threads must be an integer >= 0 (0 = all cores), got {request.threads!r}")
    try:
        key, k = parse_metric(request.validation_metric)
    except ConfigError as exc:
        raise ConfigError(f"validation_metric: {exc}") from None
    if key not in METRICS or k < 1:
        raise ConfigError(f"validation_metric {request.validation_metric!r} needs a ranking metric at a "
                          f"cut-off K >= 1, e.g. NDCG@10")
    check_split(request.split, request.split_params)
    request.data_options.check()


@dataclass(frozen=True)
class Plan:
    """A checked request and its configured models (:func:`prepare`), ready to run."""

    request: EvalRequest
    models: list[PlannedModel]


def prepare(request: EvalRequest) -> Plan:
    """Check ``request`` and configure every model, before any data are read.

    Loads each model class, constructs it with its overrides, checks the hyperparameters
    against the class's declared constraints and resolves the device it runs on; then
    checks that the dataset exists (a path, or a registered name that can be had).
    """
    from recplug.discovery import load_model_class
    from recplug.training.constraints import check_model_params
    from recplug.training.device import resolve_device

    check_request(request)
    loaded = {name: load_model_class(name) for name in dict.fromkeys(request.models)}
    check_unscoped_used(request.overrides, {name: param_names(cls) for name, (cls, _) in loaded.items()})
    planned = []
    for name, (cls, info) in loaded.items():
        params = params_for(name, param_names(cls), request.overrides)
        try:
            model = cls(**params)
        except RecplugError:
            raise
        except Exception as exc:  # a plugin's __init__ refusing a value
            raise ConfigError(f"{name}: hyperparameters {params} are refused: {type(exc).__name__}: {exc}") from None
        hyperparameters = model.get_params()
        check_model_params(cls, hyperparameters)
        device = resolve_device(request.device, supports_cuda=bool(getattr(cls.tags, "supports_cuda", False)))
        planned.append(PlannedModel(name, cls, info, params, hyperparameters, str(device)))
    check_source(request.dataset, offline=request.data_options.offline)
    return Plan(request, planned)


# ---- signals -------------------------------------------------------------------------------
class _Signals:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread while installed;
    ``received`` names the last one ("SIGINT" / "SIGTERM")."""

    def __init__(self) -> None:
        self.received: str | None = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signal.Signals(signum).name
        raise KeyboardInterrupt(self.received)

    @contextlib.contextmanager
    def installed(self) -> Iterator["_Signals"]:
        if threading.current_thread() is not threading.main_thread():
            yield self  # only the main thread can handle signals; elsewhere Ctrl-C stays as it is
            return
        previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


# ---- the runs -------------------------------------------------------------------------------
def run_eval(request: EvalRequest, reporter: Reporter | None = None) -> list[RunOutcome]:
    """Check, then fit and evaluate every requested model for every seed; returns one
    outcome per run. Raises :class:`EvalInterrupted` when a fit is interrupted (the runs
    before it stay stored)."""
    return run_plan(prepare(request), reporter)


def run_plan(plan: Plan, reporter: Reporter | None = None) -> list[RunOutcome]:
    """:func:`run_eval` for a request already checked by :func:`prepare`."""
    from recplug.data import load_dataset
    from recplug.splits import make_split
    from recplug.store import ResultStore

    reporter = reporter or SilentReporter()
    request, planned = plan.request, plan.models
    outcomes: list[RunOutcome] = []
    signals = _Signals()
    with ResultStore(request.db) as store, signals.installed():
        try:
            reporter.stage(f"loading dataset {request.dataset}")
            dataset = load_dataset(request.dataset, **request.data_options.load_kwargs())
            fingerprint = dataset.fingerprint()
            for seed in request.seeds:
                reporter.stage(f"splitting ({request.split}, seed {seed})")
                split = make_split(dataset, request.split, seed=seed, **request.split_params)
                for model in planned:
                    outcome = _one_run(store, request, model, seed, split, dataset.name, fingerprint,
                                       reporter)
                    outcomes.append(outcome)
                    reporter.outcome(outcome)
        except _FitInterrupted as stop:
            name = signals.received or "SIGINT"
            raise EvalInterrupted(f"{stop.what} was interrupted ({name}); its run {stop.run_id} is "
                                  "stored as interrupted and nothing after it ran; run the same "
                                  "command again to redo it", name, outcomes) from None
        except KeyboardInterrupt:
            name = signals.received or "SIGINT"
            done = (f"the {len(outcomes)} run(s) before it are stored" if outcomes
                    else "no run had started")
            raise EvalInterrupted(f"interrupted ({name}) between runs; {done}; run the same command "
                                  "again to go on", name, outcomes) from None
    return outcomes


class _FitInterrupted(Exception):
    def __init__(self, what: str, run_id: int):
        super().__init__(what)
        self.what, self.run_id = what, run_id


def training_spec(plan: PlannedModel, request: EvalRequest) -> dict[str, Any]:
    """The training settings that are part of the run's identity.

    Every model: ``refit``. Iterative models (``tags.iterative``, default True) also
    ``max_epochs``, ``patience`` and the canonical ``valid_metric``, and, when they train on
    the CPU with more threads than training was checked to be independent of
    (``determinism.THREAD_INDEPENDENT_UP_TO``), the thread count: MKL's matrix products
    may then sum in another order.
    """
    from recplug.evaluation.config import metric_name
    from recplug.evaluation.validation import parse_metric
    from recplug.training.determinism import THREAD_INDEPENDENT_UP_TO

    spec: dict[str, Any] = {"refit": bool(request.refit)}
    if plan.iterative:
        spec.update(max_epochs=request.max_epochs, patience=request.patience,
                    valid_metric=metric_name(*parse_metric(request.validation_metric)))
        threads = fit_threads(request)
        if plan.device == "cpu" and threads > THREAD_INDEPENDENT_UP_TO:
            spec["threads"] = threads
    return spec


def fit_threads(request: EvalRequest) -> int:
    """The torch thread count a fit runs with: ``--threads``, else torch's default."""
    import torch

    return int(request.threads or torch.get_num_threads())


def _training_info(model: Any) -> dict[str, Any]:
    """What the fit did, from ``model.train_result_`` when the model used the Trainer."""
    result = getattr(model, "train_result_", None)
    if result is None:
        return {}
    return {"epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
            "stopped": result.stopped, "best_validation": result.best_validation}


def _interrupted(model: Any) -> bool:
    result = getattr(model, "train_result_", None)
    return result is not None and getattr(result, "stopped", None) == "interrupted"


def _one_run(store, request: EvalRequest, plan: PlannedModel, seed: int, split, dataset_name: str,
             fingerprint: str, reporter: Reporter) -> RunOutcome:
    from recplug.store import RunSpec, run_env

    name = plan.name
    config = replace(request.eval_config, seed=seed)
    spec = RunSpec(model=plan.info.qualified_name, plugin_dist=plan.info.dist,
                   plugin_version=plan.info.version, hyperparameters=plan.hyperparameters,
                   dataset=dataset_name, dataset_fingerprint=fingerprint, split=split.name,
                   split_params=_split_params(split), seed=seed, protocol=config.protocol,
                   ties=config.ties, ks=tuple(config.ks), training=training_spec(plan, request))
    claim = store.claim(spec, run_env(plan.device, request.threads or None), rerun=request.rerun)
    if claim.status == "done":
        done = store.run(claim.run_id)
        return RunOutcome(name, seed, "skipped", done.id, dict(done.metrics),
                          fit_seconds=done.fit_seconds, eval_seconds=done.eval_seconds,
                          boundary_tie_rate=done.split_summary.get("boundary_tie_rate"),
                          training=dict(done.training_info or {}))
    if claim.status == "busy":
        return RunOutcome(name, seed, "busy", claim.run_id, error=f"being run by {claim.owner}")
    run_id = claim.run_id
    what = f"{name} (seed {seed})"
    try:
        with store.keep_alive(run_id):
            return _fit_and_evaluate(store, request, plan, seed, split, config, run_id, reporter)
    except KeyboardInterrupt:
        reporter.fit_finished(name, seed)
        store.interrupt_run(run_id, "interrupted while fitting or evaluating (Ctrl-C or SIGTERM)")
        raise _FitInterrupted(what, run_id) from None
    except _FitInterrupted:
        reporter.fit_finished(name, seed)
        store.interrupt_run(run_id, "interrupted while fitting (Ctrl-C or SIGTERM); never evaluated")
        raise
    except Exception as exc:  # a failing model never stops the others
        reporter.fit_finished(name, seed)
        message = f"{type(exc).__name__}: {exc}"
        store.fail_run(run_id, message)
        return RunOutcome(name, seed, "failed", run_id, error=message)


def _fit(plan: PlannedModel, request: EvalRequest, seed: int, train, options: FitOptions, run_id: int):
    """A fresh model fitted on ``train``; _FitInterrupted when the fit was interrupted."""
    from recplug.training.seeding import seed_everything

    model = plan.cls(**plan.params)
    seed_everything(seed)  # the same streams as fit_context, for plugins that skip it
    model.fit(TrainData(train), options)
    if _interrupted(model):
        raise _FitInterrupted(f"{plan.name} (seed {seed})", run_id)
    return model


def _fit_and_evaluate(store, request: EvalRequest, plan: PlannedModel, seed: int, split,
                      config: EvalConfig, run_id: int, reporter: Reporter) -> RunOutcome:
    name, device = plan.name, plan.device
    validator = SplitValidator(split, request.validation_metric, config, device=device)
    progress = reporter.fit_started(name, seed, request.max_epochs)
    options = FitOptions(device=device, seed=seed, threads=request.threads or 0,
                         max_epochs=request.max_epochs, patience=request.patience,
                         progress=progress, validator=validator if validator.available else None)
    start = time.perf_counter()
    if request.refit and not plan.iterative:  # nothing to choose on validation: fit once on both
        model = _fit(plan, request, seed, split.history("test"), replace(options, validator=None), run_id)
        training = _training_info(model)
    else:
        model = _fit(plan, request, seed, split.train, options, run_id)
        training = _training_info(model)
    if request.refit and plan.iterative:
        reporter.stage(f"refitting {name} on train + validation (seed {seed})")
        epochs = refit_epochs(model, request)
        model = _fit(plan, request, seed, split.history("test"),
                     replace(options, max_epochs=epochs, validator=None), run_id)
        training["refit_epochs"] = epochs
    fit_seconds = time.perf_counter() - start
    reporter.fit_finished(name, seed)
    reporter.stage(f"evaluating {name} (seed {seed})")
    result = evaluate(model, split, "test", config, device=device)
    store.finish_run(run_id, metrics=result.summary, users=result.users, per_user=result.per_user,
                     fit_seconds=fit_seconds, eval_seconds=result.seconds,
                     peak_memory_bytes=peak_memory_bytes(),
                     split_summary={**split.summary, "boundary_tie_rate": result.boundary_tie_rate},
                     training=training)
    return RunOutcome(name, seed, "done", run_id, result.summary, fit_seconds=fit_seconds,
                      eval_seconds=result.seconds, boundary_tie_rate=result.boundary_tie_rate,
                      training=training)


def refit_epochs(model: Any, request: EvalRequest) -> int | None:
    """Epochs for the refit: the best epoch of the fit on train (early stopping), else the
    epochs it ran, else the request's budget (a model that reports no ``train_result_``)."""
    result = getattr(model, "train_result_", None)
    if result is not None:
        return result.best_epoch or result.epochs_run or request.max_epochs
    return request.max_epochs


def _split_params(split) -> dict[str, Any]:
    """Split parameters without the seed: the run's seed (RunSpec.seed) is the split's seed,
    so runs of one configuration over several seeds stay comparable."""
    return {k: v for k, v in split.params.items() if k != "seed"}
