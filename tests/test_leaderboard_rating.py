"""Leaderboards of rating runs: mean ± std over seeds and folds, per-user paired tests on the
errors averaged over the folds a user was tested in, lower-is-better marks in every export,
rating runs never mixed with ranking ones, and `recplug leaderboard --task rating`."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import scipy.stats
from typer.testing import CliRunner

from recplug.cli.app import app
from recplug.errors import LeaderboardError
from recplug.leaderboard import Leaderboard, render
from recplug.store import ResultStore, RunRecord, RunSpec
from recplug.store.env import run_env

_IDS = iter(range(1, 1_000_000))


def spec(model: str, seed: int, fold: int | None, *, folds: int = 3, protocol: str = "rating") -> RunSpec:
    rating = protocol == "rating"
    params = {"folds": folds, "fold": fold, "validation": 0.1} if fold is not None else {}
    return RunSpec(model=model, plugin_dist="recplug", plugin_version="0.1.0", hyperparameters={},
                   dataset="ml-100k", dataset_fingerprint="fp", split="kfold" if fold is not None else "ratio",
                   split_params=params, seed=seed, protocol=protocol, ties="none" if rating else "random",
                   ks=() if rating else (10,))


def rated(model: str, seed: int, fold: int | None, users, squared, *, folds: int = 3, fcp: float = 0.7,
          protocol: str = "rating") -> RunRecord:
    """A finished rating run in memory: RMSE/MAE from per-user errors (absolute = sqrt(squared))."""
    users = np.asarray(users, dtype=np.int32)
    squared = np.asarray(squared, dtype=np.float32)
    absolute = np.sqrt(squared)
    metrics = {"RMSE": float(np.sqrt(squared.mean())), "MAE": float(absolute.mean()), "FCP": fcp}
    return RunRecord(id=next(_IDS), spec=spec(model, seed, fold, folds=folds, protocol=protocol),
                     status="done", error=None, started_at=0.0, finished_at=1.0, env={}, fit_seconds=1.0,
                     eval_seconds=0.1, peak_memory_bytes=None, metrics=metrics,
                     split_summary={"fallback_predictions": 3},
                     _cache=(users, {"squared_error": squared, "absolute_error": absolute}))


def cross_validation(rng, n_users=60, seeds=(0, 1), folds=3, gap=0.2):
    """Two models, each user tested in two of the three folds (a different pair per user);
    ``worse`` errs more by ``gap`` (squared error) on every user."""
    runs = []
    base = rng.uniform(0.5, 1.5, n_users)
    for seed in seeds:
        for fold in range(folds):
            users = np.array([u for u in range(n_users) if u % folds != fold])
            noise = rng.normal(0, 0.05, len(users))
            runs.append(rated("good", seed, fold, users, base[users] + noise))
            runs.append(rated("worse", seed, fold, users, base[users] + gap + rng.normal(0, 0.05, len(users)),
                              fcp=0.65))
    return runs


def test_cells_are_mean_and_std_over_the_seed_and_fold_runs():
    runs = cross_validation(np.random.default_rng(0))
    lb = Leaderboard.from_runs(runs)
    assert lb.metrics == ["RMSE", "MAE", "FCP"]
    good = lb.rows[0]
    assert good.label == "good" and good.seeds == (0, 1) and good.folds == (0, 1, 2) and good.n_runs == 6
    values = [r.metrics["RMSE"] for r in runs if r.spec.model == "recplug:good"]
    cell = good.cells["RMSE"]
    assert cell.n == 6 and cell.mean == pytest.approx(np.mean(values))
    assert cell.std == pytest.approx(np.std(values, ddof=1))
    assert lb.split_params == {"folds": 3, "validation": 0.1}  # the fold names a replicate
    assert lb.columns == ["Model", "RMSE ↓", "MAE ↓", "FCP", "Seeds × folds", "Fit (s)", "Eval (s)"]
    assert lb.runs_cell(good) == "2 × 3"
    assert "ties" not in lb.caption() and "protocol rating" in lb.caption()


def test_the_lowest_error_is_best_and_the_worse_model_is_marked():
    lb = Leaderboard.from_runs(cross_validation(np.random.default_rng(1)))
    good, worse = lb.rows
    assert good.cells["RMSE"].best and good.cells["MAE"].best and good.cells["FCP"].best
    assert worse.cells["RMSE"].worse() == ["t"] and worse.cells["MAE"].worse() == ["t"]
    assert worse.cells["RMSE"].comparison.mean_difference > 0  # the best is ahead (lower)
    assert worse.cells["FCP"].worse() == []
    assert any(line.startswith("↓ lower is better (RMSE, MAE)") for line in lb.legend())
    assert lb.legend()[0].startswith("mean ± sample std over seeds and folds")
    assert lb.notes == ["FCP pools pair counts over users (no per-user values); not tested"]


def test_paired_test_averages_each_users_errors_over_the_folds_it_was_tested_in():
    rng = np.random.default_rng(2)
    runs = cross_validation(rng, seeds=(0,), gap=0.01)
    lb = Leaderboard.from_runs(runs, test="both")
    comparison = lb.rows[1].cells["RMSE"].comparison

    def per_user(model):
        sums, counts = np.zeros(60), np.zeros(60)
        for run in runs:
            if run.spec.model == f"recplug:{model}":
                users, arrays = run.per_user()
                np.add.at(sums, users, arrays["squared_error"].astype(np.float64))
                np.add.at(counts, users, 1)
        return sums / counts

    a, b = per_user("good"), per_user("worse")
    assert comparison.n_users == 60 and comparison.folds == (0, 1, 2) and comparison.same_seeds
    assert comparison.pvalues["t"] == pytest.approx(scipy.stats.ttest_rel(a, b).pvalue)
    assert comparison.mean_difference == pytest.approx(np.mean(b - a))
    d = (a - b)[(a - b) != 0]
    assert comparison.pvalues["wilcoxon"] == pytest.approx(scipy.stats.wilcoxon(d).pvalue)


def test_rating_runs_are_never_ranked_with_ranking_runs():
    rng = np.random.default_rng(3)
    runs = cross_validation(rng, seeds=(0,))
    ranking = rated("pop", 0, 0, [0, 1], [0.1, 0.2], protocol="full")
    with pytest.raises(LeaderboardError, match="mix protocols.*rating runs with ranking ones"):
        Leaderboard.from_runs([*runs, ranking])


def test_runs_of_another_fold_count_are_refused():
    rng = np.random.default_rng(4)
    runs = cross_validation(rng, seeds=(0,)) + [rated("good", 5, 0, [0, 1], [1.0, 1.0], folds=5)]
    with pytest.raises(LeaderboardError, match="mix split parameters"):
        Leaderboard.from_runs(runs)


def test_a_newer_run_of_a_seed_and_fold_replaces_the_older():
    rng = np.random.default_rng(5)
    runs = cross_validation(rng, seeds=(0,))
    runs.append(rated("good", 0, 1, [0, 2], [0.5, 0.5]))
    lb = Leaderboard.from_runs(runs)
    good = next(r for r in lb.rows if r.label == "good")
    assert good.n_runs == 3 and good.run_ids[1] == runs[-1].id
    assert lb.notes[0] == "good: 1 older run of a seed and fold replaced by the newest"


@pytest.fixture(scope="module")
def board():
    return Leaderboard.from_runs(cross_validation(np.random.default_rng(6)))


def test_markdown_html_and_latex_mark_lower_is_better_and_count_seeds_and_folds(board):
    markdown = render(board, "markdown")
    assert "| RMSE ↓ | MAE ↓ | FCP | Seeds × folds |" in markdown and "| 2 × 3 |" in markdown
    assert "- ↓ lower is better (RMSE, MAE): the best is the lowest" in markdown
    html = render(board, "html")
    assert "<th>RMSE ↓</th>" in html and "<td>2 × 3</td>" in html and "lower is better" in html
    latex = render(board, "latex")
    assert r"RMSE $\downarrow$" in latex and r"2 $\times$ 3" in latex and "lower is better" in latex
    table = render(board, "table")
    assert "RMSE ↓" in table and "2 × 3" in table and "lower is better" in table


def test_csv_and_json_carry_folds_and_the_lower_is_better_metrics(board):
    rows = list(csv.DictReader(io.StringIO(render(board, "csv"))))
    assert rows[0]["model"] == "good" and rows[0]["seeds"] == "2" and rows[0]["folds"] == "3"
    assert float(rows[0]["RMSE"]) == pytest.approx(board.rows[0].cells["RMSE"].mean)
    data = json.loads(render(board, "json"))
    assert data["protocol"] == "rating" and data["lower_is_better"] == ["RMSE", "MAE"]
    assert data["rows"][0]["folds"] == [0, 1, 2] and data["rows"][0]["seeds"] == [0, 1]
    assert data["rows"][1]["metrics"]["RMSE"]["comparison"]["folds"] == [0, 1, 2]


# ---- the command --------------------------------------------------------------------------
def _store(path):
    """A store with two rating models' 3-fold runs and one ranking run on the same split name."""
    rng = np.random.default_rng(7)
    with ResultStore(path) as store:
        records = cross_validation(rng, seeds=(0,))
        records.append(rated("pop", 0, 0, [0, 1], [0.1, 0.2], protocol="full"))
        for record in records:
            claim = store.claim(record.spec, run_env("cpu", 1))
            users, arrays = record.per_user()
            metrics = record.metrics if record.spec.protocol == "rating" else {"NDCG@10": 0.1}
            store.finish_run(claim.run_id, metrics=metrics, users=users, per_user=arrays, fit_seconds=1.0,
                             eval_seconds=0.1, peak_memory_bytes=None, split_summary=record.split_summary)
    return path


def test_leaderboard_task_rating_ranks_the_rating_runs(tmp_path):
    db = _store(tmp_path / "r.sqlite")
    runner = CliRunner()
    result = runner.invoke(app, ["leaderboard", "-d", "ml-100k", "-s", "kfold", "--task", "rating",
                                 "--db", str(db), "-f", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["model"] for r in rows] == ["good", "worse"] and rows[0]["folds"] == "3"
    assert {"RMSE", "MAE", "FCP"} <= set(rows[0])
    ranking = runner.invoke(app, ["leaderboard", "-d", "ml-100k", "-s", "kfold", "--db", str(db),
                                  "--metrics", "NDCG@10", "-f", "csv"])
    assert ranking.exit_code == 0, ranking.output
    assert [r["model"] for r in csv.DictReader(io.StringIO(ranking.stdout))] == ["pop"]


@pytest.mark.parametrize("args, words", [
    (["--task", "bogus"], "--task must be ranking or rating, got 'bogus'"),
    (["--task", "rating", "--protocol", "full"], "--protocol full is a ranking protocol"),
])
def test_leaderboard_task_bad_values_are_one_line_exit_2(tmp_path, args, words):
    db = _store(tmp_path / "r.sqlite")
    result = CliRunner().invoke(app, ["leaderboard", "-d", "ml-100k", "-s", "kfold", "--db", str(db), *args])
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output
