"""``recplug bench``: our figure next to the alternative measured in the same run, as a ratio."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.table import Table

from recplug.cli.options import FlagCommand, FlagGroup
from recplug.errors import ConfigError

if TYPE_CHECKING:
    from recplug.bench.common import BenchRow

app = typer.Typer(cls=FlagGroup, help="Benchmarks: recplug vs the best alternative, measured in the same run.",
                  no_args_is_help=True)
SCALES = ("ml1m", "large")


def _scales(scale: str) -> list[str]:
    chosen = list(SCALES) if scale == "all" else [scale]
    for s in chosen:
        if s not in SCALES:
            raise ConfigError(f"--scale must be one of {', '.join(SCALES)} or all, got {scale!r}")
    return chosen


def _straight_models() -> list[str]:
    from recplug.bench.straight import available

    return available()


def _repeats(repeats: int) -> int:
    if repeats < 1:
        raise ConfigError(f"--repeats must be >= 1 (timed rounds), got {repeats}")
    return repeats


def _report(title: str, rows: list[BenchRow], json_path: Optional[Path]) -> None:
    table = Table(title=title)
    for col in ("kernel", "shape", "ours", "alternative", "alt", "ratio", "target"):
        table.add_column(col, justify="right" if col in ("ours", "alt", "ratio", "target") else "left")
    for r in rows:
        style = "green" if r.met else "red"
        table.add_row(r.kernel, r.shape, _fmt(r.ours_s), r.alternative, _fmt(r.alternative_s),
                      f"[{style}]{r.ratio:.1f}x[/]", f"≥ {r.target:g}x")
    _console().print(table)
    if json_path is not None:
        payload = {"benchmark": title, "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                   "rows": [r.to_dict() for r in rows]}
        json_path.write_text(json.dumps(payload, indent=2))
        Console(stderr=True).print(f"wrote {json_path}")


def _console() -> Console:
    """stdout console; outside a terminal wide enough that no row wraps (logs, CI)."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


@app.command(cls=FlagCommand, name="kernels")
def kernels_bench(
    scale: str = typer.Option("ml1m", help="ml1m (6,040 x 3,706, ~1M interactions), large (100k x 50k, ~10M) or all."),
    repeats: int = typer.Option(5, help="Timed rounds at least, ours and the alternative in alternation "
                                        "(medians reported; fast pairs get up to 51 rounds, about 1 s; "
                                        "the full 100k x 50k pass runs at most 3 times)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the rows as JSON."),
) -> None:
    """Masked top-K, fused scoring + top-K, metrics, negative sampling, CSR x dense."""
    scales, repeats = _scales(scale), _repeats(repeats)
    from recplug.bench import kernels_graph, kernels_rank

    rows = [row for s in scales for module in (kernels_rank, kernels_graph) for row in module.run(s, repeats)]
    _report("recplug bench kernels", rows, json_out)


@app.command(cls=FlagCommand, name="eval")
def eval_bench(
    scale: str = typer.Option("ml1m", help="ml1m or large."),
    repeats: int = typer.Option(5, help="Timed rounds at least, ours and the alternative in alternation "
                                        "(medians reported; fast pairs get up to 51 rounds, about 1 s)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the rows as JSON."),
    memory: bool = typer.Option(False, "--memory", help="Also measure the peak RSS of a whole evaluation in a fresh process."),
) -> None:
    """Full-ranking evaluation of a fixed 64-dim embedding model vs a torch-only pipeline."""
    scales, repeats = _scales(scale), _repeats(repeats)
    from recplug.bench import eval as eval_bench_module

    _report("recplug bench eval", [row for s in scales for row in eval_bench_module.run(s, repeats)], json_out)
    if memory:
        for s in scales:
            rss = eval_bench_module.evaluation_peak_rss(s)
            _console().print(f"peak RSS of a whole {s} evaluation (data generation, split, full ranking, "
                            f"batches of 1,024 users): {rss / 2**30:.2f} GiB")


@app.command(cls=FlagCommand, name="train")
def train_bench(
    model: str = typer.Argument("bpr", help="A model with a straightforward alternative in "
                                            f"recplug.bench.straight: {', '.join(_straight_models())}."),
    repeats: int = typer.Option(3, help="Timed epochs of each side after one warm-up epoch, ours and the "
                                        "alternative in alternation (medians reported)."),
    threads: int = typer.Option(2, help="CPU threads of both sides (torch and BLAS pools); with --concurrent, "
                                        "of the solo job (and, with --no-share, of each job; 0: each job "
                                        "chooses, recplug.training.threads.default_threads)."),
    concurrent: int = typer.Option(0, help="Instead: time N identical jobs (processes) training at once "
                                           "against one alone (seconds per epoch of each; target: each "
                                           "at most 2.3x the solo time)."),
    share: bool = typer.Option(True, "--share/--no-share",
                               help="With --concurrent: hand each job its share of the usable CPUs "
                                    "(recplug.training.threads.job_threads), as an executor does; "
                                    "--no-share starts each with --threads, as jobs started by hand are."),
    epochs: int = typer.Option(2, help="With --concurrent: epochs each job trains (timed together)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the rows as JSON."),
) -> None:
    """Seconds per epoch on ML-1M-shaped data vs a straightforward torch implementation
    (or, with --concurrent N, alone vs N jobs at once)."""
    from recplug.bench import straight, train

    repeats = _repeats(repeats)
    if threads < (0 if concurrent else 1):
        raise ConfigError(f"--threads must be >= 1 (or 0 with --concurrent: each job chooses), got {threads}")
    if concurrent < 0 or concurrent == 1:
        raise ConfigError(f"--concurrent must be 0 (off) or a number of jobs >= 2, got {concurrent}")
    if epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {epochs}")
    try:
        straight.load(model)
    except ConfigError as exc:
        raise ConfigError(f"recplug bench train: {exc}") from None
    if concurrent:
        _report_concurrent(model, concurrent, threads, share, epochs, json_out)
        return
    _report(f"recplug bench train {model}", train.run(model, repeats, threads=threads), json_out)


def _report_concurrent(model: str, jobs: int, threads: int, share: bool, epochs: int,
                       json_path: Optional[Path]) -> None:
    from recplug.bench import concurrent

    result = concurrent.run(model, jobs, epochs=epochs, threads=threads, share=share)
    table = Table(title=f"recplug bench train {model} --concurrent {jobs}")
    for col in ("job", "threads", "s/epoch", "x solo", "target"):
        table.add_column(col, justify="left" if col == "job" else "right")
    table.add_row("alone", str(result.solo_threads), f"{result.solo_s:.2f} s", "1.00x", "")
    for i, (t, s, slow) in enumerate(zip(result.job_threads, result.concurrent_s, result.slowdowns)):
        style = "green" if slow <= concurrent.TARGET_SLOWDOWN else "red"
        table.add_row(f"{i + 1} of {jobs}", str(t), f"{s:.2f} s", f"[{style}]{slow:.2f}x[/]",
                      f"≤ {concurrent.TARGET_SLOWDOWN:g}x")
    _console().print(table)
    if json_path is not None:
        payload = {"benchmark": f"recplug bench train {model} --concurrent {jobs}",
                   "machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, **result.to_dict()}
        json_path.write_text(json.dumps(payload, indent=2))
        Console(stderr=True).print(f"wrote {json_path}")


@app.command(cls=FlagCommand, name="rating")
def rating_bench(
    repeats: int = typer.Option(1, help="Whole 5-fold cross-validations of each side, ours and scikit-surprise's "
                                        "in alternating order (medians reported)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the rows (with the RMSEs) as JSON."),
) -> None:
    """5-fold CV of svd and svdpp (fit + test, 1 thread) on ml-100k vs scikit-surprise, with the RMSE of both."""
    from recplug.bench import rating

    rows, note = rating.run(_repeats(repeats))
    _report("recplug bench rating", rows, json_out)
    for row in rows:
        theirs = f", {row.alternative} {row.alternative_rmse:.4f}" if row.alternative_rmse == row.alternative_rmse else ""
        _console().print(f"{row.kernel.split()[0]} mean test RMSE over the folds: recplug {row.ours_rmse:.4f}{theirs}",
                         markup=False)
    if note:
        _console().print(note, markup=False)
