"""``recplug tune``: one Optuna study per model on validation, equal budgets, the best on test.

Exit codes: 0 when every study and test run finished, 1 when a test run failed, 130 / 143
when interrupted (finished trials are kept; rerun to go on), and the documented code of
any error found while checking the request (2 for a bad option), before any data are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from recplug.cli.options import (ColumnsOption, FormatOption, KcoreOption, MinRatingOption,
                                 OfflineOption, as_flags, data_options)
from recplug.errors import ConfigError

err = Console(stderr=True, highlight=False)

#: library argument names of the tuner -> the flags that set them
TUNE_FLAGS = {"trials": "--trials", "timeout": "--timeout", "budget": "--budget",
              "cpus_per_job": "--cpus-per-job", "gpus_per_job": "--gpus-per-job",
              "executor": "--executor", "address": "--address", "validation_metric": "--metric"}


class LineReporter:
    """One line per stage and per finished trial on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def stage(self, message: str) -> None:
        self.console.print(message, markup=False, soft_wrap=True)

    def trial(self, summary: Any, report: Any, trial: Any) -> None:
        value = "" if report.value is None else f" {summary.metric} {report.value:.4f}"
        best = "" if summary.best_value is None else f" (best {summary.best_value:.4f})"
        epochs = f", {report.epochs} epochs" if report.epochs else ""
        why = f": {report.error}" if report.error else ""
        self.console.print(f"{summary.model} trial {report.number} {report.state}{value}{best}{epochs}, "
                           f"{report.seconds:.1f}s{why} [{summary.trials} counted, budget "
                           f"{summary.budget_text()}]", markup=False, soft_wrap=True)


def check_executor(executor: str, address: Optional[str]) -> None:
    """ConfigError naming the flag for an unknown executor or an --address without Ray."""
    from recplug.executors import EXECUTORS

    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if address is not None and executor != "ray":
        raise ConfigError(f"--address {address} is the Ray cluster to use: add --executor ray or drop --address")


def check_executor_flags(executor: str, address: Optional[str], cpus_per_job: float, gpus_per_job: float) -> None:
    """The executor flags of eval, tune and run, checked before any work (errors name the flags)."""
    from recplug.executors.base import check_resources

    with as_flags(TUNE_FLAGS):
        check_executor(executor, address)
        if executor == "plain" and (cpus_per_job != 1 or gpus_per_job != 0):
            raise ConfigError("--cpus-per-job and --gpus-per-job apply to --executor ray; add it or drop them")
        check_resources(cpus_per_job, gpus_per_job)


def parse_budget(budget: Optional[str], trials: Optional[int], timeout: Optional[str]):
    """The :class:`Budget` of the flags: ``--budget`` (default: time when only ``--timeout``
    is given, else trials), ``--trials`` (default 30 under a trials budget), ``--timeout``."""
    from recplug.tune.budget import BUDGETS, Budget, parse_duration

    if budget is not None and budget not in BUDGETS:
        raise ConfigError(f"--budget must be one of {', '.join(BUDGETS)}, got {budget!r}")
    seconds = parse_duration(timeout, "--timeout") if timeout is not None else None
    kind = budget or ("time" if seconds is not None and trials is None else "trials")
    if kind == "trials" and trials is None:
        trials = 30
    if kind == "time" and seconds is None:
        raise ConfigError("--budget time needs --timeout (the wall time each model gets, e.g. --timeout 30m)")
    with as_flags(TUNE_FLAGS):
        return Budget(kind, trials, seconds)


def tune_command(
    models: Optional[list[str]] = typer.Argument(None, help="Model names to tune (see `recplug models`); "
                                                          "with --show, the studies to show (default all)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Registry name or path (default ml-100k; "
                                                                        "with --show: filter)."),
    format: FormatOption = None,
    columns: ColumnsOption = None,
    min_rating: MinRatingOption = None,
    kcore: KcoreOption = None,
    offline: OfflineOption = False,
    split: Optional[str] = typer.Option(None, "--split", "-s", help="loo (default) | temporal | ratio | "
                                                                    "temporal-user | presplit (with --show: filter)."),
    target: Optional[str] = typer.Option(None, "--target", help="temporal split only: all (default) or next."),
    trials: Optional[int] = typer.Option(None, "--trials", help="Trials per model (default 30 under --budget trials)."),
    timeout: Optional[str] = typer.Option(None, "--timeout", help="Wall time per model, e.g. 30m, 90s, 1.5h "
                                                                  "(--budget time; else a cap)."),
    budget: Optional[str] = typer.Option(None, "--budget", help="trials | time: what is equal for every model "
                                                                "(default: trials, or time with only --timeout)."),
    metric: str = typer.Option("NDCG@10", "--metric", help="The validation metric the studies maximise "
                                                           "(NAME@K); the test split is never used."),
    space: list[str] = typer.Option([], "--space", help="Search range model.param=RANGE (repeatable): "
                                                        "loguniform:LOW:HIGH, uniform:..., int:..., logint:..., "
                                                        "choice:A,B. Default: the model's declared ranges."),
    set_: list[str] = typer.Option([], "--set", help="Fixed hyperparameter key=value or model.key=value (repeatable)."),
    prune: bool = typer.Option(True, "--prune/--no-prune", help="Median pruning of trials on their per-epoch "
                                                                "validation (iterative models)."),
    seed: int = typer.Option(0, "--seed", help="Study seed (>= 0): its split and fits serve every trial; the "
                                               "first test seed."),
    seeds: int = typer.Option(1, "--seeds", help="Test seeds of each best configuration (>= 1): seed, seed+1, ..."),
    k: str = typer.Option("5,10,20,50", "--k", help="Cut-offs of the test runs, comma-separated."),
    metrics: str = typer.Option("hr,recall,ndcg,mrr,precision,map", "--metrics",
                                help="Per-user metrics of the test runs, comma-separated."),
    ties: str = typer.Option("random", "--ties", help="random (seeded) | pessimistic | optimistic."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epoch budget of every fit (>= 1; default: the model's)."),
    patience: int = typer.Option(5, "--patience", help="Early-stopping patience in validation rounds (>= 1)."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]."),
    threads: int = typer.Option(0, "--threads", help="Threads per fit (0 = all cores)."),
    executor: str = typer.Option("plain", "--executor", help="plain (this process) | ray (each trial a Ray task)."),
    address: Optional[str] = typer.Option(None, "--address", help="--executor ray: auto | ray://host:port "
                                                                  "(default: start a local Ray)."),
    cpus_per_job: float = typer.Option(1, "--cpus-per-job", help="--executor ray: CPUs each trial asks for."),
    gpus_per_job: float = typer.Option(0, "--gpus-per-job", help="--executor ray: GPUs each trial asks for."),
    test: bool = typer.Option(True, "--test/--no-test", help="Evaluate each best configuration on test afterwards."),
    show: bool = typer.Option(False, "--show", help="Print the stored studies (trials, best parameters, "
                                                    "importances) instead of tuning."),
    db: Optional[Path] = typer.Option(None, "--db", help="Results store; the studies live beside it "
                                                         "(<name>.studies.journal)."),
) -> None:
    """Tune MODELS on the validation split with Optuna (TPE, seeded; median pruning), the same
    budget for every model, then evaluate each best configuration on test. Rerunning the same
    command resumes its studies."""
    if show:
        _show(models or [], dataset, split, db)
        return
    if not models:
        raise ConfigError("name at least one model to tune (see `recplug models`), or pass --show")
    from recplug.cli.eval import build_request
    from recplug.executors import make_executor
    from recplug.tune.space import parse_space
    from recplug.tune.trial import Pruning
    from recplug.tune.tuner import TuneRequest, prepare_tune, run_tune, evaluate_best

    request = TuneRequest(
        eval=build_request(models=models, dataset=dataset or "ml-100k",
                           data=data_options(format, columns, min_rating, kcore, offline), task="ranking",
                           split=split or "loo", folds=None, target=target, k=k, metrics=metrics, ties=ties,
                           seed=seed, seeds=seeds, device=device, set_=set_, epochs=epochs, patience=patience,
                           valid_metric=metric, refit=False, negatives=None, sampler="uniform",
                           batch_size=1024, threads=threads, db=db, rerun=False),
        space=parse_space(space), budget=parse_budget(budget, trials, timeout),
        pruning=Pruning() if prune else None)
    check_executor_flags(executor, address, cpus_per_job, gpus_per_job)
    with as_flags(), as_flags(TUNE_FLAGS):
        plan = prepare_tune(request)
        runner = make_executor(executor, address=address, cpus_per_job=cpus_per_job, gpus_per_job=gpus_per_job)
    from recplug.cli.eval import _threads

    reporter = LineReporter(err)
    try:
        with _threads(threads):
            summaries = run_tune(plan, runner, reporter)
            for summary in summaries:
                _summary_line(summary)
            outcomes = evaluate_best(plan, summaries, _EvalLines(err), runner) if test else []
    finally:
        runner.close()
    if outcomes:
        _test_board(outcomes, plan, summaries)
    err.print(f"studies: {_journal(request)}", markup=False, soft_wrap=True)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        err.print(f"[red]error:[/] {len(failed)} of {len(outcomes)} test runs failed: "
                  f"{escape(', '.join(o.label for o in failed))}", soft_wrap=True)
        raise typer.Exit(1)


def _journal(request) -> Path:
    from recplug.tune.tuner import studies_path

    return studies_path(request)


def _summary_line(summary) -> None:
    if summary.best_value is None:
        err.print(f"{summary.model}: no complete trial ({summary.trials} counted)", markup=False)
        return
    default = "" if summary.default_value is None else f", defaults {summary.default_value:.4f}"
    err.print(f"{summary.model}: best {summary.metric} on validation {summary.best_value:.4f}{default} "
              f"after {summary.trials} trials ({summary.pruned} pruned, {summary.epochs} epochs, "
              f"{summary.seconds:.0f}s; budget {summary.budget_text()}): "
              + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in sorted(summary.best_params.items())),
              markup=False, soft_wrap=True)


class _EvalLines:
    """The runner's reporter for the test runs: one line per stage and per run."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def stage(self, message: str) -> None:
        self.console.print(message, markup=False, soft_wrap=True)

    def fit_started(self, model, seed, max_epochs, *, fold=None):
        return lambda report: None

    def fit_finished(self, model, seed) -> None:
        pass

    def outcome(self, outcome) -> None:
        extra = f" ({outcome.error})" if outcome.error else ""
        self.console.print(f"test {outcome.label}: {outcome.status}{extra}", markup=False, soft_wrap=True)


def _test_board(outcomes, plan, summaries) -> None:
    from recplug.leaderboard import Leaderboard, print_table
    from recplug.store import ResultStore

    ids = {o.run_id for o in outcomes if o.status in ("done", "skipped") and o.run_id is not None}
    if not ids:
        return
    with ResultStore(plan.request.eval.db) as store:
        runs = [r for r in store.runs(status="done") if r.id in ids]
    board = Leaderboard.from_runs(runs, metrics=[m for m in ("NDCG@10", "Recall@10", "HR@10")
                                                 if all(m in r.metrics for r in runs)] or None)
    print_table(board)


def _show(models: list[str], dataset: Optional[str], split: Optional[str], db: Optional[Path]) -> None:
    from recplug.tune.show import show
    from recplug.tune.tuner import load_summaries

    studies = load_summaries(db, models=models or None, dataset=dataset, split=split)
    if not studies:
        asked = ", ".join(f"{k}={v}" for k, v in (("models", ",".join(models)), ("dataset", dataset),
                                                   ("split", split)) if v)
        raise ConfigError(f"no stored study matches {asked or 'anything'}; run `recplug tune` first")
    show(studies, Console())
