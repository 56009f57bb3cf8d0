"""``recplug eval`` as a library call: check -> dataset -> split -> fit -> evaluate -> store.

:func:`prepare` checks the whole request before any data are read (every option, every
model class and its hyperparameters, the devices) and :func:`run_eval` opens the store
before loading the dataset, so a bad request fails at once and writes nothing; the rating
task loads the dataset first and checks it has ratings, so unrated data create no store.

Every (model, seed) is one run in the results store; under the rating task
(``task="rating"``: RMSE, MAE and FCP of ``predict``, :mod:`recplug.evaluation.rating`) with
the ``kfold`` split every (model, seed, fold) is one, all models on the same folds. A process claims a configuration
before running it (``store.claim``; another process's live claim makes it "busy"), keeps
the claim alive while it fits and evaluates, and finalises it as done, failed or
interrupted. A failing model is recorded and reported and never stops the others; an
interrupted fit (Ctrl-C, SIGTERM) is stored as interrupted, never evaluated, and stops the
whole request with :class:`EvalInterrupted` (exit 130 / 143). Runs already done with the
same configuration are skipped unless ``rerun`` is set.
"""

from __future__ import annotations

import contextlib
import math
import resource
import signal
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Protocol

from recplug.contract import EpochReport, FitOptions, TrainData, param_names, reads_items
from recplug.data.dataset import DataOptions, check_source
from recplug.errors import ConfigError, RecplugError
from recplug.evaluation import EvalConfig, RatingValidator, SplitValidator, evaluate, evaluate_rating
from recplug.params import check_unscoped_used, params_for
from recplug.vocabulary import RATING_METRICS, RATING_PROTOCOL

TASKS = ("ranking", "rating")  #: what ``recplug eval`` measures; the default first


@dataclass
class EvalRequest:
    """Everything ``recplug eval`` was asked to do.

    ``task``: ``"ranking"`` (rank every item, ``eval_config``) or ``"rating"`` (predict the
    held-out ratings; rating models only). ``max_epochs``: the epoch budget (None = each
    model's default); ``patience``: validation rounds without improvement before early
    stopping; ``validation_metric``: what early stopping watches (None = the task's
    default, NDCG@10 or RMSE); ``refit``: after early stopping, refit on train + validation
    for the chosen number of epochs, then test. With ``split="kfold"`` every fold of
    ``split_params["folds"]`` (default 5) is run, or only ``split_params["fold"]`` when given.

    ``save_model``: a folder; each fitted model is saved in ``<save_model>/<model>-seed<s>``
    (:mod:`recplug.saved_models`: model file + card) after its test evaluation; a run already
    in the store is fitted again unless that folder holds its model. ``model_dirs``: saved
    models to evaluate instead of fitting (``models`` then stays empty): each runs on the
    split, seed and fold in its card, on the dataset it was fitted on. ``tags``: key -> value
    set on every run this request stores or finds done (:meth:`ResultStore.tag_run`).
    ``model_classes``: name -> class for models that are no plugin (the Python API's
    prototypes): used instead of discovery, stored as ``local:<name>`` with a version that
    hashes the class's source (:func:`local_plugin_info`).
    """

    models: list[str]
    dataset: str
    task: str = "ranking"
    split: str = "loo"
    split_params: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    eval_config: EvalConfig = field(default_factory=EvalConfig)
    overrides: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    device: str = "auto"
    threads: int = 0
    max_epochs: int | None = None
    patience: int = 5
    validation_metric: str | None = None
    refit: bool = False
    data_options: DataOptions = field(default_factory=DataOptions)
    db: str | None = None
    rerun: bool = False
    save_model: str | None = None
    model_dirs: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    model_classes: dict[str, type] = field(default_factory=dict)

    @property
    def valid_metric(self) -> str:
        """The validation metric early stopping watches: the one asked for, else the task's."""
        if self.validation_metric is not None:
            return self.validation_metric
        return "RMSE" if self.task == "rating" else "NDCG@10"

    @property
    def protocol(self) -> str:
        """The protocol runs are stored under: ``"rating"``, else the ranking protocol."""
        return RATING_PROTOCOL if self.task == "rating" else self.eval_config.protocol


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
    fold: int | None = None  #: the test fold of a kfold run
    fallback_predictions: int | None = None  #: rating runs: predictions for unseen users/items
    saved_model: str | None = None  #: the folder the fitted (or reused) model is saved in

    @property
    def label(self) -> str:
        return run_label(self.model, self.seed, self.fold)


def run_label(model: str, seed: int, fold: int | None = None) -> str:
    """How a run is named in messages: ``"svd (seed 0, fold 2)"``, ``"bpr (seed 0)"``."""
    return f"{model} (seed {seed}{'' if fold is None else f', fold {fold}'})"


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
    def fit_started(self, model: str, seed: int, max_epochs: int | None, *,
                    fold: int | None = None) -> Callable[[EpochReport], None]: ...
    def fit_finished(self, model: str, seed: int) -> None: ...
    def outcome(self, outcome: RunOutcome) -> None: ...


class SilentReporter:
    def stage(self, message: str) -> None:
        pass

    def fit_started(self, model: str, seed: int, max_epochs: int | None, *, fold: int | None = None):
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
    saved_dir: str | None = None  #: a saved model to evaluate instead of fitting
    saved: Any = None             #: its :class:`~recplug.saved_models.ModelCard`

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

    if not request.models and not request.model_dirs:
        raise ConfigError("models: name at least one model (see `recplug models`)")
    if request.models and request.model_dirs:
        raise ConfigError("model_dirs evaluates saved models instead of fitting: give either models "
                          "or model_dirs, not both")
    if request.model_dirs and request.save_model is not None:
        raise ConfigError("save_model saves models this request fits; model_dirs fits none: drop one")
    for key, value in request.tags.items():
        if not isinstance(key, str) or not key.strip() or not isinstance(value, str):
            raise ConfigError(f"tags must map non-empty strings to strings, got {key!r}: {value!r}")
    if request.task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}, got {request.task!r}")
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
    if request.task == "rating":
        _check_rating_request(request)
    else:
        try:
            key, k = parse_metric(request.valid_metric)
        except ConfigError as exc:
            raise ConfigError(f"validation_metric: {exc}") from None
        if key not in METRICS or k < 1:
            raise ConfigError(f"validation_metric {request.valid_metric!r} needs a ranking metric at a "
                              f"cut-off K >= 1, e.g. NDCG@10")
        if request.split == "kfold":
            raise ConfigError("split 'kfold' cross-validates ratings: it needs task='rating' (RMSE, MAE, "
                              "FCP of rating models); for ranking use loo, ratio or temporal")
    check_split(request.split, request.split_params)
    request.data_options.check()


def _check_rating_request(request: EvalRequest) -> None:
    from recplug.evaluation.rating import rating_metric

    rating_metric(request.valid_metric)
    if request.eval_config.negatives is not None:
        raise ConfigError(f"negatives={request.eval_config.negatives} samples negatives for ranking; "
                          "task='rating' predicts the held-out ratings themselves: drop negatives")


def check_task(name: str, cls: type, task: str) -> None:
    """ConfigError (naming ``task``) when a ranking model is asked for ratings: it has no
    ``tags.task == "rating"`` or no ``predict``."""
    from recplug.evaluation.rating import not_a_rating_model

    why = not_a_rating_model(cls) if task == "rating" else None
    if why is not None:
        raise ConfigError(f"task 'rating' needs rating models, but {name} is a ranking model ({why}); "
                          "drop it, or evaluate it under the ranking task")


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
    if request.model_dirs:
        return _prepare_saved(request)
    loaded = {name: (request.model_classes[name], local_plugin_info(name, request.model_classes[name]))
              if name in request.model_classes else load_model_class(name)
              for name in dict.fromkeys(request.models)}
    check_unscoped_used(request.overrides, {name: param_names(cls) for name, (cls, _) in loaded.items()})
    planned = []
    for name, (cls, _) in loaded.items():
        check_task(name, cls, request.task)
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
        if request.save_model is not None:
            from recplug.saved_models import check_savable

            check_savable(name, cls)
        planned.append(PlannedModel(name, cls, info, params, hyperparameters, str(device)))
    check_source(request.dataset, offline=request.data_options.offline)
    return Plan(request, planned)


def local_plugin_info(name: str, cls: type):
    """The :class:`~recplug.discovery.PluginInfo` of a class given directly (no entry point):
    distribution ``local``, version ``src-<hash of the class's source>`` (so an edited
    prototype is a new configuration, not "already done"), validated like a plugin."""
    import hashlib
    import inspect

    from recplug.discovery import PluginInfo, validate_class

    validate_class(cls)
    try:
        version = "src-" + hashlib.sha256(inspect.getsource(cls).encode()).hexdigest()[:12]
    except (OSError, TypeError):  # no source (built in a REPL without files): identity by name
        version = "0"
    return PluginInfo(name=name, qualified_name=f"local:{name}", dist="local", version=version,
                      target=f"{cls.__module__}:{cls.__qualname__}", status="ok", error=None,
                      tags=getattr(cls, "tags", None))


def _prepare_saved(request: EvalRequest) -> Plan:
    """:func:`prepare` for ``model_dirs``: each card's model, hyperparameters, split and seed;
    the plan's seeds are the cards' seeds."""
    from recplug.discovery import load_model_class
    from recplug.saved_models import FIT_ALL, read_card
    from recplug.training.device import resolve_device

    planned, seeds = [], set()
    for folder in request.model_dirs:
        card = read_card(folder)
        if card.split.get("name") == FIT_ALL:
            raise ConfigError(f"model_dirs: {folder} was fitted on all interactions (no test split); "
                              "evaluating it would score its own training data")
        if card.split.get("name") != request.split:
            raise ConfigError(f"model_dirs: {folder} was fitted on split {card.split.get('name')!r}, "
                              f"not {request.split!r}; evaluate it under split {card.split.get('name')!r}")
        if card.qualified_model is None:
            raise ConfigError(f"model_dirs: {folder} holds an unregistered class {card.model_class}; "
                              "evaluate it from Python with recplug.evaluate")
        cls, info = load_model_class(card.qualified_model)
        check_task(card.model, cls, request.task)
        device = resolve_device(request.device, supports_cuda=bool(getattr(cls.tags, "supports_cuda", False)))
        planned.append(PlannedModel(card.model, cls, info, dict(card.hyperparameters),
                                    dict(card.hyperparameters), str(device), str(folder), card))
        seeds.add(int(card.seed))
    check_source(request.dataset, offline=request.data_options.offline)
    return Plan(replace(request, seeds=sorted(seeds)), planned)


# ---- signals -------------------------------------------------------------------------------
class Signals:
    """SIGINT and SIGTERM raise KeyboardInterrupt in the main thread while installed;
    ``received`` names the last one ("SIGINT" / "SIGTERM") and ``count`` says how many came.

    Library code may swallow the KeyboardInterrupt (an import that catches it half-way and
    fails later with another error): the count tells the runner a signal came all the same.
    Inside :meth:`deferred` a signal is only recorded and raised when the block ends, so a
    write that must not be cut in half (a journal append and its file lock) completes.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self.count = 0
        self._deferring = 0
        self._pending = False

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signal.Signals(signum).name
        self.count += 1
        if self._deferring:
            self._pending = True
            return
        raise KeyboardInterrupt(self.received)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold signals back for the block; KeyboardInterrupt at its end when one came."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if not self._deferring and self._pending:
            self._pending = False
            raise KeyboardInterrupt(self.received)

    @contextlib.contextmanager
    def installed(self) -> Iterator["Signals"]:
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


def run_plan(plan: Plan, reporter: Reporter | None = None, *, executor: Any = None) -> list[RunOutcome]:
    """:func:`run_eval` for a request already checked by :func:`prepare`.

    ``executor``: None or a plain executor runs every fit here, one after another; a Ray
    executor (:mod:`recplug.executors`) runs each (model, seed, fold) as a Ray task
    (:func:`recplug.executors.sweep.run_plan_on`)."""
    from recplug.splits import make_split
    from recplug.store import ResultStore

    if executor is not None and executor.name != "plain":
        from recplug.executors.sweep import run_plan_on

        return run_plan_on(executor, plan, reporter)
    reporter = reporter or SilentReporter()
    request, planned = plan.request, plan.models
    outcomes: list[RunOutcome] = []
    signals = Signals()
    with signals.installed():
        try:
            # rating runs need rated data: checked before the store is opened (or created)
            dataset = load_dataset_of(request, reporter) if request.task == "rating" else None
            with ResultStore(request.db) as store:
                if dataset is None:
                    dataset = load_dataset_of(request, reporter)
                fingerprint = dataset.fingerprint()
                check_saved_data(planned, fingerprint)
                data_card = _data_card(request, dataset)
                for seed in request.seeds:
                    for fold, params in split_runs(request):
                        runs_here = [m for m in planned if _runs_at(m, seed, fold)]
                        if not runs_here:
                            continue
                        where = "" if fold is None else f", fold {fold}"
                        reporter.stage(f"splitting ({request.split}, seed {seed}{where})")
                        split = make_split(dataset, request.split, seed=seed, **params)
                        for model in runs_here:
                            outcome = _one_run(store, request, model, seed, split, dataset.name,
                                               fingerprint, reporter, signals, data_card=data_card)
                            tag_outcome(store, outcome, request.tags)
                            outcomes.append(outcome)
                            reporter.outcome(outcome)
                            if signals.count:  # a signal whose KeyboardInterrupt library code swallowed
                                raise KeyboardInterrupt(signals.received)
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


def _runs_at(plan: PlannedModel, seed: int, fold: int | None) -> bool:
    """Whether ``plan`` runs on this seed and fold: every model does, a saved one only on its card's."""
    if plan.saved is None:
        return True
    return int(plan.saved.seed) == seed and plan.saved.fold == fold


def check_saved_data(planned: list[PlannedModel], fingerprint: str) -> None:
    """ModelError when a saved model was fitted on other data than the loaded dataset."""
    from recplug.errors import ModelError

    for plan in planned:
        if plan.saved is not None and plan.saved.dataset.get("fingerprint") != fingerprint:
            data = plan.saved.dataset
            raise ModelError(f"{plan.saved_dir} was fitted on dataset {data.get('name')!r} (fingerprint "
                             f"{data.get('fingerprint')}, {data.get('n_items')} items), not on this one "
                             f"(fingerprint {fingerprint}); evaluate it on the data it was fitted on")


def _data_card(request: EvalRequest, dataset) -> dict[str, Any] | None:
    """The dataset part of saved models' cards (only computed when models are saved)."""
    if request.save_model is None:
        return None
    from recplug.saved_models import dataset_card

    return dataset_card(dataset)


def tag_outcome(store, outcome: RunOutcome, tags: dict[str, str]) -> None:
    """Set ``tags`` on the run of ``outcome`` (done, already done, or failed; never another
    process's busy run)."""
    if outcome.run_id is None or outcome.status == "busy":
        return
    for key, value in tags.items():
        store.tag_run(outcome.run_id, key, value)


def load_dataset_of(request: EvalRequest, reporter: Reporter):
    """The dataset of ``request``. The rating task first checks that every row is rated
    (DataError, before any line is reported), then reports how many ratings it has."""
    from recplug.data import load_dataset
    from recplug.splits.kfold import check_ratings

    if request.task != "rating":
        reporter.stage(f"loading dataset {request.dataset}")
        return load_dataset(request.dataset, **request.data_options.load_kwargs())
    dataset = load_dataset(request.dataset, **request.data_options.load_kwargs())
    check_ratings(dataset.interactions, "task 'rating'")
    reporter.stage(f"loaded dataset {request.dataset}: {len(dataset.interactions)} ratings")
    return dataset


def split_runs(request: EvalRequest) -> list[tuple[int | None, dict[str, Any]]]:
    """``(fold, split parameters)`` of each split one seed runs: every fold of a kfold
    request (or the one it names), else ``(None, request.split_params)``."""
    if request.split != "kfold":
        return [(None, dict(request.split_params))]
    from recplug.splits.kfold import PARAMS

    params = {**PARAMS, **request.split_params}
    if "fold" in request.split_params:
        return [(int(params["fold"]), params)]
    return [(fold, {**params, "fold": fold}) for fold in range(int(params["folds"]))]


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
    from recplug.training.determinism import THREAD_INDEPENDENT_UP_TO

    spec: dict[str, Any] = {"refit": bool(request.refit)}
    if plan.iterative:
        spec.update(max_epochs=request.max_epochs, patience=request.patience,
                    valid_metric=canonical_valid_metric(request))
        threads = fit_threads(request)
        if plan.device == "cpu" and threads > THREAD_INDEPENDENT_UP_TO:
            spec["threads"] = threads
    return spec


def canonical_valid_metric(request: EvalRequest) -> str:
    """The validation metric as stored: ``NDCG@10`` (ranking), ``RMSE`` (rating)."""
    if request.task == "rating":
        from recplug.evaluation.rating import rating_metric

        return rating_metric(request.valid_metric)
    from recplug.evaluation.config import metric_name
    from recplug.evaluation.validation import parse_metric

    return metric_name(*parse_metric(request.valid_metric))


def fit_threads(request: EvalRequest) -> int:
    """The thread count a fit runs with: ``--threads``, else
    :func:`~recplug.training.threads.default_threads` (the CPUs this process may use, an
    executor's share, less what other running tasks occupy on a small machine)."""
    from recplug.training.threads import default_threads

    return int(request.threads or default_threads())


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
             fingerprint: str, reporter: Reporter, signals: Signals, *,
             data_card: dict[str, Any] | None = None) -> RunOutcome:
    from recplug.store import run_env

    name = plan.name
    config = replace(request.eval_config, seed=seed)
    fold = split.params.get("fold")
    spec = run_spec(request, plan, seed, split, dataset_name, fingerprint)
    if plan.saved is not None and plan.saved.split.get("params") != spec.split_params:
        raise ConfigError(f"model_dirs: {plan.saved_dir} was fitted on split {split.name} with "
                          f"{plan.saved.split.get('params')}, not {spec.split_params}; use the same split "
                          "parameters")
    rerun = request.rerun or _save_needed(request, plan, seed, fold, spec)
    claim = store.claim(spec, run_env(plan.device, fit_threads(request)), rerun=rerun)
    if claim.status == "done":
        done = store.run(claim.run_id)
        return RunOutcome(name, seed, "skipped", done.id, dict(done.metrics),
                          fit_seconds=done.fit_seconds, eval_seconds=done.eval_seconds,
                          boundary_tie_rate=done.split_summary.get("boundary_tie_rate"),
                          training=dict(done.training_info or {}), fold=fold,
                          fallback_predictions=done.split_summary.get("fallback_predictions"),
                          saved_model=_saved_folder(request, plan, seed, fold))
    if claim.status == "busy":
        return RunOutcome(name, seed, "busy", claim.run_id, error=f"being run by {claim.owner}", fold=fold)
    run_id = claim.run_id
    what = run_label(name, seed, fold)
    signals_before = signals.count
    try:
        with store.keep_alive(run_id):
            if plan.saved is not None:
                return _evaluate_saved(store, request, plan, seed, split, config, run_id, reporter)
            return _fit_and_evaluate(store, request, plan, seed, split, config, run_id, reporter,
                                     spec=spec, data_card=data_card)
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
        if signals.count != signals_before:  # the error came from an interrupt library code swallowed
            store.interrupt_run(run_id, f"interrupted ({signals.received}); it then failed with "
                                        f"{type(exc).__name__}: {exc}")
            raise _FitInterrupted(what, run_id) from None
        message = f"{type(exc).__name__}: {exc}"
        store.fail_run(run_id, message)
        return RunOutcome(name, seed, "failed", run_id, error=message, fold=fold)


def run_spec(request: EvalRequest, plan: PlannedModel, seed: int, split, dataset_name: str,
             fingerprint: str):
    """The :class:`~recplug.store.RunSpec` (identity) of one (model, seed, fold) run."""
    from recplug.store import RunSpec

    config = replace(request.eval_config, seed=seed)
    rating = request.task == "rating"
    return RunSpec(model=plan.info.qualified_name, plugin_dist=plan.info.dist,
                   plugin_version=plan.info.version, hyperparameters=plan.hyperparameters,
                   dataset=dataset_name, dataset_fingerprint=fingerprint, split=split.name,
                   split_params=_split_params(split), seed=seed, protocol=request.protocol,
                   ties="none" if rating else config.ties, ks=() if rating else tuple(config.ks),
                   training=_with_item_features(
                       training_spec(plan, request) if plan.saved is None else dict(plan.saved.training),
                       plan, split))


def _with_item_features(training: dict[str, Any], plan: PlannedModel, split) -> dict[str, Any]:
    """A model that reads item features depends on their content, which the dataset
    fingerprint (interactions only) does not cover: its identity gains the item table's."""
    if reads_items(plan.cls) and split.items is not None:
        return {**training, "item_features": split.items.fingerprint()}
    return training


def _saved_folder(request: EvalRequest, plan: PlannedModel, seed: int, fold: int | None) -> str | None:
    """Where this run's model is (to be) saved: its ``model_dirs`` folder, or under ``save_model``."""
    if plan.saved_dir is not None:
        return plan.saved_dir
    if request.save_model is None:
        return None
    from recplug.saved_models import run_folder

    return str(run_folder(request.save_model, plan.name, seed, fold))


def _save_needed(request: EvalRequest, plan: PlannedModel, seed: int, fold: int | None, spec) -> bool:
    """True when ``save_model`` asks for this run's model and its folder does not hold it yet
    (the run is then fitted again even if it is in the store)."""
    folder = _saved_folder(request, plan, seed, fold)
    if request.save_model is None or folder is None:
        return False
    from recplug.errors import ModelError
    from recplug.saved_models import read_card

    try:
        return read_card(folder).config_key != spec.config_key()
    except ModelError:
        return True


def _save_fitted(request: EvalRequest, plan: PlannedModel, model: Any, *, seed: int, split, spec,
                 run_id: int, fitted_on: str, metrics: dict[str, float], data_card: dict[str, Any]) -> str:
    """Save a fitted ``model`` with its card under ``request.save_model``; returns the folder."""
    from recplug.models._files import qualified_name
    from recplug.saved_models import ModelCard, save_model, versions

    folder = _saved_folder(request, plan, seed, split.params.get("fold"))
    card = ModelCard(model=plan.name, qualified_model=plan.info.qualified_name,
                     model_class=qualified_name(plan.cls), hyperparameters=dict(plan.hyperparameters),
                     dataset=dict(data_card), split={"name": split.name, "params": dict(spec.split_params),
                                                     "seed": seed},
                     fitted_on=fitted_on, training=dict(spec.training), metrics=dict(metrics),
                     run_id=run_id, versions=versions(), config_key=spec.config_key())
    return str(save_model(model, folder, card))


def _evaluate_saved(store, request: EvalRequest, plan: PlannedModel, seed: int, split,
                    config: EvalConfig, run_id: int, reporter: Reporter) -> RunOutcome:
    """A run of a saved model: loaded (vocabularies checked), never fitted, then tested."""
    from recplug.saved_models import load_model

    fold = split.params.get("fold")
    label = run_label(plan.name, seed, fold)
    reporter.stage(f"loading {label} from {plan.saved_dir}")
    model, card = load_model(plan.saved_dir, interactions=split.train, device=plan.device,
                             cls=plan.cls)
    fitted_on = split.history("test") if card.fitted_on == "train+valid" else split.train
    reporter.stage(f"evaluating {label}")
    result, metrics, summary = score_on_test(request, model, split, config, plan.device, fitted_on)
    training = {"loaded_from": str(plan.saved_dir)}
    store.finish_run(run_id, metrics=metrics, users=result.users, per_user=result.per_user,
                     fit_seconds=None, eval_seconds=result.seconds,
                     peak_memory_bytes=peak_memory_bytes(),
                     split_summary={**split.summary, **summary}, training=training)
    store.tag_run(run_id, "model_dir", str(plan.saved_dir))
    return RunOutcome(plan.name, seed, "done", run_id, result.summary, eval_seconds=result.seconds,
                      boundary_tie_rate=result.boundary_tie_rate, training=training, fold=fold,
                      fallback_predictions=summary.get("fallback_predictions"),
                      saved_model=str(plan.saved_dir))


def _fit(plan: PlannedModel, label: str, seed: int, train, options: FitOptions, run_id: int | None,
         items: Any = None):
    """A fresh model fitted on ``train`` (with the item table ``items`` when the model reads
    item features); _FitInterrupted (naming the run's ``label``) when the fit was interrupted."""
    from recplug.training.seeding import seed_everything

    model = plan.cls(**plan.params)
    seed_everything(seed)  # the same streams as fit_context, for plugins that skip it
    model.fit(TrainData(train, items=items if reads_items(plan.cls) else None), options)
    if _interrupted(model):
        raise _FitInterrupted(label, run_id)
    return model


def _validator(request: EvalRequest, split, config: EvalConfig, device: str):
    """The early-stopping hook of the task: validation RMSE (rating) or NDCG@10 (ranking)."""
    if request.task == "rating":
        return RatingValidator(split, request.valid_metric)
    return SplitValidator(split, request.valid_metric, config, device=device)


def score_on_test(request: EvalRequest, model: Any, split, config: EvalConfig, device: str,
          fitted_on) -> tuple[Any, dict[str, float], dict[str, Any]]:
    """Evaluate on the test part: (result, metrics to store, what joins the split summary).

    Rating runs store RMSE, MAE and FCP (FCP only when defined) and count the fallback
    predictions; ranking runs store every summary value and the boundary tie rate."""
    if request.task == "rating":
        result = evaluate_rating(model, split, "test", train=fitted_on)
        metrics = {m: result.summary[m] for m in RATING_METRICS if math.isfinite(result.summary[m])}
        return result, metrics, {"fallback_predictions": result.summary["fallback_predictions"]}
    result = evaluate(model, split, "test", config, device=device)
    return result, result.summary, {"boundary_tie_rate": result.boundary_tie_rate}


@dataclass
class Fitted:
    """A model fitted the way ``recplug eval`` fits it (:func:`fit_on_split`): ``fitted_on``
    is the interactions it saw last (train, or train + validation after a refit)."""

    model: Any
    fitted_on: Any
    training: dict[str, Any]
    seconds: float



def fit_on_split(request: EvalRequest, plan: PlannedModel, seed: int, split, config: EvalConfig,
                 reporter: Reporter | None = None, run_id: int | None = None) -> Fitted:
    """Fit ``plan``'s model on ``split`` exactly as eval does: early stopping on validation,
    ``request.refit`` (train + validation) included. ``recplug recommend`` fits through this
    too, so its lists are the evaluator's. _FitInterrupted when the fit was interrupted."""
    reporter = reporter or SilentReporter()
    name, device = plan.name, plan.device
    fold = split.params.get("fold")
    label = run_label(name, seed, fold)
    validator = _validator(request, split, config, device)
    progress = reporter.fit_started(name, seed, request.max_epochs, fold=fold)
    options = FitOptions(device=device, seed=seed, threads=fit_threads(request),
                         max_epochs=request.max_epochs, patience=request.patience,
                         progress=progress, validator=validator if validator.available else None)
    start = time.perf_counter()
    fitted_on = split.train
    if request.refit and not plan.iterative:  # nothing to choose on validation: fit once on both
        fitted_on = split.history("test")
        model = _fit(plan, label, seed, fitted_on, replace(options, validator=None), run_id, split.items)
        training = _training_info(model)
    else:
        model = _fit(plan, label, seed, split.train, options, run_id, split.items)
        training = _training_info(model)
    if request.refit and plan.iterative:
        reporter.stage(f"refitting {label} on train + validation")
        epochs = refit_epochs(model, request)
        fitted_on = split.history("test")
        model = _fit(plan, label, seed, fitted_on,
                     replace(options, max_epochs=epochs, validator=None), run_id, split.items)
        training["refit_epochs"] = epochs
    seconds = time.perf_counter() - start
    reporter.fit_finished(name, seed)
    return Fitted(model, fitted_on, training, seconds)


def fit_on_all(request: EvalRequest, plan: PlannedModel, seed: int, interactions,
               reporter: Reporter | None = None, items: Any = None) -> Fitted:
    """Fit ``plan``'s model on every interaction (``recommend --fit all``): no validation, so
    an iterative model trains for ``request.max_epochs`` (or its default budget). ``items``:
    the dataset's item table, for models that read item features."""
    reporter = reporter or SilentReporter()
    progress = reporter.fit_started(plan.name, seed, request.max_epochs)
    options = FitOptions(device=plan.device, seed=seed, threads=fit_threads(request),
                         max_epochs=request.max_epochs, patience=request.patience,
                         progress=progress, validator=None)
    start = time.perf_counter()
    model = _fit(plan, run_label(plan.name, seed), seed, interactions, options, None, items)
    reporter.fit_finished(plan.name, seed)
    return Fitted(model, interactions, _training_info(model), time.perf_counter() - start)


def _fit_and_evaluate(store, request: EvalRequest, plan: PlannedModel, seed: int, split,
                      config: EvalConfig, run_id: int, reporter: Reporter, *, spec=None,
                      data_card: dict[str, Any] | None = None) -> RunOutcome:
    name, device = plan.name, plan.device
    fold = split.params.get("fold")
    label = run_label(name, seed, fold)
    fitted = fit_on_split(request, plan, seed, split, config, reporter, run_id)
    model, fitted_on, training, fit_seconds = fitted.model, fitted.fitted_on, fitted.training, fitted.seconds
    reporter.stage(f"evaluating {label}")
    result, metrics, summary = score_on_test(request, model, split, config, device, fitted_on)
    saved = None
    if request.save_model is not None:
        reporter.stage(f"saving {label}")
        saved = _save_fitted(request, plan, model, seed=seed, split=split, spec=spec, run_id=run_id,
                             fitted_on="train" if fitted_on is split.train else "train+valid",
                             metrics=metrics, data_card=data_card)
    store.finish_run(run_id, metrics=metrics, users=result.users, per_user=result.per_user,
                     fit_seconds=fit_seconds, eval_seconds=result.seconds,
                     peak_memory_bytes=peak_memory_bytes(),
                     split_summary={**split.summary, **summary}, training=training)
    return RunOutcome(name, seed, "done", run_id, result.summary, fit_seconds=fit_seconds,
                      eval_seconds=result.seconds, boundary_tie_rate=result.boundary_tie_rate,
                      training=training, fold=fold,
                      fallback_predictions=summary.get("fallback_predictions"), saved_model=saved)


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
