"""``recplug recommend``: top-K lists of one model, streamed to a Parquet, CSV or JSON-lines file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from recplug.cli.options import (FLAGS, ColumnsOption, FormatOption, KcoreOption, MinRatingOption,
                                 OfflineOption, as_flags, data_options)

err = Console(stderr=True)

#: library argument names of recommend's errors -> its flags
RECOMMEND_FLAGS = {**FLAGS, "model_dir": "--model", "save_model": "--save-model", "fit": "--fit",
                   "users": "--users", "out": "--out", "model": "MODEL"}


def recommend_command(
    model: Optional[str] = typer.Argument(None, help="Model to fit (see `recplug models`); none with --model."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: .parquet, .csv or .jsonl (one row per "
                                                      "user and rank: user, item, rank, score; raw ids)."),
    dataset: str = typer.Option("ml-100k", "--dataset", "-d", help="Registry name (e.g. demo) or path."),
    format: FormatOption = None,
    columns: ColumnsOption = None,
    min_rating: MinRatingOption = None,
    kcore: KcoreOption = None,
    offline: OfflineOption = False,
    split: str = typer.Option("loo", "--split", "-s", help="Split whose test users get lists (--fit split)."),
    fit: str = typer.Option("split", "--fit", help="split: fit on the split's train part as eval does, "
                                                   "recommend to its test users | all: fit on every "
                                                   "interaction, recommend to every user."),
    users: Optional[str] = typer.Option(None, "--users", help="test (with --fit split) | all (with --fit all)."),
    k: int = typer.Option(20, "--k", help="Items per user (>= 1)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the fit and the tie order (>= 0)."),
    model_dir: Optional[Path] = typer.Option(None, "--model", help="A saved model folder (eval --save-model) "
                                             "to use instead of fitting."),
    save_model: Optional[Path] = typer.Option(None, "--save-model", help="Keep the fitted model with its card here."),
    set_: list[str] = typer.Option([], "--set", help="Hyperparameter key=value (repeatable)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epoch budget (>= 1)."),
    patience: int = typer.Option(5, "--patience", help="Early-stopping patience (>= 1)."),
    refit: bool = typer.Option(False, "--refit", help="Refit on train + validation before recommending."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]."),
    threads: int = typer.Option(0, "--threads", help="Threads for kernels and torch (0 = all cores)."),
    batch_size: int = typer.Option(1024, "--batch-size", help="Users scored at once: memory is "
                                                             "batch x items floats (the lists do not depend on it)."),
) -> None:
    """Write each user's top-K unseen items under MODEL: the evaluator's masking and tie
    order, streamed in batches (memory bounded by one batch, never users x items)."""
    from recplug.cli.eval import _threads
    from recplug.params import parse_overrides
    from recplug.recommend import RecommendRequest, run_recommend

    if seed < 0:
        raise typer.BadParameter(f"must be >= 0, got {seed}", param_hint="--seed")
    if threads < 0:
        raise typer.BadParameter(f"must be >= 0 (0 = all cores), got {threads}", param_hint="--threads")
    with as_flags(RECOMMEND_FLAGS):
        request = RecommendRequest(out=str(out), dataset=dataset, model=model,
                                   model_dir=str(model_dir) if model_dir else None, fit=fit, users=users,
                                   split=split, seed=seed, k=k, overrides=parse_overrides(set_),
                                   device=device, threads=threads, batch_size=batch_size,
                                   max_epochs=epochs, patience=patience, refit=refit,
                                   data_options=data_options(format, columns, min_rating, kcore, offline),
                                   save_model=str(save_model) if save_model else None)
        from recplug.runner import SilentReporter

        class _Stages(SilentReporter):
            def stage(self, message: str) -> None:
                err.print(message, highlight=False, markup=False)

        with _threads(threads):
            summary = run_recommend(request, _Stages())
    fit_text = "reused a saved model" if summary.fit_seconds is None else f"fit {summary.fit_seconds:.1f}s"
    saved = f"; model saved in {summary.saved_model}" if summary.saved_model else ""
    err.print(f"wrote {summary.rows} recommendations for {summary.users} users to {summary.path} "
              f"({fit_text}, {summary.seconds:.1f}s in all, peak memory "
              f"{summary.peak_memory_bytes / 2**20:.0f} MiB){saved}", highlight=False, markup=False,
              soft_wrap=True)
