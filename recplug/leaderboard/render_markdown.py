"""GitHub-flavoured Markdown table: best in bold, marks as superscript symbols, legend below."""

from __future__ import annotations

from recplug.leaderboard import format as fmt
from recplug.leaderboard.model import Leaderboard


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_")


def render_markdown(lb: Leaderboard) -> str:
    """The leaderboard as a Markdown table with caption and legend."""
    lines = [f"**{_escape(lb.caption())}**", ""]
    if lb.sampled:
        lines += [f"> **Sampled protocol ({_escape(lb.protocol)})** — not comparable with full ranking.", ""]
    lines.append("| " + " | ".join(_escape(c) for c in lb.columns) + " |")
    lines.append("|" + "|".join([":---"] + ["---:"] * (len(lb.columns) - 1)) + "|")
    for row in lb.rows:
        cells = [_escape(fmt.label(row))]
        for metric in lb.metrics:
            cell = row.cells[metric]
            if cell is None:
                cells.append("—")
                continue
            text = fmt.mean_std(cell)
            text = f"**{text}**" if cell.best else text
            text += fmt.marks(cell)
            if cell.ci is not None:
                text += " " + fmt.ci(cell)
            cells.append(text)
        if lb.has_training:
            cells.append(_escape(fmt.trained(row.trained)))
        cells += [lb.runs_cell(row), fmt.seconds(row.fit_seconds), fmt.seconds(row.eval_seconds)]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {_escape(line)}" for line in lb.legend()]
    lines += [f"- note: {_escape(note)}" for note in lb.notes]
    return "\n".join(lines) + "\n"
