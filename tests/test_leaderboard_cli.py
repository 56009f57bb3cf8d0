"""``recplug leaderboard`` through Typer's CliRunner, on a small real store."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from recplug.cli.leaderboard import leaderboard
from recplug.errors import ConfigError, LeaderboardError, RecplugError, StoreError
from recplug.store import ResultStore, RunSpec

app = typer.Typer()


@app.callback()
def _root() -> None:
    """Test app: mounts the command the way recplug.cli.app does."""


app.command("leaderboard")(leaderboard)
runner = CliRunner()


def add(store, model, seed, level, *, protocol="full", ties="random", dataset="ml-100k", split="loo"):
    spec = RunSpec(model=model, plugin_dist="recplug", plugin_version="0.1.0", hyperparameters={},
                   dataset=dataset, dataset_fingerprint="fp", split=split, split_params={},
                   seed=seed, protocol=protocol, ties=ties, ks=(10, 20))
    rng = np.random.default_rng([seed, len(model)])
    per_user = {f"{name}@{k}": np.clip(level * k / 10 + rng.normal(0, 0.05, 120), 0, 1)
                for name in ("NDCG", "Recall", "HR", "MRR") for k in (10, 20)}
    run_id = store.start_run(spec, {"python": "3.11"})
    store.finish_run(run_id, metrics={m: float(v.astype(np.float32).mean()) for m, v in per_user.items()},
                     users=np.arange(120), per_user=per_user, fit_seconds=1.0, eval_seconds=0.5,
                     peak_memory_bytes=None, split_summary={})


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultStore(path) as store:
        for seed in (0, 1):
            add(store, "ease", seed, 0.30)
            add(store, "pop", seed, 0.10)
        add(store, "ease", 0, 0.5, protocol="sampled:100:uniform")
        add(store, "bpr", 0, 0.2, ties="pessimistic")
        add(store, "sasrec", 0, 0.2, dataset="beauty")
        store.fail_run(store.start_run(RunSpec(
            model="lightgcn", plugin_dist="recplug", plugin_version="0.1.0", hyperparameters={},
            dataset="ml-100k", dataset_fingerprint="fp", split="loo", split_params={}, seed=0,
            protocol="full", ties="random", ks=(10,)), {}), "CUDA out of memory")
    return path


def invoke(*args):
    return runner.invoke(app, ["leaderboard", *args])


def test_markdown_to_stdout(db):
    result = invoke("--dataset", "ml-100k", "--split", "loo", "--db", str(db), "--format", "markdown",
                    "--ties", "random")
    assert result.exit_code == 0, result.output
    assert "| Model | NDCG@10 | Recall@10 | HR@10 | MRR@10 | Seeds | Fit (s) | Eval (s) |" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ease") or line.startswith("| pop")]
    assert rows[0].startswith("| ease | **") and rows[1].startswith("| pop |") and "†" in rows[1]
    assert "lightgcn" not in result.stdout and "bpr" not in result.stdout
    assert result.stderr == ""


def test_tie_rules_are_not_mixed(db):
    result = invoke("--dataset", "ml-100k", "--split", "loo", "--db", str(db))
    assert isinstance(result.exception, LeaderboardError)
    assert "mix tie rules: pessimistic (1 run), random (4 runs); pick one with --ties" in str(result.exception)


def test_sampled_protocol_is_its_own_leaderboard(db):
    result = invoke("-d", "ml-100k", "-s", "loo", "--db", str(db), "--protocol", "sampled:100:uniform",
                    "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["protocol"] == "sampled:100:uniform" and [r["label"] for r in data["rows"]] == ["ease"]


def test_options_reach_the_leaderboard(db, tmp_path):
    out = tmp_path / "lb.csv"
    result = invoke("-d", "ml-100k", "-s", "loo", "--db", str(db), "--ties", "random", "-f", "csv",
                    "--metrics", "Recall@20,NDCG@20", "--test", "both", "--alpha", "0.01",
                    "--bootstrap", "50", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote csv leaderboard of 2 configurations to {out}" in result.stderr.replace("\n", "")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["model"] for r in rows] == ["ease", "pop"]
    assert {"Recall@20", "NDCG@20 p_wilcoxon_holm", "Recall@20 ci_low"} <= set(rows[0])
    assert "NDCG@10" not in rows[0]
    assert rows[1]["Recall@20 worse_t"] == "1"


def test_table_and_all_metrics(db):
    result = invoke("-d", "ml-100k", "-s", "loo", "--db", str(db), "--ties", "random", "--metrics", "all")
    assert result.exit_code == 0, result.output
    for column in ("NDCG@10", "MRR@20", "Recall@20", "ease", "pop", "±"):
        assert column in result.stdout


@pytest.mark.parametrize("args, error, words", [
    (["--format", "pdf"], ConfigError, "--format 'pdf' is unknown"),
    (["--test", "z"], ConfigError, "--test 'z'"),
    (["--alpha", "1.5"], ConfigError, "--alpha"),
    (["--bootstrap", "-1"], ConfigError, "--bootstrap"),
    (["--metrics", " , "], ConfigError, "--metrics is empty"),
    (["--metrics", "NDCG@5", "--ties", "random"], LeaderboardError, "no run has metric NDCG@5; available: NDCG@10"),
])
def test_bad_options(db, args, error, words):
    result = invoke("-d", "ml-100k", "-s", "loo", "--db", str(db), *args)
    assert isinstance(result.exception, error) and words in str(result.exception)


def test_no_matching_runs_names_the_filters_and_what_exists(db):
    result = invoke("-d", "ml-1m", "-s", "loo", "--db", str(db))
    message = str(result.exception)
    assert isinstance(result.exception, LeaderboardError) and isinstance(result.exception, RecplugError)
    assert "no finished runs in results store" in message
    assert "dataset=ml-1m, split=loo, protocol=full" in message
    assert "dataset=beauty split=loo protocol=full (1 run)" in message
    assert "dataset=ml-100k split=loo protocol=full (5 runs)" in message


def test_empty_store(tmp_path):
    path = tmp_path / "empty.sqlite"
    ResultStore(path).close()
    result = invoke("-d", "ml-100k", "-s", "loo", "--db", str(path))
    assert isinstance(result.exception, LeaderboardError)
    assert "the store is empty" in str(result.exception) and "recplug eval" in str(result.exception)


def test_missing_store_is_not_created(tmp_path):
    path = tmp_path / "nope.sqlite"
    result = invoke("-d", "ml-100k", "-s", "loo", "--db", str(path))
    assert isinstance(result.exception, StoreError) and f"no results store at {path}" in str(result.exception)
    assert not path.exists()


def test_default_store_location(db, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    target = tmp_path / "xdg" / "recplug" / "results.sqlite"
    target.parent.mkdir(parents=True)
    target.write_bytes(db.read_bytes())
    result = invoke("-d", "beauty", "-s", "loo", "-f", "json")
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in json.loads(result.stdout)["rows"]] == ["sasrec"]


def test_a_table_prints_each_note_once(db):
    with ResultStore(db) as store:
        add(store, "ease", 0, 0.31)  # seed 0 again: the newest run replaces the older one
    result = invoke("-d", "ml-100k", "-s", "loo", "--db", str(db), "--ties", "random")
    assert result.exit_code == 0, result.output
    assert result.output.count("replaced by the newest") == 1
    markdown = invoke("-d", "ml-100k", "-s", "loo", "--db", str(db), "--ties", "random", "-f", "markdown")
    assert "replaced by the newest" in markdown.stderr
