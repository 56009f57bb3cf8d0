"""``recplug eval`` as a library call: dataset -> split -> fit -> evaluate -> store.

Every (model, seed) is one run in the results store: inserted as running, finalised as
done or failed. A failing model is recorded and reported and never stops the others;
runs already done with the same configuration are skipped unless ``rerun`` is set.
"""

from __future__ import annotations

import random
import resource
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from recplug.contract import EpochReport, FitOptions, TrainData, param_names
from recplug.errors import ConfigError
from recplug.evaluation import EvalConfig, SplitValidator, evaluate
from recplug.params import check_unscoped_used, params_for
from recplug.store import ResultStore, RunSpec, run_env


@dataclass
class EvalRequest:
    """Everything ``recplug eval`` was asked to do."""

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
    db: str | None = None
    rerun: bool = False


@dataclass
class RunOutcome:
    model: str
    seed: int
    status: str  #: "done", "skipped" (already in the store) or "failed"
    run_id: int | None
    summary: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    fit_seconds: float | None = None
    eval_seconds: float | None = None


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


def resolve_device(requested: str, supports_cuda: bool) -> str:
    """``auto`` -> ``cuda`` when available and the model supports it, else ``cpu``."""
    import torch

    if requested == "auto":
        return "cuda" if supports_cuda and torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {requested}: CUDA is not available on this machine; use --device cpu or auto")
        if not supports_cuda:
            raise ConfigError(f"--device {requested}: this model does not declare CUDA support (tags.supports_cuda)")
        return requested
    if requested != "cpu":
        raise ConfigError(f"--device must be auto, cpu or cuda[:N], got {requested!r}")
    return "cpu"


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def peak_memory_bytes() -> int:
    """Peak resident memory of this process so far (bytes; Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def run_eval(request: EvalRequest, reporter: Reporter | None = None) -> list[RunOutcome]:
    """Fit and evaluate every requested model for every seed; returns one outcome per run."""
    from recplug.data import load_dataset
    from recplug.discovery import load_model_class
    from recplug.splits import make_split

    reporter = reporter or SilentReporter()
    classes = {}
    for name in request.models:
        cls, info = load_model_class(name)
        classes[name] = (cls, info)
    names_by_model = {name: param_names(cls) for name, (cls, _) in classes.items()}
    check_unscoped_used(request.overrides, names_by_model)

    reporter.stage(f"loading dataset {request.dataset}")
    dataset = load_dataset(request.dataset)
    fingerprint = dataset.interactions.fingerprint()
    splits: dict[int, Any] = {}
    outcomes: list[RunOutcome] = []
    with ResultStore(request.db) as store:
        store.mark_interrupted()
        for seed in request.seeds:
            if seed not in splits:
                reporter.stage(f"splitting ({request.split}, seed {seed})")
                splits[seed] = make_split(dataset, request.split, seed=seed, **request.split_params)
            split = splits[seed]
            for name, (cls, info) in classes.items():
                outcome = _one_run(store, request, name, cls, info, seed, split,
                                   dataset.name, fingerprint, reporter)
                outcomes.append(outcome)
                reporter.outcome(outcome)
    return outcomes


def _one_run(store: ResultStore, request: EvalRequest, name: str, cls, info, seed: int, split,
             dataset_name: str, fingerprint: str, reporter: Reporter) -> RunOutcome:
    params = params_for(name, param_names(cls), request.overrides)
    model = cls(**params)
    config = EvalConfig(**{**request.eval_config.__dict__, "seed": seed})
    spec = RunSpec(model=name, plugin_dist=info.dist, plugin_version=info.version,
                   hyperparameters=model.get_params(), dataset=dataset_name,
                   dataset_fingerprint=fingerprint, split=split.name, split_params=_split_params(split),
                   seed=seed, protocol=config.protocol, ties=config.ties, ks=tuple(config.ks))
    if not request.rerun:
        done = store.find_done(spec)
        if done is not None:
            return RunOutcome(name, seed, "skipped", done.id, dict(done.metrics),
                              fit_seconds=done.fit_seconds, eval_seconds=done.eval_seconds)
    device = resolve_device(request.device, bool(getattr(cls.tags, "supports_cuda", False)))
    run_id = store.start_run(spec, run_env(device, request.threads or None))
    try:
        seed_everything(seed)
        validator = SplitValidator(split, request.validation_metric, config, device=device)
        progress = reporter.fit_started(name, seed, request.max_epochs)
        options = FitOptions(device=device, seed=seed, threads=request.threads or 0,
                             max_epochs=request.max_epochs, patience=request.patience,
                             progress=progress, validator=validator if validator.available else None)
        start = time.perf_counter()
        model.fit(TrainData(split.train), options)
        fit_seconds = time.perf_counter() - start
        reporter.fit_finished(name, seed)
        reporter.stage(f"evaluating {name} (seed {seed})")
        result = evaluate(model, split, "test", config, device=device)
        store.finish_run(run_id, metrics=result.summary, users=result.users, per_user=result.per_user,
                         fit_seconds=fit_seconds, eval_seconds=result.seconds,
                         peak_memory_bytes=peak_memory_bytes(),
                         split_summary={**split.summary,
                                        "boundary_tie_rate": result.boundary_tie_rate})
        return RunOutcome(name, seed, "done", run_id, result.summary, fit_seconds=fit_seconds,
                          eval_seconds=result.seconds)
    except KeyboardInterrupt:
        store.fail_run(run_id, "interrupted")
        raise
    except Exception as exc:  # a failing model never stops the others
        reporter.fit_finished(name, seed)
        message = f"{type(exc).__name__}: {exc}"
        store.fail_run(run_id, message)
        return RunOutcome(name, seed, "failed", run_id, error=message)


def _split_params(split) -> dict[str, Any]:
    """Split parameters without the seed: the run's seed (RunSpec.seed) is the split's seed,
    so runs of one configuration over several seeds stay comparable."""
    return {k: v for k, v in split.params.items() if k != "seed"}
