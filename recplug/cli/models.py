"""``recplug models``: the installed model plugins, their tags and whether they load."""

from __future__ import annotations

import io
import textwrap

import typer
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from recplug.contract import Tags
from recplug.discovery import FAILED, INCOMPATIBLE, OK, PluginInfo, discover

_STYLE = {OK: "green", FAILED: "red", INCOMPATIBLE: "red"}


def format_tags(tags: Tags | None) -> str:
    """Tags as short words, e.g. ``"ranking, sequential, cuda"`` (empty when unknown)."""
    if tags is None:
        return ""
    words = [tags.task]
    words += [word for flag, word in ((tags.sequential, "sequential"),
                                      (tags.needs_timestamps, "timestamps"),
                                      (tags.supports_cuda, "cuda")) if flag]
    return ", ".join(words)


#: the most lines a failure's cause takes without --verbose
STATUS_LINES = 3
#: a status column narrower than this moves the failure causes below the table
MIN_STATUS_WIDTH = 30


def _wrapped(text: str, width: int, verbose: bool) -> str:
    """``text`` wrapped at ``width`` columns; without ``verbose`` at most
    :data:`STATUS_LINES` lines, the last one cut with "…"."""
    lines = textwrap.wrap(text, width, break_on_hyphens=False) or [text]
    if not verbose and len(lines) > STATUS_LINES:
        lines = lines[:STATUS_LINES - 1] + [lines[STATUS_LINES - 1][: width - 1].rstrip() + "…"]
    return "\n".join(lines)


def _status(info: PluginInfo, width: int | None, verbose: bool) -> Text:
    """The status, with its cause when ``width`` (the column's) is given."""
    text = info.status if info.error is None or width is None else f"{info.status}: {info.error}"
    return Text(text if width is None else _wrapped(text, width, verbose),
                style=_STYLE.get(info.status, "dim"))


def _table(infos: list[PluginInfo], status_width: int | None, verbose: bool) -> Table:
    table = Table(title=f"recplug models ({len(infos)} registered)", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    table.add_column("model", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("tags")
    table.add_column("status", no_wrap=True)
    for info in infos:
        table.add_row(Text(info.qualified_name, style="bold"), Text(info.version),
                      Text(format_tags(info.tags)), _status(info, status_width, verbose))
    return table


def plugin_table(infos: list[PluginInfo], width: int = 80, *, verbose: bool = False) -> Group:
    """At most ``width`` columns: a table of qualified name (never cut), version, tags and
    status, with each failure's cause in the status column, or below the table where that
    column would be narrower than :data:`MIN_STATUS_WIDTH`; a cause takes at most
    :data:`STATUS_LINES` lines unless ``verbose``."""
    measure = Console(width=10_000, file=io.StringIO()).measure(_table(infos, None, verbose))
    others = measure.maximum - max(len(info.status) for info in infos)
    if width - others < MIN_STATUS_WIDTH:  # tags may wrap between words
        others = measure.minimum - max(len(info.status) for info in infos)
    if width - others >= MIN_STATUS_WIDTH:
        return Group(_table(infos, width - others, verbose))
    causes = [Text(_wrapped(f"{info.qualified_name} {info.status}: {info.error}", width, verbose),
                   style=_STYLE.get(info.status, "dim")) for info in infos if info.error]
    return Group(_table(infos, None, verbose), *causes)


def models(
    load: bool = typer.Option(
        True, "--load/--no-load", metavar="",
        help="Import and validate every plugin (shows tags and failures); "
             "--no-load reads the installed metadata only."),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", metavar="",
        help=f"Show each failure's whole message (otherwise at most {STATUS_LINES} lines)."),
) -> None:
    """List the model plugins registered under the entry-point group recplug.models."""
    infos = discover(load=load)
    console = Console()
    err = Console(stderr=True, highlight=False)
    if not infos:
        err.print('no model plugins are installed (entry-point group "recplug.models" '
                  "is empty); reinstall recplug: pip install --no-build-isolation -e .")
        return
    console.print(plugin_table(infos, console.width, verbose=verbose))
    broken = sum(info.status in (FAILED, INCOMPATIBLE) for info in infos)
    if broken:
        rest = "; the others work" if broken < len(infos) else ""
        more = "" if verbose else "; `recplug models --verbose` shows the whole messages"
        err.print(f"[red]{broken} of {len(infos)} plugin(s) cannot be used[/] "
                  f"(see the status column){rest}{more}.")
