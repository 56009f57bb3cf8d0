"""Self-contained HTML page: inline CSS, the table, legend, and metric@K charts as inline SVG.

No scripts, fonts, images or links to anything outside the file.
"""

from __future__ import annotations

from html import escape

from recplug.leaderboard import format as fmt
from recplug.leaderboard.model import MARKS, TEST_NAMES, Cell, Leaderboard
from recplug.leaderboard.svg import line_chart

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem; color: #222; }
h1 { font-size: 1.4rem; margin-bottom: .2rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
.caption { color: #555; margin-top: 0; }
.warning { background: #fff3cd; border: 1px solid #e0c060; padding: .5rem .8rem; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: .35rem .7rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #333; }
td.best { color: #11772d; }
sup.sig { color: #b00020; }
.ci { color: #777; font-size: .8em; }
.missing { color: #aaa; }
ul.legend, ul.notes { color: #555; font-size: .9em; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
svg.chart { background: #fff; border: 1px solid #eee; }
svg .grid { stroke: #eee; }
svg .axis { stroke: #333; }
svg .tick, svg .legend { font-size: 11px; fill: #333; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: #222; }
"""


def _cell_html(cell: Cell | None) -> str:
    if cell is None:
        return '<td class="missing">—</td>'
    text = escape(fmt.mean_std(cell))
    html = f"<strong>{text}</strong>" if cell.best else text
    for test in cell.worse():
        p = cell.comparison.adjusted[test]
        html += (f'<sup class="sig" title="significantly worse than the best ({TEST_NAMES[test]}, '
                 f'Holm-adjusted p = {p:.3g})">{MARKS[test]}</sup>')
    if cell.ci is not None:
        html += f'<div class="ci">{escape(fmt.ci(cell))}</div>'
    return f'<td class="best">{html}</td>' if cell.best else f"<td>{html}</td>"


def optimisation_history(lb: Leaderboard) -> str | None:
    """An SVG of each tuned row's best validation value after every trial, or None."""
    series = []
    for row in lb.rows:
        best, points = None, []
        for trial, value in enumerate(row.tuned.get("history") or []):
            if value is not None and (best is None or value > best):
                best = value
            if best is not None:
                points.append((trial, best))
        if points:
            series.append((row.label.split(" · ")[0], points))
    if not series:
        return None
    metrics = sorted({row.tuned["metric"] for row in lb.rows if row.tuned})
    return line_chart(f"validation {', '.join(metrics)}", series, x_label="trial", width=720)


def render_html(lb: Leaderboard) -> str:
    """A complete HTML document (UTF-8) for the leaderboard."""
    title = f"recplug leaderboard — {lb.dataset}"
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<h1>{escape(title)}</h1>", f'<p class="caption">{escape(lb.caption())}</p>']
    if lb.sampled:
        parts.append(f'<p class="warning"><strong>Sampled protocol ({escape(lb.protocol)})</strong>: '
                     f"each target is ranked among sampled negatives only; these numbers are not "
                     f"comparable with full-ranking ones.</p>")
    parts.append("<table>")
    parts.append("<thead><tr>" + "".join(f"<th>{escape(c)}</th>" for c in lb.columns) + "</tr></thead>")
    parts.append("<tbody>")
    for row in lb.rows:
        cells = [f'<td title="{escape(row.plugin_dist)} {escape(", ".join(row.plugin_versions))}">'
                 f"{escape(fmt.label(row))}</td>"]
        cells += [_cell_html(row.cells[m]) for m in lb.metrics]
        if lb.has_training:
            cells.append(f"<td>{escape(fmt.trained(row.trained))}</td>")
        cells += [f"<td>{escape(lb.runs_cell(row))}</td>", f"<td>{escape(fmt.seconds(row.fit_seconds))}</td>",
                  f"<td>{escape(fmt.seconds(row.eval_seconds))}</td>"]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    parts.append('<ul class="legend">' + "".join(f"<li>{escape(line)}</li>" for line in lb.legend()) + "</ul>")
    if lb.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in lb.notes) + "</ul>")
    charts = [line_chart(f"{family}@K", series) for family, series in lb.curves.items()
              if len({k for _, points in series for k, _ in points}) > 1]
    if charts:
        parts += ["<h2>Metrics at every K (mean over seeds)</h2>", '<div class="charts">', *charts, "</div>"]
    history = optimisation_history(lb)
    if history:
        parts += ["<h2>Optimisation history (best validation value so far, per trial)</h2>",
                  '<div class="charts">', history, "</div>"]
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"
