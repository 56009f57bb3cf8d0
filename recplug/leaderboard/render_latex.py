"""LaTeX table (booktabs): best in \\textbf, marks as superscripts, specials escaped.

The tabular is set in ``\\small`` and shrunk to the text width only when wider
(``\\resizebox`` from graphicx), so it fits a one-column ``article`` page however many
configurations and metrics it holds; a comment at the top names the packages it needs.
"""

from __future__ import annotations

import re

from recplug.leaderboard import format as fmt
from recplug.leaderboard.model import Leaderboard

_LATEX_MARKS = {"†": r"\dagger", "‡": r"\ddagger"}
_SPECIALS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "≤": r"$\leq$", "—": "--", "·": r"$\cdot$", "§": r"\S{}",
    "↓": r"$\downarrow$", "×": r"$\times$",
}
PREAMBLE = r"% needs \usepackage{booktabs} and \usepackage{graphicx} in the preamble"
#: the widest the table is set: the text width (it is never enlarged)
_FIT = r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"


def escape(text: str) -> str:
    """``text`` safe inside LaTeX (underscores, ampersands, ... and ± ≤ — · ↓ × spelled out)."""
    return "".join(_SPECIALS.get(ch, ch) for ch in text)


def _marks(symbols: str) -> str:
    return f"$^{{{''.join(_LATEX_MARKS[s] for s in symbols)}}}$" if symbols else ""


def label(lb: Leaderboard) -> str:
    """``tab:recplug-<dataset>-<split>`` in characters any ``\\ref`` accepts."""
    name = re.sub(r"[^a-z0-9]+", "-", f"{lb.dataset}-{lb.split}".lower()).strip("-")
    return f"tab:recplug-{name or 'leaderboard'}"


def render_latex(lb: Leaderboard) -> str:
    """A ``table`` environment with a booktabs ``tabular`` and a ``\\label`` (:func:`label`);
    needs ``\\usepackage{booktabs}`` and ``\\usepackage{graphicx}``."""
    spec = "l" + "r" * (len(lb.columns) - 1)
    lines = [PREAMBLE, r"\begin{table}[t]", r"\centering", r"\small", _FIT,
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(escape(c) for c in lb.columns) + r" \\", r"\midrule"]
    for row in lb.rows:
        cells = [escape(fmt.label(row))]
        for metric in lb.metrics:
            cell = row.cells[metric]
            if cell is None:
                cells.append("--")
                continue
            mean = fmt.number(cell.mean)
            text = rf"\textbf{{{mean}}}" if cell.best else mean
            if cell.std is not None:
                text += rf" $\pm$ {fmt.number(cell.std)}"
            text += _marks(fmt.marks(cell))
            if cell.ci is not None:
                text += rf" {{\scriptsize {fmt.ci(cell)}}}"
            cells.append(text)
        if lb.has_training:
            cells.append(escape(fmt.trained(row.trained)))
        cells += [escape(lb.runs_cell(row)), escape(fmt.seconds(row.fit_seconds)),
                  escape(fmt.seconds(row.eval_seconds))]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}"]
    legend = []
    for line in lb.legend():
        for symbol, command in _LATEX_MARKS.items():
            if line.startswith(symbol):
                line = line[len(symbol):]
                legend.append(f"$^{{{command}}}$" + escape(line))
                break
        else:
            legend.append(escape(line))
    lines.append(rf"\caption{{{escape(lb.caption())}. {'. '.join(legend)}.}}")
    lines.append(rf"\label{{{label(lb)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
