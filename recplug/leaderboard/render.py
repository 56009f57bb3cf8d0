"""One entry point for every output format; each renderer lives in its own module."""

from __future__ import annotations

from typing import Callable

from recplug.errors import ConfigError
from recplug.leaderboard.model import Leaderboard
from recplug.leaderboard.render_csv import render_csv
from recplug.leaderboard.render_html import render_html
from recplug.leaderboard.render_json import render_json
from recplug.leaderboard.render_latex import render_latex
from recplug.leaderboard.render_markdown import render_markdown
from recplug.leaderboard.render_table import render_table

RENDERERS: dict[str, Callable[[Leaderboard], str]] = {
    "table": render_table, "markdown": render_markdown, "latex": render_latex,
    "html": render_html, "csv": render_csv, "json": render_json,
}
FORMATS = tuple(RENDERERS)


def render(lb: Leaderboard, format: str) -> str:
    """``lb`` as text in ``format``: table (plain-text rich table), markdown, latex, html, csv, json."""
    try:
        renderer = RENDERERS[format]
    except KeyError:
        raise ConfigError(f"unknown leaderboard format {format!r}; choose one of "
                          f"{', '.join(FORMATS)}") from None
    return renderer(lb)
