"""``recplug datasets``: list the registry and what is available locally, inspect a dataset."""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from recplug.cli.options import (ColumnsOption, FlagCommand, FlagGroup, FormatOption, KcoreOption,
                                 MinRatingOption, OfflineOption, data_options)

app = typer.Typer(
    cls=FlagGroup,
    help="List the dataset registry (and local copies), inspect or download a dataset.",
    no_args_is_help=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


@app.callback(invoke_without_command=True)
def _default(ctx: typer.Context) -> None:
    """List the dataset registry and local copies (same as `list`)."""
    if ctx.invoked_subcommand is None:
        list_datasets()


@app.command(cls=FlagCommand, name="list")
def list_datasets() -> None:
    """List registered datasets and where a local copy is (RECPLUG_DATA_DIR, cache) or not."""
    from recplug.data.registry import REGISTRY, cache_dir, data_dirs, find_local

    table = Table(title="recplug datasets", title_justify="left")
    for column in ("name", "description", "files", "local copy"):
        table.add_column(column, overflow="fold")
    for spec in REGISTRY.values():
        found = find_local(spec)
        where = f"{found[0]}: {found[1]}" if found else "not local (downloaded on first use)"
        table.add_row(spec.name, spec.description, " + ".join(spec.expected_files), where)
    console = Console()
    console.print(table)
    dirs = ", ".join(str(d) for d in data_dirs()) or "unset"
    console.print(f"RECPLUG_DATA_DIR: {dirs}\ncache: {cache_dir()}", highlight=False)


@app.command(cls=FlagCommand, name="info")
def info(
    dataset: str = typer.Argument(..., help="A registered name (see `list`) or a file/folder path."),
    format: FormatOption = None,
    columns: ColumnsOption = None,
    min_rating: MinRatingOption = None,
    kcore: KcoreOption = None,
    offline: OfflineOption = False,
) -> None:
    """Print users, items, interactions, density, time span and duplicates of a dataset, and
    its item side information: each field's kind and coverage (share of items with a value)."""
    from recplug.data import load_dataset

    options = data_options(format, columns, min_rating, kcore, offline)
    data = load_dataset(dataset, **options.load_kwargs())
    Console().print(_info_table(data))


@app.command(cls=FlagCommand, name="download")
def download(
    name: str = typer.Argument(..., help="A registered dataset name (see `list`)."),
) -> None:
    """Download a registered dataset into the cache (no-op when a local copy exists)."""
    from recplug.data.download import fetch
    from recplug.data.registry import get_spec, locate_in_data_dirs

    spec = get_spec(name)
    local = locate_in_data_dirs(spec)
    console = Console()
    if local is not None:
        console.print(f"{name}: found in RECPLUG_DATA_DIR at {local}", highlight=False)
        return
    folder = fetch(spec)
    console.print(f"{name}: {folder}", highlight=False)


def _info_table(data: Any) -> Table:
    inter = data.interactions
    table = Table(title=f"{data.name}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    cells = inter.n_users * inter.n_items
    rows: list[tuple[str, str]] = [
        ("source", data.source),
        ("format", str(data.report.get("format", "?"))),
        ("users", f"{inter.n_users:,}"),
        ("items", f"{inter.n_items:,}"),
        ("interactions", f"{len(inter):,}"),
        ("density", f"{len(inter) / cells:.4%}" if cells else "n/a"),
        ("duplicates", f"{inter.n_duplicates:,} rows repeat an earlier (user, item) pair"),
        ("time span", _time_span(inter.timestamps)),
    ]
    if inter.ratings is not None:
        rows.append(("ratings", f"{float(inter.ratings.min()):g} .. {float(inter.ratings.max()):g}"))
    if data.predefined is not None:
        rows.append(("pre-split", f"train {int(data.predefined['train'].sum()):,} rows, "
                                  f"test {int(data.predefined['test'].sum()):,} rows"))
    rows.extend(_item_rows(data))
    shown = {"format", "users", "items", "interactions", "duplicates", "train_rows", "test_rows",
             "items_source", "items_format", "item_rows_read", "items_with_metadata",
             "items_without_metadata", "unseen_items"}
    quiet_when_zero = {"metadata_items_removed_by_filters", "unseen_items_left_out"}
    for key, value in data.report.items():
        if key in quiet_when_zero and not value:
            continue
        if key not in shown:
            rows.append((key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value)))
    for key, value in rows:
        table.add_row(key, value)
    return table


def _item_rows(data: Any) -> list[tuple[str, str]]:
    """The item metadata lines: where it came from, how many items it describes, and one
    line per field with its kind and coverage."""
    items = getattr(data, "items", None)
    if items is None:
        return [("item metadata", "none (place u.item, movies.dat/csv, <name>.item, meta_<name>.json "
                                  "or items.csv next to the interactions)")]
    n = items.n_items
    report = data.report
    rows = [("item metadata", f"{items.source} ({items.format})"),
            ("items described", f"{int(items.has_metadata.sum()):,} of {n:,} "
                                f"({int(report.get('unseen_items', 0)):,} with no interaction)")]
    for name, share in items.coverage().items():
        count = int(round(share * n))
        rows.append((f"item field {name}", f"{items.fields[name].kind}, {count:,} items ({share:.1%})"))
    return rows


def _time_span(ts: np.ndarray | None) -> str:
    if ts is None or len(ts) == 0:
        return "no timestamps (row order is the sequence order)"
    first, last = ts[0].item(), ts[-1].item()
    if 1e8 <= first and last <= 4.2e9:  # plausibly seconds since the epoch
        def iso(t: float) -> str:
            return _dt.datetime.fromtimestamp(t, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return f"{iso(first)} .. {iso(last)} UTC ({(last - first) / 86400:,.1f} days)"
    return f"{first} .. {last}"
