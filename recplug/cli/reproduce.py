"""``recplug reproduce``: list the catalogue of published results, or run one entry and
print ours next to the published value."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from recplug.errors import ConfigError

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


def _published(entry) -> str:
    return ", ".join(f"{m} {v:g}" for m, v in entry.published.items())


def list_entries() -> None:
    from recplug.reproduce import AVAILABLE, load_catalogue

    table = Table(title="recplug reproduce: published results", title_justify="left")
    for column in ("entry", "model", "dataset", "protocol", "published", "status", "cost"):
        table.add_column(column, overflow="fold")
    for entry in load_catalogue().values():
        status = entry.availability()
        shown = status if status == AVAILABLE else f"[yellow]{status}[/]"
        table.add_row(entry.id, entry.model, entry.dataset, entry.protocol_label, _published(entry),
                      shown, entry.cost)
    out.print(table)


def _number(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.4f}"


def show(reproduction) -> None:
    entry = reproduction.entry
    table = Table(title=f"{entry.id}: {entry.model} on {entry.dataset}, {entry.protocol_label}",
                  title_justify="left")
    for column in ("metric", "published", "ours", "difference", "seed spread", "inside?"):
        table.add_column(column, justify="left" if column in ("metric", "inside?") else "right")
    for c in reproduction.comparisons:
        spread = "—" if c.spread is None else f"{c.spread[0]:.4f} – {c.spread[1]:.4f}"
        inside = {True: "yes", False: "no", None: "— (one seed)"}[c.inside]
        diff = "—" if c.difference is None else f"{c.difference:+.4f}"
        table.add_row(c.metric, f"{c.published:g}", _number(c.ours), diff, spread, inside)
    out.print(table)
    seeds = sorted({len(c.seed_values) for c in reproduction.comparisons})
    err.print(f"source: {entry.source} ({entry.url}); {len(reproduction.run_ids)} runs "
              f"(ids {', '.join(map(str, reproduction.run_ids)) or 'none'}), seeds: {seeds[-1] if seeds else 0}",
              highlight=False, markup=False, soft_wrap=True)
    if entry.notes:
        err.print(f"note: {entry.notes}", highlight=False, markup=False, soft_wrap=True)


def reproduce_command(
    entry_id: Optional[str] = typer.Argument(None, metavar="ENTRY", help="Catalogue entry (see --list)."),
    list_: bool = typer.Option(False, "--list", help="List the catalogue and what this installation can run."),
    stored: bool = typer.Option(False, "--stored", help="Compare the runs already stored for ENTRY; run nothing."),
    seeds: Optional[int] = typer.Option(None, "--seeds", help="Run only the entry's first N seeds."),
    device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]."),
    threads: int = typer.Option(0, "--threads", help="Threads for kernels and torch (0 = all cores)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Results store (SQLite); default under the user data dir."),
) -> None:
    """Run a published configuration (ENTRY) as ordinary runs tagged reproduce=ENTRY, and print
    ours next to the published value: the difference, and whether it lies inside our seed spread."""
    from recplug.reproduce import get_entry, reproduce

    if list_:
        if entry_id is not None:
            raise ConfigError("--list lists every entry: drop ENTRY, or drop --list to run it")
        list_entries()
        return
    if entry_id is None:
        raise ConfigError("name an ENTRY to reproduce, or pass --list to see them")
    entry = get_entry(entry_id)
    if seeds is not None and not 1 <= seeds <= len(entry.seeds):
        raise ConfigError(f"--seeds must lie in 1..{len(entry.seeds)} (the entry's seeds "
                          f"{list(entry.seeds)}), got {seeds}")
    chosen = list(entry.seeds[:seeds]) if seeds else None
    if stored:
        show(reproduce(entry, db=str(db) if db else None, seeds=chosen, run=False))
        return
    from recplug.cli.eval import RichReporter, _threads
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with _threads(threads), Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                     TimeElapsedColumn(), console=err, transient=True) as progress:
        result = reproduce(entry, db=str(db) if db else None, threads=threads, device=device,
                           seeds=chosen, reporter=RichReporter(progress))
    show(result)
    if result.failed:
        err.print(f"[red]error:[/] {len(result.failed)} runs failed: {'; '.join(result.failed)}", soft_wrap=True)
        raise typer.Exit(1)
