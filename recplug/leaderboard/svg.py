"""Inline SVG line charts drawn by hand (no plotting library): one line per series."""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

Series = list[tuple[str, list[tuple[float, float]]]]


def nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick values (steps 1, 2, 2.5 or 5 x 10^n) covering [lo, hi], about ``target`` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"ticks need finite bounds, got [{lo}, {hi}]")
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)
    start = math.floor(lo / step + 1e-9) * step
    count = math.ceil((hi - start) / step - 1e-9)
    return [round(start + i * step, 12) for i in range(count + 1)]


def _tick_label(value: float, step: float) -> str:
    """``value`` with just the decimals ``step`` (d x 10^e, d in 1/2/2.5/5) needs."""
    exponent = math.floor(math.log10(step) + 1e-9)
    digit = round(step / 10 ** exponent, 6)
    decimals = max(0, -exponent) + (1 if digit == 2.5 else 0)
    return f"{value:.{decimals}f}"


def line_chart(title: str, series: Series, *, x_label: str = "K", width: int = 560,
               height: int = 320) -> str:
    """An ``<svg>`` element: x = the distinct x values (evenly spaced), y from 0 (or below).

    Each series is ``(label, [(x, y), ...])``; points carry a ``<title>`` tooltip.
    """
    left, right, top, bottom = 60, 170, 34, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    xs = sorted({x for _, points in series for x, _ in points})
    ys = [y for _, points in series for _, y in points]
    if not xs:
        raise ValueError("a chart needs at least one point")
    ticks = nice_ticks(min(0.0, min(ys)), max(ys))
    y0, y1 = ticks[0], ticks[-1]
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0

    def px(x: float) -> float:
        return left + (xs.index(x) + 0.5) * plot_w / len(xs)

    def py(y: float) -> float:
        return top + plot_h * (1 - (y - y0) / (y1 - y0))

    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11" '
           f'fill="#333">',
           f"<title>{escape(title)}</title>",
           f'<text x="{left + plot_w / 2:.1f}" y="20" text-anchor="middle" class="chart-title" font-size="13" font-weight="bold">'
           f"{escape(title)}</text>"]
    for tick in ticks:
        y = py(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid" stroke="#e6e6e6"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">'
                   f"{_tick_label(tick, step)}</text>")
    for x in xs:
        out.append(f'<text x="{px(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="tick">'
                   f"{escape(f'{x:g}')}</text>")
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis" stroke="#333"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" class="tick">'
               f"{escape(x_label)}</text>")
    for index, (label, points) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = sorted(points)
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        out.append(f'<g class="series"><title>{escape(label)}</title>')
        if len(points) > 1:
            out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in points:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}">'
                       f"<title>{escape(label)}: {escape(f'{x_label}={x:g}')}, {y:.4f}</title></circle>")
        out.append("</g>")
        ly = top + 8 + index * 18
        short = label if len(label) <= 22 else label[:21] + "…"
        out.append(f'<line x1="{left + plot_w + 14}" y1="{ly}" x2="{left + plot_w + 34}" y2="{ly}" '
                   f'stroke="{color}" stroke-width="2"/>')
        out.append(f'<text x="{left + plot_w + 40}" y="{ly + 4}" class="legend">{escape(short)}</text>')
    out.append("</svg>")
    return "\n".join(out)
