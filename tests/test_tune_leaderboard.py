"""recplug leaderboard --tuned: the tuned test runs with their budget, trials and best
validation value in every format, the optimisation history in HTML."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from recplug.cli.app import app
from recplug.leaderboard.model import tuned_label, tuning

from test_tune import write_udata

pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def tuned_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tuned")
    data, db = write_udata(tmp / "u.data"), tmp / "r.sqlite"
    runner = CliRunner()
    common = ["--dataset", str(data), "--threads", "1", "--db", str(db)]
    assert runner.invoke(app, ["tune", "ease", "itemknn", "--trials", "3", "--seeds", "2", *common]).exit_code == 0
    assert runner.invoke(app, ["eval", "pop", *common]).exit_code == 0  # an untuned run beside them
    return data, db


def board(db, *args):
    """The leaderboard of the store's dataset (named after the folder of its u.data)."""
    return CliRunner().invoke(app, ["leaderboard", "--dataset", db.parent.name, "--split", "loo", "--db", str(db),
                                    *args])


def test_tuned_rows_only_with_budget_trials_and_best_validation(tuned_store):
    _, db = tuned_store
    result = board(db, "--tuned", "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert "ease · 3 trials · valid 0." in result.output and "itemknn · 3 trials · valid 0." in result.output
    assert "| pop" not in result.output and "tuned: each row is its model's best configuration" in result.output
    plain = board(db, "--format", "markdown")
    assert "| pop" in plain.output and "3 trials" not in plain.output  # without --tuned: ordinary rows


def test_json_carries_the_study_and_html_the_history(tuned_store):
    _, db = tuned_store
    rows = json.loads(board(db, "--tuned", "--format", "json").output)["rows"]
    tuned = {row["model"]: row["tuned"] for row in rows}
    assert set(tuned) == {"recplug:ease", "recplug:itemknn"}
    ease = tuned["recplug:ease"]
    assert ease["trials"] == 3 and ease["budget"] == "3 trials" and ease["metric"] == "NDCG@10"
    assert len(ease["history"]) == 3 and ease["best_validation"] == max(v for v in ease["history"] if v is not None)
    assert ease["best_validation"] >= ease["default_validation"]
    html = board(db, "--tuned", "--format", "html").output
    history = html.split("Optimisation history")[1]
    assert history.count("<svg") == 1 and history.count("<polyline") == 2  # one line per tuned model
    assert 'x_label' not in history and ">trial</text>" in history


def test_no_tuned_runs_is_one_clear_error(tmp_path):
    data, db = write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite"
    assert CliRunner().invoke(app, ["eval", "pop", "--dataset", str(data), "--db", str(db)]).exit_code == 0
    result = board(db, "--tuned")
    assert result.exit_code == 1 and "no tuned runs" in result.output and "recplug tune" in result.output


def test_tuning_tags_parse_and_label():
    tags = {"study": "s", "tune.budget": "30 min", "tune.trials": "41", "tune.best_validation": "0.07",
            "tune.metric": "NDCG@10", "tune.history": "[0.05, null, 0.07]"}
    info = tuning(tags)
    assert info["history"] == [0.05, None, 0.07] and info["trials"] == 41
    assert tuned_label(info) == "30 min, 41 trials · valid 0.0700"
    assert tuning({"reproduce": "x"}) == {}
