"""``recplug eval``: fit and evaluate models, store every run, show this invocation's leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from recplug.contract import EpochReport
from recplug.errors import ConfigError
from recplug.runner import EvalRequest, RunOutcome, run_eval

err = Console(stderr=True)


class RichReporter:
    """Progress on stderr: a spinner per stage, a bar per training run with loss and validation."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.stage_task = progress.add_task("starting", total=None)
        self.fit_task = None

    def stage(self, message: str) -> None:
        self.progress.update(self.stage_task, description=message)
        if not self.progress.console.is_terminal:
            self.progress.console.print(message, highlight=False)

    def fit_started(self, model: str, seed: int, max_epochs: Optional[int]) -> Callable[[EpochReport], None]:
        self.stage(f"fitting {model} (seed {seed})")
        self.fit_task = self.progress.add_task(f"{model} seed {seed}", total=max_epochs)

        def on_epoch(report: EpochReport) -> None:
            parts = [f"{model} seed {seed} epoch {report.epoch}"]
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
        if outcome.status == "failed":
            self.progress.console.print(f"[red]✗ {outcome.model} (seed {outcome.seed}) failed:[/] {outcome.error}")
        elif outcome.status == "skipped":
            self.progress.console.print(f"[dim]• {outcome.model} (seed {outcome.seed}) already in the store "
                                        f"(run {outcome.run_id}); --rerun to redo it[/]")
        else:
            fit = f"{outcome.fit_seconds:.1f}s" if outcome.fit_seconds is not None else "?"
            self.progress.console.print(f"[green]✓ {outcome.model} (seed {outcome.seed})[/] fit {fit}, "
                                        f"eval {outcome.eval_seconds:.2f}s")


def _ints(text: str, option: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"{option} expects comma-separated integers, got {text!r}") from None


def eval_command(
    models: list[str] = typer.Argument(..., help="Model names (see `recplug models`), or dist:name."),
    dataset: str = typer.Option("ml-100k", "--dataset", "-d", help="Registry name or path to a data file/folder."),
    split: str = typer.Option("loo", "--split", "-s", help="loo | temporal | temporal-user | ratio | presplit."),
    target: Optional[str] = typer.Option(None, "--target", help="temporal split only: all (default) or next."),
    k: str = typer.Option("5,10,20,50", "--k", help="Cut-offs, comma-separated."),
    metrics: str = typer.Option("hr,recall,ndcg,mrr,precision,map", "--metrics", help="Per-user metrics, comma-separated."),
    ties: str = typer.Option("random", "--ties", help="random (seeded, same for every model) | pessimistic | optimistic."),
    seed: int = typer.Option(0, "--seed", help="First seed."),
    seeds: int = typer.Option(1, "--seeds", help="Number of seeds: seed, seed+1, ..."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]."),
    set_: list[str] = typer.Option([], "--set", help="Hyperparameter key=value or model.key=value (repeatable)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epoch budget (overrides the model default)."),
    patience: int = typer.Option(5, "--patience", help="Early-stopping patience in validation rounds."),
    valid_metric: str = typer.Option("NDCG@10", "--valid-metric", help="Validation metric for early stopping."),
    negatives: Optional[int] = typer.Option(None, "--negatives", help="Sampled evaluation with N negatives (paper reproduction only)."),
    sampler: str = typer.Option("uniform", "--sampler", help="uniform | popularity (with --negatives)."),
    batch_size: int = typer.Option(1024, "--batch-size", help="Users scored at once (results do not depend on it)."),
    threads: int = typer.Option(0, "--threads", help="Threads for kernels and torch (0 = all cores)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Results store (SQLite); default under the user data dir."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write this invocation's leaderboard to a file (format from the suffix)."),
    rerun: bool = typer.Option(False, "--rerun", help="Redo runs already in the store."),
) -> None:
    """Fit and evaluate MODELS on a dataset under one split, with full ranking over all items."""
    from recplug.evaluation import EvalConfig
    from recplug.params import parse_overrides

    split_params = {}
    if target is not None:
        if split != "temporal":
            raise ConfigError("--target applies to --split temporal only")
        split_params["target"] = target
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    config = EvalConfig(ks=tuple(_ints(k, "--k")), metrics=tuple(m.strip().lower() for m in metrics.split(",") if m.strip()),
                        ties=ties, batch_size=batch_size, threads=threads, negatives=negatives, sampler=sampler)
    if split == "temporal-user":
        err.print("[yellow]note:[/] temporal-user splits each user's history by time; it leaks "
                  "future interactions of other users into training.")
    request = EvalRequest(models=list(models), dataset=dataset, split=split, split_params=split_params,
                          seeds=list(range(seed, seed + seeds)), eval_config=config,
                          overrides=parse_overrides(set_), device=device, threads=threads,
                          max_epochs=epochs, patience=patience, validation_metric=valid_metric,
                          db=str(db) if db else None, rerun=rerun)
    with _threads(threads), Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                     TimeElapsedColumn(), console=err, transient=True) as progress:
        outcomes = run_eval(request, RichReporter(progress))
    _show_leaderboard(outcomes, request, out)
    if all(o.status == "failed" for o in outcomes):
        raise typer.Exit(1)


def _threads(threads: int):
    """Cap BLAS and torch threads (idle OpenBLAS threads would otherwise spin on the cores)."""
    import os

    from recplug.bench.common import limited_threads

    return limited_threads(threads or os.cpu_count() or 1)


def _shown_metrics(config) -> list[str]:
    """The leaderboard columns of an eval: each chosen metric at K=10 (or the nearest K)."""
    from recplug.evaluation.config import metric_name

    k = min(config.ks, key=lambda kk: (abs(kk - 10), kk))
    return [metric_name(m, k) for m in ("ndcg", "recall", "hr", "mrr") if m in config.metrics]


def _show_leaderboard(outcomes: list[RunOutcome], request: EvalRequest, out: Optional[Path]) -> None:
    from recplug.leaderboard import Leaderboard, print_table, render
    from recplug.store import ResultStore

    ids = [o.run_id for o in outcomes if o.status in ("done", "skipped") and o.run_id is not None]
    if not ids:
        return
    with ResultStore(request.db) as store:
        runs = [r for r in store.runs(status="done") if r.id in set(ids)]
    board = Leaderboard.from_runs(runs, metrics=_shown_metrics(request.eval_config))
    print_table(board)
    if out is not None:
        fmt = {".md": "markdown", ".tex": "latex", ".html": "html", ".csv": "csv", ".json": "json"}.get(out.suffix.lower())
        if fmt is None:
            raise ConfigError(f"--out {out}: unknown suffix; use .md, .tex, .html, .csv or .json")
        out.write_text(render(board, fmt))
        err.print(f"wrote {out}")
