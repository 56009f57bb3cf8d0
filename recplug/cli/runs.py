"""``recplug runs``: list, show, remove, prune and export the runs of a results store.

Reading commands open the store read-only (they work on read-only storage and never
migrate it); ``rm`` and ``prune`` ask for confirmation unless ``--yes``.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from recplug.cli.options import FlagCommand, FlagGroup
from recplug.errors import ConfigError

out = Console(width=None if sys.stdout.isatty() else 200)  #: pipes and logs get whole lines
err = Console(stderr=True)

app = typer.Typer(cls=FlagGroup, help="List, show, remove, prune and export stored runs.",
                  no_args_is_help=False, pretty_exceptions_show_locals=False, add_completion=False)

DbOption = typer.Option(None, "--db", help="Results store (SQLite); default under the user data dir.")
STATUSES = ("all", "done", "failed", "interrupted", "running")


def _store(db: Optional[Path], *, write: bool = False):
    from recplug.store import ResultStore

    return ResultStore(db, readonly=not write)


def _when(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    return _dt.datetime.fromtimestamp(seconds, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M")


def _headline(metrics: dict[str, float]) -> str:
    for name in ("NDCG@10", "RMSE"):
        if name in metrics:
            return f"{name} {metrics[name]:.4f}"
    return next((f"{k} {v:.4f}" for k, v in sorted(metrics.items())), "—")


def _parse_tag(tag: Optional[str]) -> tuple[str, Optional[str]] | None:
    if tag is None:
        return None
    key, sep, value = tag.partition("=")
    if not key.strip():
        raise ConfigError(f"--tag takes key or key=value, got {tag!r}")
    return key.strip(), (value if sep else None)


def _select(store, *, dataset, split, model, status, tag):
    if status not in STATUSES:
        raise ConfigError(f"--status must be one of {', '.join(STATUSES)}, got {status!r}")
    wanted = None if status == "all" else status
    records = store.runs(dataset=dataset, split=split, model=model, status=wanted)
    chosen = _parse_tag(tag)
    if chosen is not None:
        tagged = {r.id for r in store.runs_tagged(chosen[0], chosen[1], status=wanted)}
        records = [r for r in records if r.id in tagged]
    return records


@app.callback(invoke_without_command=True)
def _default(ctx: typer.Context, db: Optional[Path] = typer.Option(
        None, "--db", help="Results store for a bare `recplug runs` (the commands take their own --db).")) -> None:
    """List the newest runs (same as `list`)."""
    if ctx.invoked_subcommand is None:
        list_runs(db=db, dataset=None, split=None, model=None, status="all", tag=None, limit=50)
    elif db is not None:
        raise ConfigError(f"--db goes after the command: `recplug runs {ctx.invoked_subcommand} ... --db {db}`")


@app.command("list", cls=FlagCommand)
def list_runs(
    db: Optional[Path] = DbOption,
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Only this dataset."),
    split: Optional[str] = typer.Option(None, "--split", "-s", help="Only this split."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model (name or dist:name)."),
    status: str = typer.Option("all", "--status", help="all | done | failed | interrupted | running."),
    tag: Optional[str] = typer.Option(None, "--tag", help="Only runs with this tag (key or key=value)."),
    limit: int = typer.Option(50, "--limit", help="Show the newest N (0 = all)."),
) -> None:
    """One line per run: id, status (failed runs with their error), model, data, seed, headline metric."""
    if limit < 0:
        raise ConfigError(f"--limit must be >= 0 (0 = all), got {limit}")
    with _store(db) as store:
        records = _select(store, dataset=dataset, split=split, model=model, status=status, tag=tag)
        shown = records[-limit:] if limit else records
        tags = store.tags_of(r.id for r in shown)
        path = store.path
    if not records:
        err.print(f"no runs in {path} match", highlight=False, markup=False)
        return
    table = Table(title=f"runs in {path}", title_justify="left")
    for column in ("id", "status", "model", "data", "seed", "result", "fit s", "finished", "tags"):
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "status", "seed", "finished"))
    for r in shown:
        result = _headline(r.metrics) if r.status == "done" else (r.error or "")[:80]
        style = {"failed": "red", "interrupted": "yellow", "running": "cyan"}.get(r.status)
        data = " ".join([r.spec.dataset, r.spec.split] + ([] if r.spec.protocol == "full" else [r.spec.protocol]))
        model = r.spec.model.removeprefix("recplug:")
        table.add_row(str(r.id), f"[{style}]{r.status}[/]" if style else r.status, model, data,
                      str(r.spec.seed), result, "—" if r.fit_seconds is None else f"{r.fit_seconds:.1f}",
                      _when(r.finished_at), " ".join(f"{k}={v}" for k, v in tags.get(r.id, {}).items()))
    out.print(table)
    if limit and len(records) > limit:
        err.print(f"{len(records) - limit} older runs not shown (--limit 0 shows all)",
                  highlight=False, markup=False)


@app.command("show", cls=FlagCommand)
def show_run(run_id: int = typer.Argument(..., help="Run id (see `recplug runs list`)."),
             db: Optional[Path] = DbOption) -> None:
    """Everything stored with one run, as JSON: identity, status, environment, timings,
    metrics, split summary, training, tags and the per-user arrays' names and sizes."""
    with _store(db) as store:
        record = store.run(run_id)
        tags = store.run_tags(run_id)
        users, arrays = record.per_user()
    spec = record.spec
    shown = {
        "id": record.id, "status": record.status, "error": record.error,
        "model": spec.model, "plugin": {"dist": spec.plugin_dist, "version": spec.plugin_version},
        "hyperparameters": spec.hyperparameters, "training": spec.training,
        "dataset": {"name": spec.dataset, "fingerprint": spec.dataset_fingerprint},
        "split": {"name": spec.split, "params": spec.split_params, "seed": spec.seed},
        "protocol": spec.protocol, "ties": spec.ties, "ks": list(spec.ks), "config_key": record.config_key,
        "started_at": _when(record.started_at), "finished_at": _when(record.finished_at),
        "fit_seconds": record.fit_seconds, "eval_seconds": record.eval_seconds,
        "peak_memory_bytes": record.peak_memory_bytes, "env": record.env, "metrics": record.metrics,
        "split_summary": record.split_summary, "training_info": record.training_info, "tags": tags,
        "per_user": {"users": int(len(users)), "metrics": sorted(arrays)},
    }
    typer.echo(json.dumps(shown, indent=2, sort_keys=False, default=str))


def _confirm(what: str, yes: bool) -> None:
    if yes:
        return
    if not typer.confirm(f"{what}?", default=False, err=True):
        err.print("nothing deleted", highlight=False, markup=False)
        raise typer.Exit(1)


@app.command("rm", cls=FlagCommand)
def remove_runs(run_ids: list[int] = typer.Argument(..., help="Run ids to delete."),
                db: Optional[Path] = DbOption,
                yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Delete runs with their metrics, per-user arrays and tags (asks first; --yes skips)."""
    with _store(db, write=True) as store:
        records = [store.run(run_id) for run_id in dict.fromkeys(run_ids)]  # unknown id: error, nothing asked
        listing = ", ".join(f"{r.id} ({r.spec.model}, {r.status})" for r in records)
        _confirm(f"delete {len(records)} run{'s' if len(records) != 1 else ''} from {store.path}: {listing}", yes)
        deleted = store.delete_runs(r.id for r in records)
    err.print(f"deleted {len(deleted)} run{'s' if len(deleted) != 1 else ''}", highlight=False, markup=False)


@app.command("prune", cls=FlagCommand)
def prune_runs(db: Optional[Path] = DbOption,
               failed: bool = typer.Option(False, "--failed", help="Delete every failed run."),
               interrupted: bool = typer.Option(False, "--interrupted", help="Delete every interrupted run."),
               yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")) -> None:
    """Delete every failed and/or interrupted run (done runs are never pruned)."""
    statuses = [s for s, on in (("failed", failed), ("interrupted", interrupted)) if on]
    if not statuses:
        raise ConfigError("prune needs --failed and/or --interrupted (done runs are removed by id with "
                          "`recplug runs rm ID`)")
    with _store(db, write=True) as store:
        count = sum(len(store.runs(status=s)) for s in statuses)
        if not count:
            err.print(f"no {' or '.join(statuses)} runs in {store.path}", highlight=False, markup=False)
            return
        _confirm(f"delete {count} {' and '.join(statuses)} run{'s' if count != 1 else ''} from {store.path}", yes)
        deleted = store.prune(statuses)
    err.print(f"deleted {len(deleted)} run{'s' if len(deleted) != 1 else ''}", highlight=False, markup=False)


@app.command("export", cls=FlagCommand)
def export(
    format: str = typer.Option("parquet", "--format", help="parquet | csv."),
    out_dir: Path = typer.Option(Path("recplug-export"), "--out", help="Folder for runs.<fmt> and per_user.<fmt>."),
    db: Optional[Path] = DbOption,
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Only this dataset."),
    split: Optional[str] = typer.Option(None, "--split", "-s", help="Only this split."),
    model: Optional[str] = typer.Option(None, "--model", help="Only this model."),
    status: str = typer.Option("done", "--status", help="all | done | failed | interrupted | running."),
    tag: Optional[str] = typer.Option(None, "--tag", help="Only runs with this tag (key or key=value)."),
) -> None:
    """Write the runs' metrics (one row per run) and per-user metrics (one row per run and
    user) as Parquet or CSV files."""
    from recplug.store.export import FORMATS, export_runs

    if format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    with _store(db) as store:
        records = _select(store, dataset=dataset, split=split, model=model, status=status, tag=tag)
        tags = store.tags_of(r.id for r in records)
        paths = export_runs(records, out_dir, format, tags=tags)
    err.print(f"exported {len(records)} runs: {', '.join(str(p) for p in paths)}", highlight=False,
              markup=False, soft_wrap=True)
