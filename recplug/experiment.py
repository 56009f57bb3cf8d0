"""Experiment files: a whole study written down once in TOML, run with ``recplug run``.

::

    [study]
    datasets = ["ml-100k"]
    splits = ["loo", { name = "temporal", target = "next" }]
    seeds = 3                                  # or a list: [0, 1, 2]
    metrics = ["NDCG@10", "Recall@10", "HR@10"]

    [tune]                                     # only needed when a model is searched
    trials = 20                                # or: budget = "time", timeout = "30m"

    [models.pop]                               # defaults
    [models.bpr]
    params = { epochs = 100 }                  # fixed hyperparameters
    search = { lr = "loguniform:1e-4:1e-1" }   # searched (on top of the declared ranges)
    [models.ease]
    search = true                              # searched over its declared ranges

Every (model, dataset, split, seed) becomes a run in the results store: a model with
``search`` is first tuned on validation (one study per dataset and split, the ``[tune]``
budget for each) and its best configuration is then run on every seed. Rerunning the file
skips the runs already done and resumes the studies. :func:`load_experiment` checks the
whole file before anything runs -- unknown keys, unknown models, bad values, hyperparameters
and search ranges the models refuse -- and every error names the file, the key and the fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from recplug.errors import ConfigError, RecplugError

STUDY_KEYS = {
    "name": "a label for the study (text)",
    "datasets": "registry names or paths, e.g. [\"ml-100k\"]",
    "splits": "split names or tables, e.g. [\"loo\", { name = \"temporal\", target = \"next\" }]",
    "seeds": "a count (3: seeds 0, 1, 2) or a list of seeds >= 0",
    "metrics": "test metrics NAME@K, e.g. [\"NDCG@10\", \"Recall@20\"]",
    "valid_metric": "the validation metric for early stopping and tuning, e.g. \"NDCG@10\"",
    "ties": "random, pessimistic or optimistic",
    "epochs": "the epoch budget of every fit (an integer >= 1)",
    "patience": "early-stopping patience in validation rounds (an integer >= 1)",
    "threads": "threads per fit (an integer >= 0; 0 = all cores)",
    "device": "auto, cpu or cuda[:N]",
    "db": "the results store, relative to the file",
}
TUNE_KEYS = {
    "budget": "\"trials\" or \"time\"",
    "trials": "trials per model (an integer >= 1)",
    "timeout": "wall time per model, e.g. \"30m\"",
    "prune": "true or false (median pruning on the per-epoch validation)",
}
MODEL_KEYS = {
    "params": "a table of fixed hyperparameters, e.g. params = { factors = 64 }",
    "search": "true (the declared ranges) or a table of ranges, e.g. search = { lr = \"loguniform:1e-4:1e-1\" }",
}
TOP_KEYS = {"study": "the datasets, splits, seeds and metrics", "tune": "the tuning budget",
            "models": "one [models.NAME] table per model"}


@dataclass(frozen=True)
class ModelEntry:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    search: dict[str, str] | None = None  #: None: not tuned; {}: the declared ranges

    @property
    def tuned(self) -> bool:
        return self.search is not None


@dataclass
class Experiment:
    """A checked experiment file. ``jobs()`` gives its eval and tune requests."""

    path: Path
    datasets: list[str]
    splits: list[dict[str, Any]]
    seeds: list[int]
    metrics: list[str]
    models: list[ModelEntry]
    study: dict[str, Any]
    tune: dict[str, Any]
    db: str | None

    def requests(self) -> list[tuple[str, Any]]:
        """``("eval", EvalRequest)`` for the fixed models and ``("tune", TuneRequest)`` for the
        searched ones, per dataset and split, in file order."""
        out = []
        for dataset in self.datasets:
            for split in self.splits:
                fixed = [m for m in self.models if not m.tuned]
                if fixed:
                    out.append(("eval", self._eval(dataset, split, fixed)))
                tuned = [m for m in self.models if m.tuned]
                if tuned:
                    out.append(("tune", self._tune(dataset, split, tuned)))
        return out

    def _eval(self, dataset: str, split: dict[str, Any], models: list[ModelEntry]):
        from recplug.evaluation import EvalConfig
        from recplug.evaluation.validation import parse_metric
        from recplug.runner import EvalRequest

        parsed = [parse_metric(m) for m in self.metrics]
        config = EvalConfig(ks=tuple(sorted({k for _, k in parsed})),
                            metrics=tuple(dict.fromkeys(key for key, _ in parsed)),
                            ties=self.study.get("ties", "random"), threads=int(self.study.get("threads", 0)))
        params = {k: v for k, v in split.items() if k != "name"}
        return EvalRequest(models=[m.name for m in models], dataset=dataset, split=split["name"],
                           split_params=params, seeds=list(self.seeds), eval_config=config,
                           overrides={m.name: dict(m.params) for m in models if m.params},
                           device=self.study.get("device", "auto"), threads=int(self.study.get("threads", 0)),
                           max_epochs=self.study.get("epochs"), patience=int(self.study.get("patience", 5)),
                           validation_metric=self.study.get("valid_metric"), db=self.db)

    def _tune(self, dataset: str, split: dict[str, Any], models: list[ModelEntry]):
        from recplug.tune.budget import Budget, parse_duration
        from recplug.tune.space import parse_space
        from recplug.tune.trial import Pruning
        from recplug.tune.tuner import TuneRequest

        tune = self.tune
        seconds = parse_duration(tune["timeout"], "tune.timeout") if "timeout" in tune else None
        kind = tune.get("budget") or ("time" if seconds is not None and "trials" not in tune else "trials")
        trials = tune.get("trials", 30 if kind == "trials" else None)
        space = parse_space([f"{m.name}.{k}={v}" for m in models for k, v in (m.search or {}).items()],
                            flag="search")
        return TuneRequest(eval=self._eval(dataset, split, models), space=space,
                           budget=Budget(kind, trials, seconds),
                           pruning=Pruning() if tune.get("prune", True) else None)


def _where(path: Path, key: str) -> str:
    return f"{path}: {key}"


def _check_keys(path: Path, table: Any, allowed: dict[str, str], prefix: str) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{_where(path, prefix)} must be a table ([{prefix}]), got {type(table).__name__}")
    for key in table:
        if key not in allowed:
            keys = "; ".join(f"{k}: {v}" for k, v in allowed.items())
            raise ConfigError(f"{_where(path, f'{prefix}.{key}' if prefix else key)} is not a known key; "
                              f"remove it or use one of {keys}")
    return table


def _list(path: Path, key: str, value: Any, what: str) -> list:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{_where(path, key)} must be a non-empty list of {what}, got {value!r}")
    return value


def _seeds(path: Path, value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ConfigError(f"{_where(path, 'study.seeds')} must be a count >= 1 or a list of seeds, got {value}")
        return list(range(value))
    seeds = _list(path, "study.seeds", value, "seeds")
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"{_where(path, 'study.seeds')} must be distinct integers >= 0, got {value!r}")
    return seeds


def _splits(path: Path, value: Any) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(_list(path, "study.splits", value, "split names or tables")):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ConfigError(f"{_where(path, f'study.splits[{i}]')} must be a split name or a table with "
                              f"name = \"...\", got {item!r}")
        out.append(dict(item))
    return out


def _model(path: Path, name: str, table: Any) -> ModelEntry:
    table = _check_keys(path, table, MODEL_KEYS, f"models.{name}")
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError(f"{_where(path, f'models.{name}.params')} must be a table, e.g. params = "
                          f"{{ factors = 64 }}, got {params!r}")
    search = table.get("search")
    if search is False:
        search = None
    elif search is True:
        search = {}
    elif search is not None:
        if not isinstance(search, dict) or not all(isinstance(v, str) for v in search.values()):
            raise ConfigError(f"{_where(path, f'models.{name}.search')} must be true or a table of ranges, "
                              f"e.g. search = {{ lr = \"loguniform:1e-4:1e-1\" }}, got {search!r}")
        search = dict(search)
    return ModelEntry(name, dict(params), search)


def load_experiment(path: str | Path, *, db: str | None = None) -> Experiment:
    """Read and check an experiment file (see the module docstring); ``db`` overrides the
    file's ``study.db``. Every model, hyperparameter and search range is checked here."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such experiment file; see examples/study.toml") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax there") from None
    _check_keys(path, data, TOP_KEYS, "")
    study = _check_keys(path, data.get("study", {}), STUDY_KEYS, "study")
    tune = _check_keys(path, data.get("tune", {}), TUNE_KEYS, "tune")
    models_table = data.get("models")
    if not isinstance(models_table, dict) or not models_table:
        raise ConfigError(f"{_where(path, 'models')}: name at least one model, e.g. [models.pop]")
    if "datasets" not in study:
        raise ConfigError(f"{_where(path, 'study.datasets')} is missing; add e.g. datasets = [\"ml-100k\"]")
    datasets = _list(path, "study.datasets", study["datasets"], "dataset names or paths")
    if not all(isinstance(d, str) for d in datasets):
        raise ConfigError(f"{_where(path, 'study.datasets')} must hold names or paths (text), got {datasets!r}")
    store = db if db is not None else study.get("db")
    if store is not None and db is None:
        if not isinstance(store, str):
            raise ConfigError(f"{_where(path, 'study.db')} must be a path (text), got {store!r}")
        store = str((path.parent / store).expanduser())
    experiment = Experiment(
        path=path, datasets=datasets, splits=_splits(path, study.get("splits", ["loo"])),
        seeds=_seeds(path, study.get("seeds", 1)),
        metrics=[str(m) for m in _list(path, "study.metrics", study.get("metrics", ["NDCG@10", "Recall@10",
                                                                                    "HR@10", "MRR@10"]),
                                       "metric names")],
        models=[_model(path, name, table) for name, table in models_table.items()],
        study=study, tune=tune, db=store)
    if tune and not any(m.tuned for m in experiment.models):
        raise ConfigError(f"{_where(path, 'tune')} sets a budget but no model is searched; add search = true "
                          "to a [models.NAME] table or drop [tune]")
    _check(experiment)
    return experiment


def _check_model(experiment: Experiment, model: ModelEntry) -> None:
    """The model exists, its ``params`` are hyperparameters it accepts, its ``search`` ranges
    lie within its constraints; errors name ``models.NAME[.params|.search]``."""
    from recplug.contract import param_names
    from recplug.discovery import load_model_class
    from recplug.params import params_for
    from recplug.training.constraints import check_model_params
    from recplug.tune.space import model_space, parse_space

    path = experiment.path
    cls = _guarded(path, f"models.{model.name}", lambda: load_model_class(model.name)[0])

    def params() -> None:
        chosen = params_for(model.name, param_names(cls), {model.name: model.params})
        try:
            instance = cls(**chosen)
        except RecplugError:
            raise
        except Exception as exc:  # a plugin's __init__ refusing a value
            raise ConfigError(f"{model.name} refuses {chosen}: {type(exc).__name__}: {exc}") from None
        check_model_params(cls, instance.get_params())

    _guarded(path, f"models.{model.name}.params", params)
    if model.tuned:
        ranges = [f"{model.name}.{k}={v}" for k, v in (model.search or {}).items()]
        space = _guarded(path, f"models.{model.name}.search",
                         lambda: model_space(model.name, cls, parse_space(ranges, flag="search"), model.params,
                                             flag="search"))
        if not space:
            raise ConfigError(f"{_where(path, f'models.{model.name}.search')}: {model.name} declares no search "
                              "ranges; give them, e.g. search = {{ k = \"int:10:500\" }}, or drop search")


def _check(experiment: Experiment) -> None:
    """Check every model entry, then build and check every request (options, splits, data
    sources); an error is re-raised naming the file and the key."""
    from recplug.evaluation.validation import parse_metric
    from recplug.runner import prepare
    from recplug.tune.tuner import prepare_tune

    path = experiment.path
    for i, metric in enumerate(experiment.metrics):
        _guarded(path, f"study.metrics[{i}]", lambda: parse_metric(metric))
    for model in experiment.models:
        _check_model(experiment, model)
    requests = _guarded(path, "tune", experiment.requests)
    for kind, request in requests:
        checker: Callable[[Any], Any] = prepare_tune if kind == "tune" else prepare
        _guarded(path, "study", lambda: checker(request))


def _guarded(path: Path, key: str, call: Callable[[], Any]) -> Any:
    """``call()``; a recplug error comes back as one of the same kind naming ``path`` and ``key``
    (budget errors under ``tune``)."""
    try:
        return call()
    except RecplugError as exc:
        message = str(exc)
        if message.startswith(str(path)):
            raise
        if key == "study" and any(w in message for w in ("trials", "timeout", "budget")):
            key = "tune"
        raise _same_kind(exc, f"{_where(path, key)}: {message}") from None


def _same_kind(exc: RecplugError, message: str) -> RecplugError:
    try:
        return type(exc)(message)
    except TypeError:  # an error class with other arguments
        return ConfigError(message)


def run_experiment(experiment: Experiment, *, executor: Any = None, eval_reporter: Any = None,
                   tune_reporter: Any = None) -> list:
    """Run every request of ``experiment`` (done runs are skipped, studies resumed);
    returns the runner outcomes of every run, tuned ones included."""
    from recplug.runner import prepare, run_plan
    from recplug.tune.tuner import evaluate_best, prepare_tune, run_tune

    outcomes = []
    for kind, request in experiment.requests():
        if kind == "eval":
            plan = prepare(request)
            outcomes.extend(_run_plan(run_plan, plan, eval_reporter, executor))
        else:
            plan = prepare_tune(request)
            summaries = run_tune(plan, executor, tune_reporter)
            outcomes.extend(evaluate_best(plan, summaries, eval_reporter, executor))
    return outcomes


def _run_plan(run_plan: Callable, plan: Any, reporter: Any, executor: Any) -> list:
    if executor is None or executor.name == "plain":
        return run_plan(plan, reporter)
    return run_plan(plan, reporter, executor=executor)


__all__ = ["Experiment", "ModelEntry", "load_experiment", "run_experiment"]
