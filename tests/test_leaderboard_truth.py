"""What the leaderboard shows: configurations include training settings, labels name what
differs, every format says what training did and flags tie-decided runs, 80 columns fit."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from rich.console import Console

from recplug.leaderboard import FORMATS, TIE_FLAG_RATE, Leaderboard, print_table, render, tie_flagged
from recplug.leaderboard.model import TIE_MARK
from recplug.store import RunRecord, RunSpec

U = 200
_IDS = iter(range(1, 1_000_000))


def record(model, seed, shift, *, dist="recplug", hyperparameters=None, training=None,
           info=None, tie_rate=None, metrics=("NDCG@10",)):
    spec = RunSpec(model=model, plugin_dist=dist, plugin_version="1.0", hyperparameters=hyperparameters or {},
                   dataset="ml-100k", dataset_fingerprint="fp", split="loo", split_params={}, seed=seed,
                   protocol="full", ties="random", ks=(10, 20), training=training or {})
    rng = np.random.default_rng([seed, int(abs(shift) * 1000)])
    arrays = {}
    for i, name in enumerate(metrics):
        noise = rng.normal(0, 0.05, U)
        arrays[name] = (0.2 + shift + 0.01 * i + noise - noise.mean()).astype(np.float32)
    summary = {} if tie_rate is None else {"boundary_tie_rate": tie_rate}
    return RunRecord(id=next(_IDS), spec=spec, status="done", error=None, started_at=0.0, finished_at=1.0,
                     env={}, fit_seconds=123.4, eval_seconds=1.25, peak_memory_bytes=None,
                     metrics={m: float(np.mean(v)) for m, v in arrays.items()}, split_summary=summary,
                     training_info=info or {}, _cache=(np.arange(U, dtype=np.int32), arrays))


def bpr_budgets():
    runs = []
    for epochs, shift in ((5, 0.0), (10, 0.05)):
        for seed in (0, 1):
            runs.append(record("bpr", seed, shift, hyperparameters={"epochs": 200, "factors": 64},
                               training={"max_epochs": epochs, "patience": 3, "refit": False},
                               info={"epochs_run": epochs - seed, "best_epoch": epochs - 1 - seed,
                                     "stopped": "budget" if seed == 0 else "early_stopping"}))
    runs.append(record("pop", 0, -0.1, tie_rate=0.9))
    return runs


def test_training_budgets_are_separate_configurations_labelled_by_what_differs():
    lb = Leaderboard.from_runs(bpr_budgets())
    labels = [row.label for row in lb.rows]
    assert labels == ["bpr(max_epochs=10)", "bpr(max_epochs=5)", "pop"]
    assert all("epochs=200" not in label for label in labels)
    ten = lb.rows[0]
    assert ten.n_seeds == 2 and ten.training == {"max_epochs": 10, "patience": 3, "refit": False}
    assert (ten.trained.epochs_run, ten.trained.best_epoch) == (9.5, 8.5)
    assert ten.trained.stopped == ("budget", "early_stopping")
    assert not lb.rows[2].trained and lb.rows[2].tie_flagged and not ten.tie_flagged


def test_tie_flag_threshold_is_defined_once():
    assert TIE_FLAG_RATE == 0.5
    assert tie_flagged(0.51) and not tie_flagged(0.5) and not tie_flagged(None)
    assert not tie_flagged(float("nan"))


def test_every_format_says_what_training_did_and_flags_ties():
    lb = Leaderboard.from_runs(bpr_budgets())
    for fmt in FORMATS:
        text = render(lb, fmt)
        if fmt in ("json", "csv"):
            continue
        assert "9.5 (8.5) budget/early" in text, fmt
        assert re.search(r"pop (§|\\S\{\})", text), fmt
        assert "ties decided most top-K cuts" in text, fmt
    rows = list(csv.DictReader(io.StringIO(render(lb, "csv"))))
    assert rows[0]["epochs_run"] == "9.5" and rows[0]["stopped"] == "budget/early_stopping"
    assert json.loads(rows[0]["training"])["max_epochs"] == 10 and rows[0]["qualified_model"] == "recplug:bpr"
    assert rows[2]["tie_flagged"] == "1" and rows[2]["boundary_tie_rate"] == "0.9"
    data = json.loads(render(lb, "json"))
    assert data["rows"][0]["trained"] == {"epochs_run": 9.5, "best_epoch": 8.5,
                                          "stopped": ["budget", "early_stopping"]}
    assert data["rows"][2]["tie_flagged"] is True and data["rows"][0]["training"]["max_epochs"] == 10


def test_unflagged_leaderboard_has_no_tie_legend():
    lb = Leaderboard.from_runs([record("pop", 0, 0.0, tie_rate=0.2), record("ease", 0, 0.1)])
    assert not any(TIE_MARK in line for line in lb.legend())
    assert "Epochs" not in lb.columns  # nothing reported training


def test_a_name_shared_by_two_distributions_is_qualified_only_then():
    lb = Leaderboard.from_runs([record("pop", 0, 0.0), record("pop", 0, 0.1, dist="fancy"),
                                record("ease", 0, 0.2)])
    assert sorted(row.label for row in lb.rows) == ["ease", "fancy:pop", "recplug:pop"]
    lb = Leaderboard.from_runs([record("recplug:pop", 0, 0.0), record("pop", 1, 0.0)])
    assert [row.label for row in lb.rows] == ["pop"] and lb.rows[0].n_seeds == 2


def test_caption_counts_configurations_in_the_singular_too():
    assert Leaderboard.from_runs([record("pop", 0, 0.0)]).caption().endswith("· 1 configuration")
    assert Leaderboard.from_runs(bpr_budgets()).caption().endswith("· 3 configurations")


# -- 80 columns ----------------------------------------------------------------------


def wide_board(test="both"):
    names = ["a_plugin_model_long_name", "itemknn", "sasrec", "pop", "bpr"]
    metrics = ("NDCG@10", "Recall@10", "HR@10", "MRR@10", "NDCG@20")
    runs = []
    for i, name in enumerate(names):
        for seed in (0, 1, 2):
            runs.append(record(name, seed, 0.05 * (4 - i), metrics=metrics,
                               info={"epochs_run": 50, "best_epoch": 41, "stopped": "early_stopping"}
                               if i == 2 else None, tie_rate=0.8 if name == "pop" else 0.0))
    return Leaderboard.from_runs(runs, test=test)


def printed(lb, width=80, **kwargs):
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    print_table(lb, console, **kwargs)
    return console.export_text()


@pytest.mark.parametrize("std", [False, True])
def test_table_fits_80_columns_without_cutting_names_or_marks(std):
    lb = wide_board()
    text = printed(lb, std=std)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in text
    for row in lb.rows:
        assert row.label in text
    marked = [row for row in lb.rows if row.cells["NDCG@10"].worse()]
    assert marked and "†‡" in text  # the marks and their legend both printed
    assert "paired t-test" in text and "Wilcoxon" in text
    header = next(line for line in lines if "Model" in line)
    for column in ("Seeds", "Fit (s)", "Eval (s)", "Epochs", "NDCG@10"):
        assert column in header
    assert "123" in text and "50 (41)" in text and "early" in text
    table = text.split("ml-100k · split")[0]
    assert ("±" in table) == std or (std and "± std left out to fit 80 columns" in text)
    assert "left out to fit 80 columns" in text and "--metrics" in text


def test_wide_console_shows_every_metric():
    text = printed(wide_board(), width=200)
    assert "left out" not in text
    for metric in ("NDCG@10", "Recall@10", "HR@10", "MRR@10", "NDCG@20"):
        assert metric in text


# -- LaTeX ---------------------------------------------------------------------------


def test_latex_names_its_packages_and_has_a_label():
    text = render(wide_board(), "latex")
    assert text.splitlines()[0].startswith("%") and r"\usepackage{booktabs}" in text.splitlines()[0]
    assert r"\label{tab:recplug-ml-100k-loo}" in text
    assert r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}" in text


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_fits_article_text_width_with_5_configurations(tmp_path):
    """Compiled in ``article`` at 10pt (345 pt text width): TeX reports any overfull box, and
    the table's box, measured after shrinking, is at most the text width."""
    table = render(wide_board(), "latex")
    measured = table.replace(r"\resizebox{", r"\setbox0\hbox{\resizebox{", 1).replace(
        r"\end{tabular}}", r"\end{tabular}}}\typeout{TABLEWIDTH=\the\wd0}\box0", 1)
    (tmp_path / "t.tex").write_text(
        "\\documentclass[10pt]{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        "\\usepackage{graphicx}\n\\begin{document}\n\\typeout{LINEWIDTH=\\the\\linewidth}\n"
        + measured + "\\end{document}\n", encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    log = (tmp_path / "t.log").read_text(errors="replace")
    assert done.returncode == 0, log[-2000:]
    assert "Overfull \\hbox" not in log
    line = float(re.search(r"LINEWIDTH=([0-9.]+)pt", log)[1])
    width = float(re.search(r"TABLEWIDTH=([0-9.]+)pt", log)[1])
    assert line == pytest.approx(345.0) and width <= line + 0.01


def test_a_single_configuration_has_no_significance_legend():
    single = Leaderboard.from_runs([record("pop", 0, 0.0)])
    pair = Leaderboard.from_runs([record("pop", 0, 0.0), record("ease", 0, 0.1)])
    assert not any("significantly worse" in line for line in single.legend())
    assert any("significantly worse" in line for line in pair.legend())
