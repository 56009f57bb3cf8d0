"""Leaderboard renderers: every format shows best, mean ± std and significance marks."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pytest
from rich.console import Console

from recplug.errors import ConfigError
from recplug.leaderboard import FORMATS, Leaderboard, print_table, render
from recplug.leaderboard.render_latex import escape
from recplug.leaderboard.svg import PALETTE, line_chart, nice_ticks
from recplug.store import RunRecord, RunSpec

U = 300


def record(model, seed, per_user, *, hyperparameters=None, protocol="full", run_id):
    spec = RunSpec(model=model, plugin_dist="recplug", plugin_version="0.1.0",
                   hyperparameters=hyperparameters or {}, dataset="ml_100k", dataset_fingerprint="fp",
                   split="loo", split_params={"min_users": 3}, seed=seed, protocol=protocol,
                   ties="random", ks=(5, 10, 20))
    arrays = {m: np.asarray(v, dtype=np.float32) for m, v in per_user.items()}
    return RunRecord(id=run_id, spec=spec, status="done", error=None, started_at=0.0, finished_at=1.0,
                     env={}, fit_seconds=12.5, eval_seconds=0.125, peak_memory_bytes=None,
                     metrics={m: float(np.mean(v)) for m, v in arrays.items()}, split_summary={},
                     _cache=(np.arange(U, dtype=np.int32), arrays))


def make_runs(protocol="full"):
    """item_knn with two k_neighbors (best, and tied-level), pop clearly worse; NDCG/HR at 5/10/20."""
    rng = np.random.default_rng(0)
    base = rng.random(U) * 0.4
    runs, ids = [], iter(range(1, 100))
    for seed in (0, 1):
        for model, hp, shift in [("item_knn", {"k_neighbors": 50}, 0.1), ("item_knn", {"k_neighbors": 10}, 0.099),
                                 ("pop", {}, 0.02)]:
            per_user = {}
            for k in (5, 10, 20):
                noise = rng.normal(0, 0.05, U)
                per_user[f"NDCG@{k}"] = base + shift * (k / 10) + 0.003 * seed + noise - noise.mean()
                per_user[f"HR@{k}"] = np.minimum(1.0, 2 * per_user[f"NDCG@{k}"])
            runs.append(record(model, seed, per_user, hyperparameters=hp, protocol=protocol, run_id=next(ids)))
    return runs


@pytest.fixture(scope="module")
def lb():
    return Leaderboard.from_runs(make_runs(), metrics=["NDCG@10", "HR@10"], test="both", bootstrap=100)


def test_fixture_has_best_and_significant_cells(lb):
    labels = [r.label for r in lb.rows]
    assert labels == ["item_knn(k_neighbors=50)", "item_knn(k_neighbors=10)", "pop"]
    pop = lb.rows[2].cells["NDCG@10"]
    assert pop.worse() == ["t", "wilcoxon"]
    assert lb.rows[1].cells["NDCG@10"].worse() == []
    assert lb.rows[0].cells["NDCG@10"].best


def test_render_rejects_unknown_format(lb):
    assert FORMATS == ("table", "markdown", "latex", "html", "csv", "json")
    with pytest.raises(ConfigError, match="unknown leaderboard format 'pdf'.*markdown"):
        render(lb, "pdf")


def test_markdown(lb):
    text = render(lb, "markdown")
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| Model"))
    assert lines[header] == "| Model | NDCG@10 | HR@10 | Seeds | Fit (s) | Eval (s) |"
    assert lines[header + 1] == "|:---|---:|---:|---:|---:|---:|"
    best, second, pop = lines[header + 2: header + 5]
    mean, std = lb.rows[0].cells["NDCG@10"].mean, lb.rows[0].cells["NDCG@10"].std
    assert best.startswith(r"| item\_knn(k\_neighbors=50) | " + f"**{mean:.4f} ± {std:.4f}**")
    assert "†‡" in pop and "†" not in best and "†" not in second
    assert re.search(r"\[\d\.\d{4}, \d\.\d{4}\]", best)  # bootstrap CI
    assert "| 2 | 12.5 | 0.125 |" in best
    assert "- † significantly worse than the best (paired t-test" in text
    assert "ml\\_100k" in lines[0]


def test_latex(lb):
    text = render(lb, "latex")
    assert text.count(r"\toprule") == text.count(r"\midrule") == text.count(r"\bottomrule") == 1
    assert r"\begin{tabular}{lrrrrr}" in text
    body = text[text.index(r"\midrule"):text.index(r"\bottomrule")]
    assert body.count(r"\textbf{") == sum(c.best for r in lb.rows for c in r.cells.values())
    assert r"item\_knn(k\_neighbors=50)" in body
    assert re.search(r"(?<!\\)_", text.replace(r"\_", "")) is None  # no bare underscore anywhere
    assert r"$^{\dagger\ddagger}$" in body and r"$\pm$" in body
    assert r"\caption{ml\_100k" in text and r"$^{\dagger}$ significantly worse" in text


def test_latex_escapes_specials():
    assert escape("a_b & 50% $x #1 {y} ~ ^ \\") == (
        r"a\_b \& 50\% \$x \#1 \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{}")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, name, value) for name, value in attrs]


def test_html_is_self_contained_with_svg_charts(lb):
    text = render(lb, "html")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    parser = _Tags()
    parser.feed(text)
    assert not {"script", "link", "img", "iframe", "object"} & set(parser.tags)
    assert not [a for a in parser.attrs if a[1] in ("src", "href")]
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert parser.tags.count("strong") == sum(c.best for r in lb.rows for c in r.cells.values())
    assert text.count('<sup class="sig"') == sum(len(c.worse()) for r in lb.rows for c in r.cells.values() if c)
    assert "item_knn(k_neighbors=50)" in text and "<style>" in text
    svgs = re.findall(r"<svg.*?</svg>", text, re.S)
    assert len(svgs) == 2  # NDCG@K and HR@K
    for svg in svgs:
        root = ET.fromstring(svg)
        assert len(root.findall("g")) == len(lb.rows)
        assert len(root.findall("g/polyline")) == len(lb.rows)
        assert len(root.findall("g/circle")) == 3 * len(lb.rows)  # K = 5, 10, 20


def test_csv(lb):
    rows = list(csv.DictReader(io.StringIO(render(lb, "csv"))))
    assert [r["model"] for r in rows] == [r.label for r in lb.rows]
    for parsed, row in zip(rows, lb.rows):
        cell = row.cells["NDCG@10"]
        assert float(parsed["NDCG@10"]) == cell.mean and float(parsed["NDCG@10 std"]) == cell.std
        assert parsed["NDCG@10 best"] == str(int(cell.best))
        assert parsed["NDCG@10 worse_t"] == str(int("t" in cell.worse()))
        assert parsed["NDCG@10 worse_wilcoxon"] == str(int("wilcoxon" in cell.worse()))
        assert (float(parsed["NDCG@10 ci_low"]), float(parsed["NDCG@10 ci_high"])) == cell.ci
        assert json.loads(parsed["hyperparameters"]) == row.hyperparameters
        assert parsed["seeds"] == "2" and float(parsed["fit_seconds"]) == 12.5
        if cell.comparison is None:
            assert parsed["NDCG@10 p_t"] == ""
        else:
            assert float(parsed["NDCG@10 p_t_holm"]) == cell.comparison.adjusted["t"]


def test_json(lb):
    assert json.loads(render(lb, "json")) == json.loads(json.dumps(lb.to_dict()))


def test_table_text_and_colours(lb):
    text = render(lb, "table")
    assert "\x1b[" not in text
    for row in lb.rows:
        assert row.label in text
    assert "†‡" in text and "±" in text and "Holm-adjusted p ≤ 0.05" in text
    console = Console(file=io.StringIO(), force_terminal=True, color_system="standard", width=200)
    print_table(lb, console, std=True)
    coloured = console.file.getvalue()
    best = lb.rows[0].cells["NDCG@10"]
    assert re.search(rf"\x1b\[1;32m *{best.mean:.4f} ± {best.std:.4f}\x1b\[0m", coloured)


def test_sampled_protocol_is_flagged_everywhere():
    lb = Leaderboard.from_runs(make_runs("sampled:100:uniform"), metrics=["NDCG@10"])
    for fmt in ("table", "markdown", "latex", "html"):
        assert re.search("sampled", render(lb, fmt), re.I), fmt
    table = render(lb, "table")
    assert "Leaderboard — SAMPLED protocol" in table
    assert table.count("sampled:100:uniform") == 2  # caption and legend, never an emoji
    assert json.loads(render(lb, "json"))["protocol"] == "sampled:100:uniform"


def test_missing_cells_render_as_dashes():
    runs = make_runs()[:3]
    runs[2].metrics.pop("HR@10")
    runs[2].per_user()[1].pop("HR@10")
    lb = Leaderboard.from_runs(runs, metrics=["NDCG@10", "HR@10"])
    assert lb.rows[-1].label == "pop" and lb.rows[-1].cells["HR@10"] is None
    assert "| — |" in render(lb, "markdown")
    assert "--" in render(lb, "latex")
    assert 'class="missing"' in render(lb, "html")


# -- SVG -----------------------------------------------------------------------------


def test_nice_ticks():
    assert nice_ticks(0, 0.17) == [0, 0.05, 0.1, 0.15, 0.2]
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 0.011) == [0, 0.0025, 0.005, 0.0075, 0.01, 0.0125]
    assert nice_ticks(0.5, 0.5) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    with pytest.raises(ValueError):
        nice_ticks(0, float("nan"))


def test_line_chart_geometry():
    svg = line_chart("NDCG@K", [("a<b>", [(5, 0.1), (10, 0.2), (20, 0.3)]), ("c", [(10, 0.05)])])
    root = ET.fromstring(svg)
    (polyline,) = root.iter("polyline")  # the one-point series draws a dot, no line
    points = [tuple(map(float, p.split(","))) for p in polyline.get("points").split()]
    xs, ys = zip(*points)
    assert xs[0] < xs[1] < xs[2] and ys[0] > ys[1] > ys[2]  # higher value = higher on screen
    width, height = float(root.get("width")), float(root.get("height"))
    assert all(0 <= x <= width for x in xs) and all(0 <= y <= height for y in ys)
    circles = list(root.iter("circle"))
    assert len(circles) == 4 and circles[3].get("fill") == PALETTE[1]
    assert "a&lt;b&gt;" in svg  # labels escaped
    labels = [t.text for t in root.iter("text")]
    assert {"5", "10", "20", "0.0", "0.1", "0.3"} <= set(labels)
