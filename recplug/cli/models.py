"""``recplug models``: the installed model plugins, their tags and whether they load."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

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


def _status(info: PluginInfo) -> str:
    text = info.status if info.error is None else f"{info.status}: {info.error}"
    style = _STYLE.get(info.status, "dim")
    return f"[{style}]{escape(text)}[/]"


def plugin_table(infos: list[PluginInfo]) -> Table:
    """A rich table: name, qualified name, distribution, version, tags, status (with cause)."""
    table = Table(title=f"recplug models ({len(infos)} registered)")
    for column in ("name", "qualified name", "distribution", "version", "tags"):
        table.add_column(column, overflow="fold")
    table.add_column("status", overflow="fold", ratio=1)
    for info in infos:
        table.add_row(escape(info.name), escape(info.qualified_name), escape(info.dist),
                      escape(info.version), format_tags(info.tags), _status(info))
    return table


def models(load: bool = typer.Option(
        True, "--load/--no-load",
        help="Import and validate every plugin (shows tags and failures); "
             "--no-load reads the installed metadata only.")) -> None:
    """List the model plugins registered under the entry-point group recplug.models."""
    infos = discover(load=load)
    console = Console()
    if not infos:
        Console(stderr=True).print('no model plugins are installed (entry-point group "recplug.models" '
                                   "is empty); reinstall recplug: pip install --no-build-isolation -e .",
                                   highlight=False)
        return
    console.print(plugin_table(infos))
    broken = sum(info.status in (FAILED, INCOMPATIBLE) for info in infos)
    if broken:
        rest = "; the others work" if broken < len(infos) else ""
        Console(stderr=True).print(f"[red]{broken} of {len(infos)} plugin(s) cannot be used[/] "
                                   f"(see the status column){rest}.", highlight=False)
