"""Rich table: best of each column in bold green, significance marks, legend; fits the console.

Model names are never cut: at a narrow console the rightmost metric columns are left out
(a line says which), and ± std is shown only on request (``std=True``); the exports keep
every column and the std.
"""

from __future__ import annotations

import io
import sys
from typing import Iterator

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from recplug.leaderboard import format as fmt
from recplug.leaderboard.model import Leaderboard

#: output that is not a terminal (a pipe, a file) is this wide, so nothing is left out
PIPE_WIDTH = 200


def _layouts(lb: Leaderboard, std: bool) -> Iterator[tuple[list[str], bool, str]]:
    """``(metrics, std, epochs)`` from the fullest to the narrowest; ``epochs`` is "line",
    "two lines" (the stop reason under the counts) or "" (no Epochs column)."""
    epochs = "line" if lb.has_training else ""
    for n in range(len(lb.metrics), 0, -1):
        yield lb.metrics[:n], std, epochs
    one = lb.metrics[:1]
    if epochs:
        yield one, std, "two lines"
    if std:
        yield one, False, epochs and "two lines"
    if epochs:
        yield one, False, ""


def _table(lb: Leaderboard, metrics: list[str], std: bool, epochs: str) -> Table:
    title = "Leaderboard" + (" — SAMPLED protocol" if lb.sampled else "")
    table = Table(title=Text(title, style="bold"), caption=Text(lb.caption(), style="dim"),
                  caption_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1),
                  pad_edge=False)
    table.add_column("Model", style="bold", no_wrap=True,
                     min_width=max(len(fmt.label(row)) for row in lb.rows))
    for metric in metrics:
        table.add_column(lb.header(metric), justify="right", no_wrap=True)
    if epochs:
        table.add_column("Epochs", justify="right", no_wrap=True)
    for header in (lb.runs_header, "Fit (s)", "Eval (s)"):
        table.add_column(header, justify="right", no_wrap=True)
    for row in lb.rows:
        cells = []
        for metric in metrics:
            cell = row.cells[metric]
            if cell is None:
                cells.append(Text("—", style="dim"))
                continue
            text = Text(fmt.mean_std(cell) if std else fmt.number(cell.mean),
                        style="bold green" if cell.best else "")
            if cell.worse():
                text.append(fmt.marks(cell), style="red")
            if cell.ci is not None:
                text.append("\n" + fmt.ci(cell), style="dim")
            cells.append(text)
        if epochs:
            trained = fmt.trained(row.trained)
            cells.append(Text(trained.replace(") ", ")\n", 1) if epochs == "two lines" else trained))
        table.add_row(Text(fmt.label(row)), *cells, lb.runs_cell(row), fmt.seconds(row.fit_seconds),
                      fmt.seconds(row.eval_seconds))
    return table


def build_table(lb: Leaderboard, width: int = PIPE_WIDTH, *, std: bool = False) -> Group:
    """A rich renderable at most ``width`` columns wide: the table, its legend and notes.

    Metric columns are dropped from the right (never the first, which sorts the rows)
    until the table fits, then the stop reason moves under the epoch counts, then ± std
    and the Epochs column go; a note names what was left out. Names are never cut.
    """
    measure = Console(width=10_000, file=io.StringIO())
    for metrics, shown_std, epochs in _layouts(lb, std):
        table = _table(lb, metrics, shown_std, epochs)
        if measure.measure(table).maximum <= width:
            break
    legend = [line for line in lb.legend() if shown_std or not line.startswith("mean ± sample std")]
    if not shown_std:
        legend.insert(0, f"mean over {lb.replicates} (± std in every export and with `recplug "
                         "leaderboard --std`); best of each column in bold")
    footer = Text("\n".join(legend), style="dim")
    hidden = [m for m in lb.metrics if m not in metrics]
    hidden += (["± std"] if std and not shown_std else []) + (["Epochs"] if lb.has_training and not epochs else [])
    notes = list(lb.notes)
    if hidden:
        notes.append(f"{', '.join(hidden)} left out to fit {width} columns; widen the terminal "
                     f"or choose columns with `recplug leaderboard --metrics`")
    if notes:
        footer.append("\n" + "\n".join(f"note: {n}" for n in notes), style="yellow")
    return Group(table, footer)


def print_table(lb: Leaderboard, console: Console | None = None, *, std: bool = False) -> None:
    """Print the table with colours, fitted to ``console``'s width (stdout unless given).

    Output that is not a terminal (a pipe, a file) gets :data:`PIPE_WIDTH` columns.
    ``std``: show ± sample std over seeds (and folds) next to each mean.
    """
    if console is None:
        console = Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)
    console.print(build_table(lb, console.width, std=std))


def render_table(lb: Leaderboard, width: int = PIPE_WIDTH) -> str:
    """The table as plain text (no colour codes) with ± std, ``width`` columns at most."""
    console = Console(record=True, file=io.StringIO(), width=width, color_system=None)
    console.print(build_table(lb, width, std=True))
    return console.export_text()
