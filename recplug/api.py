"""The Python API: :func:`evaluate` runs the ``recplug eval`` protocol from a notebook, for
a registered model, a model class or a configured instance (no plugin needed), stores the
runs and returns an :class:`EvaluationResult`; :class:`Leaderboard` reads a store into the
CLI's tables and a pandas DataFrame.

Everything goes through the same code as the CLI: :mod:`recplug.runner` (checks, splits,
fits, evaluation, the store), :mod:`recplug.leaderboard` (ranking, significance, renderers)
and :mod:`recplug.store.export` (tables of runs and per-user metrics).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from recplug.errors import ConfigError
from recplug.leaderboard import Leaderboard as _Leaderboard
from recplug.leaderboard import print_table, render

__all__ = ["EvaluationResult", "Leaderboard", "evaluate"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class Leaderboard(_Leaderboard):
    """:class:`recplug.leaderboard.Leaderboard` with the store, DataFrame and display helpers."""

    @classmethod
    def from_store(cls, dataset: str, split: str, *, task: str = "ranking", protocol: str | None = None,
                   metrics: Sequence[str] | None = None, store: Any = None, ties: str | None = None,
                   models: Iterable[str] | None = None, alpha: float = 0.05, test: str = "t",
                   bootstrap: int = 0, seed: int = 0) -> "Leaderboard":
        """The leaderboard ``recplug leaderboard --dataset D --split S`` shows: the done runs of
        one dataset, split and protocol (``"full"``, ``"sampled:<N>:<sampler>"``; ``task="rating"``
        ranks the rating runs), optionally only ``models`` (names or dist:names) and one tie rule.
        ``metrics``: the columns (default: the CLI's, NDCG@10, Recall@10, HR@10, MRR@10; every
        rating metric with ``task="rating"``).
        ``store``: a path or :class:`~recplug.store.ResultStore` (None = the default store)."""
        from recplug.errors import LeaderboardError
        from recplug.store import ResultStore
        from recplug.vocabulary import RATING_PROTOCOL

        if task not in ("ranking", "rating"):
            raise ConfigError(f"task must be ranking or rating, got {task!r}")
        protocol = RATING_PROTOCOL if task == "rating" else (protocol or "full")
        with ResultStore(_store_path(store), readonly=True) as opened:
            runs = opened.runs(dataset=dataset, split=split, protocol=protocol)
        if ties is not None:
            runs = [r for r in runs if r.spec.ties == ties]
        if models is not None:
            wanted = set(models)
            runs = [r for r in runs if r.spec.model in wanted or r.spec.model.split(":", 1)[1] in wanted]
        if not runs:
            raise LeaderboardError(f"no done runs for dataset={dataset} split={split} protocol={protocol} "
                                   f"in {_store_path(store) or 'the default store'}")
        if metrics is None and task == "ranking":  # the CLI's default columns
            from recplug.cli.leaderboard import DEFAULT_METRICS

            metrics = DEFAULT_METRICS.split(",")
        return cls.from_runs(runs, metrics=list(metrics) if metrics else None, alpha=alpha, test=test,
                             bootstrap=bootstrap, seed=seed)

    def to_frame(self):
        """A pandas DataFrame: one row per configuration, the CSV export's columns (mean, std,
        best flag and p-values per metric, training, timings)."""
        import io

        import pandas as pd

        return pd.read_csv(io.StringIO(render(self, "csv")))

    def render(self, format: str = "markdown") -> str:
        """The leaderboard as ``markdown``, ``latex``, ``html``, ``csv`` or ``json`` text."""
        return render(self, format)

    def show(self) -> None:
        """Print the rich table the CLI prints."""
        print_table(self)

    def _repr_markdown_(self) -> str:  # notebooks
        return render(self, "markdown")


@dataclass
class EvaluationResult:
    """The runs of one :func:`evaluate` call. ``outcomes``: one per run (done, skipped = already
    stored, failed, busy); ``runs``: the done runs as stored; ``store``: the store's path."""

    outcomes: list[Any]
    runs: list[Any]
    store: Path

    @property
    def failed(self) -> list[Any]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def summary(self):
        """A pandas DataFrame, one row per done run: identity, timings, every metric."""
        from recplug.store.export import runs_frame

        return runs_frame(self.runs)

    def per_user(self):
        """A pandas DataFrame, one row per (run, evaluated user): ``run_id``, ``user`` (index),
        that user's metrics (the arrays paired tests use)."""
        from recplug.store.export import per_user_frame

        return per_user_frame(self.runs)

    def to_leaderboard(self, metrics: Sequence[str] | None = None, **options: Any) -> Leaderboard:
        """These runs ranked as ``recplug leaderboard`` ranks them (``options``: alpha, test,
        bootstrap, seed)."""
        return Leaderboard.from_runs(self.runs, metrics=list(metrics) if metrics else None, **options)


def _store_path(store: Any) -> str | None:
    if store is None:
        return None
    path = getattr(store, "path", store)  # a ResultStore or a path
    return str(Path(path).expanduser())


def _registered_name(cls: type) -> str | None:
    """The entry-point name of ``cls`` when it is an installed plugin, else None."""
    from recplug.discovery import discover

    target = f"{cls.__module__}:{cls.__qualname__}"
    for info in discover():
        if info.target == target:
            return info.name
    return None


def _model_request(model: Any, name: str | None) -> tuple[str, dict[str, type], dict[str, dict]]:
    """``(name, model_classes, overrides)`` for a plugin name, a class or an instance."""
    if isinstance(model, str):
        if name is not None and name != model:
            raise ConfigError(f"name renames a class or instance; a registered model keeps its name "
                              f"({model!r}): drop name")
        return model, {}, {}
    instance = None if isinstance(model, type) else model
    cls = model if instance is None else type(model)
    registered = _registered_name(cls)
    chosen = name or registered or cls.__name__.lower()
    if not _NAME.match(chosen):
        raise ConfigError(f"name must be letters, digits, '_' or '-' (no ':' or '.'), got {chosen!r}")
    classes = {} if registered == chosen else {chosen: cls}
    overrides = {}
    if instance is not None:
        if not callable(getattr(instance, "get_params", None)):
            raise ConfigError(f"model_or_class: a {cls.__name__} instance without get_params(); "
                              "pass the class, or an instance of a recplug model")
        overrides = {chosen: dict(instance.get_params())}
    return chosen, classes, overrides


def evaluate(model_or_class: Any, dataset: str | Path, split: str = "loo", *,
             seeds: int | Sequence[int] = (0,), store: Any = None, name: str | None = None,
             task: str = "ranking", split_params: dict[str, Any] | None = None,
             ks: Sequence[int] | None = None, metrics: Sequence[str] | None = None,
             ties: str = "random", negatives: int | None = None, sampler: str = "uniform",
             max_epochs: int | None = None, patience: int = 5, validation_metric: str | None = None,
             refit: bool = False, device: str = "auto", threads: int = 0, batch_size: int = 1024,
             rerun: bool = False, tags: dict[str, str] | None = None,
             save_model: str | Path | None = None) -> EvaluationResult:
    """Fit and evaluate a model under ``recplug eval``'s protocol and store every run.

    ``model_or_class``: a registered name ("ease"), a model class (a notebook prototype: no
    entry point needed; stored as ``local:<name>``, its version a hash of its source, so an
    edited class is a new configuration) or a configured instance (its ``get_params()`` are
    the hyperparameters; it is re-created for each seed, never fitted itself). ``name``:
    what a class or instance is stored and ranked as (default: its plugin name, else the
    lower-cased class name). ``seeds``: a count (0..N-1) or the seeds themselves.
    ``dataset``: a registry name ("demo", "ml-100k") or a path. ``store``: a path or
    :class:`~recplug.store.ResultStore` (None = the default store). The other arguments are
    ``recplug eval``'s options. Failed runs are in :attr:`EvaluationResult.failed` (and warned).
    """
    from recplug.data.dataset import DataOptions
    from recplug.evaluation import EvalConfig
    from recplug.evaluation.config import METRICS
    from recplug.runner import EvalRequest, run_eval
    from recplug.store import ResultStore, default_store_path

    if not isinstance(dataset, (str, Path)):
        raise ConfigError(f"dataset must be a registry name (e.g. 'demo') or a path to a data file or "
                          f"folder, got {type(dataset).__name__}")
    model_name, classes, overrides = _model_request(model_or_class, name)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ConfigError(f"seeds must be a count >= 1 or a list of seeds, got {seeds}")
        seed_list = list(range(seeds))
    else:
        seed_list = list(seeds)
    config = EvalConfig(ks=tuple(ks) if ks else EvalConfig.ks, metrics=tuple(metrics) if metrics else METRICS,
                        ties=ties, negatives=negatives, sampler=sampler, batch_size=batch_size,
                        threads=threads)
    db = _store_path(store)
    request = EvalRequest(models=[model_name], dataset=str(dataset), task=task, split=split,
                          split_params=dict(split_params or {}), seeds=seed_list, eval_config=config,
                          overrides=overrides, device=device, threads=threads, max_epochs=max_epochs,
                          patience=patience, validation_metric=validation_metric, refit=refit,
                          data_options=DataOptions(), db=db, rerun=rerun, tags=dict(tags or {}),
                          save_model=str(save_model) if save_model is not None else None,
                          model_classes=classes)
    outcomes = run_eval(request)
    ids = [o.run_id for o in outcomes if o.status in ("done", "skipped") and o.run_id is not None]
    with ResultStore(db) as opened:
        runs = [opened.run(run_id) for run_id in ids]
        path = opened.path
    result = EvaluationResult(outcomes=outcomes, runs=runs, store=Path(path or default_store_path()))
    for outcome in result.failed:
        warnings.warn(f"{outcome.label} failed: {outcome.error}", RuntimeWarning, stacklevel=2)
    return result
