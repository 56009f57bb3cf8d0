"""``recplug eval``: fit and evaluate models, store every run, show this invocation's leaderboard.

Exit codes: 0 when every run is done (or already in the store, or being run by another
process), 1 when any run failed (after finishing the others), 130 / 143 when a fit was
interrupted by Ctrl-C / SIGTERM, and the documented code of any error found while
checking the request (2 for a bad option), before any data are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from recplug.cli.options import (FLAGS, ColumnsOption, FormatOption, KcoreOption, MinRatingOption,
                                 OfflineOption, as_flags, data_options, out_format, parse_ints,
                                 parse_names)
from recplug.errors import ConfigError

if TYPE_CHECKING:
    from recplug.contract import EpochReport
    from recplug.runner import EvalRequest, RunOutcome

err = Console(stderr=True)

#: library argument names of eval's errors -> its flags (:func:`as_flags`)
EVAL_FLAGS = {**FLAGS, "model_dirs": "--model", "save_model": "--save-model", "tags": "--tag"}

#: options of the ranking task and their defaults; ``--task rating`` refuses other values
RANKING_DEFAULTS = {"--k": "5,10,20,50", "--metrics": "hr,recall,ndcg,mrr,precision,map",
                    "--ties": "random", "--sampler": "uniform"}


def tie_warning(outcome: RunOutcome) -> str | None:
    """The warning line for a run whose top-K cuts were mostly decided by ties, else None."""
    from recplug.leaderboard.model import tie_flagged

    rate = outcome.boundary_tie_rate
    if rate is None or not tie_flagged(rate):
        return None
    return (f"{outcome.label}: ties decided the top-K cut for {rate:.0%} of users: "
            "the model's scores are too coarse; see --ties")


class RichReporter:
    """Progress on stderr: a spinner per stage, a bar per training run with loss and validation."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.stage_task = progress.add_task("starting", total=None)
        self.fit_task = None

    def stage(self, message: str) -> None:
        self.progress.update(self.stage_task, description=escape(message))
        if not self.progress.console.is_terminal:
            self.progress.console.print(message, highlight=False, markup=False)

    def fit_started(self, model: str, seed: int, max_epochs: Optional[int], *,
                    fold: Optional[int] = None) -> Callable[[EpochReport], None]:
        from recplug.runner import run_label

        self.stage(f"fitting {run_label(model, seed, fold)}")
        run = f"{model} seed {seed}" + ("" if fold is None else f" fold {fold}")
        self.fit_task = self.progress.add_task(run, total=max_epochs)

        def on_epoch(report: EpochReport) -> None:
            parts = [f"{run} epoch {report.epoch}"]
            if report.loss is not None:
                parts.append(f"loss {report.loss:.4f}")
            if report.validation is not None:
                parts.append(f"valid {report.validation:.4f}")
            self.progress.update(self.fit_task, completed=report.epoch, description="  ".join(parts))
            if not self.progress.console.is_terminal:  # logs and CI: one line per epoch instead of a bar
                self.progress.console.print("  ".join(parts), highlight=False)

        return on_epoch

    def fit_finished(self, model: str, seed: int) -> None:
        if self.fit_task is not None:
            self.progress.remove_task(self.fit_task)
            self.fit_task = None

    def outcome(self, outcome: RunOutcome) -> None:
        print_ = self.progress.console.print
        label = outcome.label
        if outcome.status == "failed":
            print_(f"[red]✗ {escape(label)} failed:[/] {escape(outcome.error or '')}")
        elif outcome.status == "busy":
            print_(f"[yellow]• {escape(label)} skipped: {escape(outcome.error or 'being run elsewhere')} "
                   f"(run {outcome.run_id})[/]")
        elif outcome.status == "skipped":
            print_(f"[dim]• {escape(label)} already in the store (run {outcome.run_id}); --rerun to redo it[/]")
        else:
            fit = f"{outcome.fit_seconds:.1f}s" if outcome.fit_seconds is not None else "?"
            saved = f", saved in {outcome.saved_model}" if outcome.saved_model else ""
            fit = "reused" if outcome.fit_seconds is None and outcome.saved_model else f"fit {fit}"
            print_(f"[green]✓ {escape(label)}[/] {fit}, eval {outcome.eval_seconds:.2f}s{_trained(outcome)}"
                   f"{_fallbacks(outcome)}{escape(saved)}")
        warning = tie_warning(outcome) if outcome.status in ("done", "skipped") else None
        if warning:
            print_(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)


def _fallbacks(outcome: RunOutcome) -> str:
    """", 12 fallback predictions" for a rating run (predictions for unseen users or items)."""
    n = outcome.fallback_predictions
    if n is None:
        return ""
    return f", {n} fallback prediction{'' if n == 1 else 's'}"


def _trained(outcome: RunOutcome) -> str:
    info = outcome.training
    if not info.get("epochs_run"):
        return ""
    runs = info["epochs_run"]
    text = f", {runs} epoch{'' if runs == 1 else 's'} ({info.get('stopped', '?')}"
    if info.get("best_epoch"):
        text += f", best {info['best_epoch']}"
    if info.get("refit_epochs"):
        text += f", refit {info['refit_epochs']}"
    return text + ")"


def eval_command(
    models: Optional[list[str]] = typer.Argument(None, help="Model names (see `recplug models`), or dist:name "
                                                           "(none with --model)."),
    dataset: str = typer.Option("ml-100k", "--dataset", "-d", help="Registry name or path to a data file/folder."),
    format: FormatOption = None,
    columns: ColumnsOption = None,
    min_rating: MinRatingOption = None,
    kcore: KcoreOption = None,
    offline: OfflineOption = False,
    task: str = typer.Option("ranking", "--task", help="ranking (rank every item) | rating (predict held-out "
                                                       "ratings: RMSE, MAE, FCP; rating models only)."),
    split: str = typer.Option("loo", "--split", "-s", help="loo | temporal | temporal-user | ratio | presplit | "
                                                          "kfold (--task rating)."),
    folds: Optional[int] = typer.Option(None, "--folds", help="--split kfold: number of folds (>= 2, default 5); "
                                                              "every fold is run."),
    target: Optional[str] = typer.Option(None, "--target", help="temporal split only: all (default) or next."),
    k: str = typer.Option(RANKING_DEFAULTS["--k"], "--k", help="Cut-offs, comma-separated."),
    metrics: str = typer.Option(RANKING_DEFAULTS["--metrics"], "--metrics", help="Per-user metrics, comma-separated."),
    ties: str = typer.Option(RANKING_DEFAULTS["--ties"], "--ties",
                             help="random (seeded, same for every model) | pessimistic | optimistic."),
    seed: int = typer.Option(0, "--seed", help="First seed (>= 0)."),
    seeds: int = typer.Option(1, "--seeds", help="Number of seeds (>= 1): seed, seed+1, ..."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]."),
    set_: list[str] = typer.Option([], "--set", help="Hyperparameter key=value or model.key=value (repeatable)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epoch budget (>= 1; overrides the model default)."),
    patience: int = typer.Option(5, "--patience", help="Early-stopping patience in validation rounds (>= 1)."),
    valid_metric: Optional[str] = typer.Option(None, "--valid-metric", help="Validation metric for early stopping: "
                                               "NAME@K (ranking, default NDCG@10) or RMSE | MAE | FCP (rating, "
                                               "default RMSE)."),
    refit: bool = typer.Option(False, "--refit", help="After early stopping, refit on train + validation for "
                                                      "the best epoch count, then test."),
    negatives: Optional[int] = typer.Option(None, "--negatives", help="Sampled evaluation with N negatives (paper reproduction only)."),
    sampler: str = typer.Option(RANKING_DEFAULTS["--sampler"], "--sampler", help="uniform | popularity (with --negatives)."),
    batch_size: int = typer.Option(1024, "--batch-size", help="Users scored at once (results do not depend on it)."),
    threads: int = typer.Option(0, "--threads", help="Threads for kernels and torch (0 = all cores)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Results store (SQLite); default under the user data dir."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write this invocation's leaderboard to a file "
                                                           "(.md, .tex, .html, .csv or .json)."),
    rerun: bool = typer.Option(False, "--rerun", help="Redo runs already in the store."),
    save_model: Optional[Path] = typer.Option(None, "--save-model", help="Save each fitted model with a card in "
                                              "DIR/<model>-seed<N> (reuse it with --model or `recplug recommend "
                                              "--model`)."),
    model_dir: list[Path] = typer.Option([], "--model", help="Evaluate a saved model folder instead of fitting "
                                         "(repeatable; its split and seed come from its card)."),
    tag: list[str] = typer.Option([], "--tag", help="key=value stored with every run (repeatable)."),
    executor: str = typer.Option("plain", "--executor", help="plain (this process) | ray (each run a Ray task)."),
    address: Optional[str] = typer.Option(None, "--address", help="--executor ray: auto | ray://host:port "
                                                                  "(default: start a local Ray)."),
    cpus_per_job: float = typer.Option(1, "--cpus-per-job", help="--executor ray: CPUs each run asks for "
                                                                 "(also its threads)."),
    gpus_per_job: float = typer.Option(0, "--gpus-per-job", help="--executor ray: GPUs each run asks for."),
) -> None:
    """Fit and evaluate MODELS on a dataset under one split, with full ranking over all items
    (or, with --task rating, the RMSE, MAE and FCP of their predicted ratings)."""
    request = build_request(models=models, dataset=dataset, data=data_options(format, columns, min_rating, kcore, offline),
                            task=task, split=split, folds=folds, target=target, k=k, metrics=metrics, ties=ties, seed=seed, seeds=seeds,
                            device=device, set_=set_, epochs=epochs, patience=patience, valid_metric=valid_metric,
                            refit=refit, negatives=negatives, sampler=sampler, batch_size=batch_size,
                            threads=threads, db=db, rerun=rerun, save_model=save_model,
                            model_dirs=model_dir, tags=tag)
    export = out_format(out)
    if split == "temporal-user":
        err.print("[yellow]note:[/] temporal-user splits each user's history by time; it leaks "
                  "future interactions of other users into training.")
    from recplug.cli.tune import check_executor_flags
    from recplug.executors import make_executor
    from recplug.runner import prepare, run_plan

    check_executor_flags(executor, address, cpus_per_job, gpus_per_job)
    with as_flags(EVAL_FLAGS):
        plan = prepare(request)
    if executor != "plain":
        from recplug.executors.sweep import check_plan

        with as_flags({"save_model": "--save-model", "model_dirs": "--model"}):
            check_plan(plan)
    jobs = make_executor(executor, address=address, cpus_per_job=cpus_per_job, gpus_per_job=gpus_per_job)
    try:
        with _threads(threads), Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                         TimeElapsedColumn(), console=err, transient=True) as progress:
            outcomes = run_plan(plan, RichReporter(progress), executor=jobs)
    finally:
        jobs.close()
    _show_leaderboard(outcomes, request, out, export)
    err.print(f"results: {_store_path(request)}", highlight=False, markup=False, soft_wrap=True)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        runs = ", ".join(f"{o.model} (seed {o.seed})" for o in failed)
        err.print(f"[red]error:[/] {len(failed)} of {len(outcomes)} runs failed: {escape(runs)}; "
                  "they are stored as failed (see the lines above)", soft_wrap=True)
        raise typer.Exit(1)


def build_request(*, models, dataset, data, task, split, folds, target, k, metrics, ties, seed, seeds, device, set_,
                  epochs, patience, valid_metric, refit, negatives, sampler, batch_size, threads, db,
                  rerun, save_model=None, model_dirs=(), tags=()) -> EvalRequest:
    """The request of an ``eval`` invocation; ConfigError naming the flag for a bad value."""
    from recplug.evaluation import EvalConfig
    from recplug.params import parse_overrides
    from recplug.runner import TASKS, EvalRequest

    models = list(models or [])
    if not models and not model_dirs:
        raise ConfigError("name at least one model (see `recplug models`), or a saved one with --model DIR")
    if models and model_dirs:
        raise ConfigError(f"--model DIR evaluates a saved model instead of fitting: drop the model names "
                          f"({', '.join(models)}) or --model")
    if model_dirs and (seed != 0 or seeds != 1):
        raise ConfigError("--model DIR runs on the seed in its card: drop --seed and --seeds")
    if model_dirs and save_model is not None:
        raise ConfigError("--save-model saves models that eval fits; --model fits none: drop one")
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1 (how many seeds to run), got {seeds}")
    if seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    if threads < 0:
        raise ConfigError(f"--threads must be >= 0 (0 = all cores), got {threads}")
    split_params = {}
    if target is not None:
        if split != "temporal":
            raise ConfigError(f"--target applies to --split temporal only (got --split {split}); drop --target")
        split_params["target"] = target
    if task not in TASKS:
        raise ConfigError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    if split == "kfold" and task != "rating":
        raise ConfigError(f"--split kfold cross-validates ratings: add --task rating (got --task {task}); "
                          "for ranking use loo, ratio or temporal")
    if task == "rating":
        given = {"--k": k, "--metrics": metrics, "--ties": ties, "--sampler": sampler}
        changed = [flag for flag, value in given.items() if value != RANKING_DEFAULTS[flag]]
        if changed:
            raise ConfigError(f"{', '.join(changed)} appl{'ies' if len(changed) == 1 else 'y'} to --task "
                              "ranking; --task rating reports RMSE, MAE and FCP: drop "
                              f"{'it' if len(changed) == 1 else 'them'}")
    if folds is not None:
        if split != "kfold":
            raise ConfigError(f"--folds applies to --split kfold only (got --split {split}); drop --folds")
        split_params["folds"] = folds
    with as_flags():
        config = EvalConfig(ks=parse_ints(k, "--k"), metrics=parse_names(metrics), ties=ties,
                            batch_size=batch_size, threads=threads, negatives=negatives, sampler=sampler)
        request = EvalRequest(models=list(models), dataset=dataset, task=task, split=split, split_params=split_params,
                              seeds=list(range(seed, seed + seeds)), eval_config=config,
                              overrides=parse_overrides(set_), device=device, threads=threads,
                              max_epochs=epochs, patience=patience, validation_metric=valid_metric,
                              refit=refit, data_options=data, db=str(db) if db else None, rerun=rerun,
                              save_model=str(save_model) if save_model is not None else None,
                              model_dirs=[str(d) for d in model_dirs], tags=parse_tags(tags))
    return request


def parse_tags(pairs) -> dict[str, str]:
    """``["k=v", ...]`` of ``--tag`` as a dict; ConfigError naming --tag for a malformed pair."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--tag takes key=value, got {pair!r}")
        tags[key.strip()] = value
    return tags


def _store_path(request: EvalRequest) -> Path:
    from recplug.store import default_store_path

    return Path(request.db).expanduser().absolute() if request.db else default_store_path()


def _threads(threads: int):
    """Cap BLAS and torch threads (idle OpenBLAS threads would otherwise spin on the cores)."""
    from recplug.training.threads import default_threads, limited_threads

    return limited_threads(threads or default_threads())


def _shown_metrics(request: EvalRequest) -> list[str]:
    """The leaderboard columns of an eval: RMSE, MAE and FCP (rating), else each chosen
    metric at K=10 (or the nearest K)."""
    from recplug.evaluation.config import metric_name
    from recplug.vocabulary import RATING_METRICS

    if request.task == "rating":
        return list(RATING_METRICS)
    config = request.eval_config

    k = min(config.ks, key=lambda kk: (abs(kk - 10), kk))
    return [metric_name(m, k) for m in ("ndcg", "recall", "hr", "mrr") if m in config.metrics]


def _show_leaderboard(outcomes: list[RunOutcome], request: EvalRequest, out: Optional[Path],
                      export: Optional[str]) -> None:
    from recplug.leaderboard import Leaderboard, print_table, render
    from recplug.store import ResultStore

    ids = {o.run_id for o in outcomes if o.status in ("done", "skipped") and o.run_id is not None}
    if not ids:
        return
    with ResultStore(request.db) as store:
        runs = [r for r in store.runs(status="done") if r.id in ids]
    shown = [m for m in _shown_metrics(request) if any(m in run.metrics for run in runs)]
    board = Leaderboard.from_runs(runs, metrics=shown or None)
    print_table(board)
    if out is not None and export is not None:
        out.write_text(render(board, export))
        err.print(f"wrote {out}", highlight=False, markup=False)
