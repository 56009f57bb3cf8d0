"""Rich table: best of each column in bold green, mean ± std, significance marks, legend."""

from __future__ import annotations

import io
import sys

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from recplug.leaderboard import format as fmt
from recplug.leaderboard.model import Leaderboard


def build_table(lb: Leaderboard) -> Group:
    """A rich renderable: the table, its legend and notes."""
    title = "Leaderboard" + (" — SAMPLED protocol" if lb.sampled else "")
    table = Table(title=Text(title, style="bold"), caption=Text(lb.caption(), style="dim"),
                  caption_justify="left")
    table.add_column("Model", style="bold", no_wrap=True)
    for metric in lb.metrics:
        table.add_column(metric, justify="right", no_wrap=True)
    table.add_column("Seeds", justify="right")
    table.add_column("Fit (s)", justify="right")
    table.add_column("Eval (s)", justify="right")
    for row in lb.rows:
        cells = []
        for metric in lb.metrics:
            cell = row.cells[metric]
            if cell is None:
                cells.append(Text("—", style="dim"))
                continue
            text = Text(fmt.mean_std(cell), style="bold green" if cell.best else "")
            if cell.worse():
                text.append(fmt.marks(cell), style="red")
            if cell.ci is not None:
                text.append("\n" + fmt.ci(cell), style="dim")
            cells.append(text)
        table.add_row(Text(row.label), *cells, str(row.n_seeds), fmt.seconds(row.fit_seconds),
                      fmt.seconds(row.eval_seconds))
    footer = Text("\n".join(lb.legend()), style="dim")
    if lb.notes:
        footer.append("\n" + "\n".join(f"note: {n}" for n in lb.notes), style="yellow")
    return Group(table, footer)


def print_table(lb: Leaderboard, console: Console | None = None) -> None:
    """Print the table with colours (to stdout unless ``console`` says otherwise).

    Output that is not a terminal (a pipe, a file) gets 200 columns instead of rich's 80,
    so numbers are never cut.
    """
    if console is None:
        console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(build_table(lb))


def render_table(lb: Leaderboard, width: int = 200) -> str:
    """The table as plain text (no colour codes), ``width`` columns at most."""
    console = Console(record=True, file=io.StringIO(), width=width, color_system=None)
    console.print(build_table(lb))
    return console.export_text()
