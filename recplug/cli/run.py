"""``recplug run study.toml``: every job of an experiment file (:mod:`recplug.experiment`).

Exit codes: 0 when every run is done (or already was), 1 when any run failed, 130 / 143
when interrupted (rerun the file to go on), and the documented code of any error found
while checking the file (2 for a bad key or value), before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True, highlight=False)


def run_command(
    file: Path = typer.Argument(..., help="The experiment file (TOML; see examples/study.toml)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Results store (overrides the file's study.db)."),
    executor: str = typer.Option("plain", "--executor", help="plain (this process) | ray (each job a Ray task)."),
    address: Optional[str] = typer.Option(None, "--address", help="--executor ray: auto | ray://host:port "
                                                                  "(default: start a local Ray)."),
    cpus_per_job: float = typer.Option(1, "--cpus-per-job", help="--executor ray: CPUs each job asks for."),
    gpus_per_job: float = typer.Option(0, "--gpus-per-job", help="--executor ray: GPUs each job asks for."),
    check: bool = typer.Option(False, "--check", help="Only check the file and list its jobs."),
) -> None:
    """Run an experiment file: models (fixed or searched), datasets, splits, seeds and metrics;
    every (model, dataset, split, seed) a run in the store. Rerunning skips what is done."""
    from recplug.cli.eval import _threads
    from recplug.cli.options import as_flags
    from recplug.cli.tune import TUNE_FLAGS, LineReporter, _EvalLines, check_executor_flags
    from recplug.executors import make_executor
    from recplug.experiment import load_experiment, run_experiment

    check_executor_flags(executor, address, cpus_per_job, gpus_per_job)
    experiment = load_experiment(file, db=str(db) if db is not None else None)
    for kind, request in experiment.requests():
        what = "tune + test" if kind == "tune" else "eval"
        ev = request.eval if kind == "tune" else request
        err.print(f"{what}: {', '.join(ev.models)} on {ev.dataset} / {ev.split}, seeds "
                  f"{', '.join(map(str, ev.seeds))}", markup=False, soft_wrap=True)
    if check:
        return
    with as_flags(TUNE_FLAGS):
        runner = make_executor(executor, address=address, cpus_per_job=cpus_per_job, gpus_per_job=gpus_per_job)
    try:
        with _threads(int(experiment.study.get("threads", 0))):
            outcomes = run_experiment(experiment, executor=runner, eval_reporter=_EvalLines(err),
                                      tune_reporter=LineReporter(err))
    finally:
        runner.close()
    done = sum(o.status == "done" for o in outcomes)
    skipped = sum(o.status == "skipped" for o in outcomes)
    err.print(f"{len(outcomes)} runs: {done} done now, {skipped} already in the store", markup=False)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        err.print(f"[red]error:[/] {len(failed)} runs failed: {escape(', '.join(o.label for o in failed))}",
                  soft_wrap=True)
        raise typer.Exit(1)
