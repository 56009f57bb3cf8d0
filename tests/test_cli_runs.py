"""recplug runs: list with statuses and errors, show everything, rm/prune with confirmation,
export metrics and per-user arrays; clear one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from recplug.cli.app import app
from recplug.store import ResultStore, RunSpec

runner = CliRunner()
SPEC = dict(plugin_dist="recplug", plugin_version="0.1.0", hyperparameters={"l2": 1.0}, dataset="demo",
            dataset_fingerprint="f", split="loo", split_params={}, protocol="full", ties="random", ks=(10,))


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        done = store.start_run(RunSpec(model="ease", seed=0, **SPEC), {"recplug": "0.1.0"})
        store.finish_run(done, metrics={"NDCG@10": 0.25}, users=np.array([3, 5]),
                         per_user={"NDCG@10": np.array([0.0, 0.5])}, fit_seconds=2.0, eval_seconds=0.1,
                         peak_memory_bytes=10, split_summary={"users": 2})
        store.tag_run(done, "study", "grid")
        failed = store.start_run(RunSpec(model="bpr", seed=0, **SPEC), {})
        store.fail_run(failed, "ValueError: diverged at epoch 3")
        stopped = store.start_run(RunSpec(model="bpr", seed=1, **SPEC), {})
        store.interrupt_run(stopped)
    return str(path)


def invoke(*args, input=None):
    return runner.invoke(app, ["runs", *args], input=input)


def test_list_shows_every_status_and_the_error(db):
    result = invoke("list", "--db", db)
    assert result.exit_code == 0, result.output
    assert "NDCG@10 0.2500" in result.output and "diverged at epoch 3" in result.output
    assert "interrupted" in result.output and "study=grid" in result.output
    bare = runner.invoke(app, ["runs", "--db", db])
    assert bare.exit_code == 0 and "diverged" in bare.output
    only = invoke("list", "--db", db, "--status", "failed")
    assert "diverged" in only.output and "NDCG@10" not in only.output
    tagged = invoke("list", "--db", db, "--tag", "study=grid")
    assert "ease" in tagged.output and "bpr" not in tagged.output


def test_show_prints_everything_as_json(db):
    result = invoke("show", "1", "--db", db)
    shown = json.loads(result.output)
    assert shown["model"] == "recplug:ease" and shown["metrics"] == {"NDCG@10": 0.25}
    assert shown["tags"] == {"study": "grid"} and shown["per_user"] == {"users": 2, "metrics": ["NDCG@10"]}
    assert shown["hyperparameters"] == {"l2": 1.0} and shown["split_summary"] == {"users": 2}


def test_rm_asks_and_only_deletes_on_yes(db):
    no = invoke("rm", "1", "--db", db, input="n\n")
    assert no.exit_code == 1 and "nothing deleted" in no.output
    with ResultStore(db, readonly=True) as store:
        assert store.run(1).status == "done"
    yes = invoke("rm", "1", "2", "--db", db, input="y\n")
    assert yes.exit_code == 0 and "deleted 2 runs" in yes.output
    with ResultStore(db, readonly=True) as store:
        assert [r.id for r in store.runs(status=None)] == [3]
    assert invoke("rm", "3", "--db", db, "--yes").exit_code == 0


def test_rm_unknown_id_is_one_line_and_deletes_nothing(db):
    result = invoke("rm", "1", "42", "--db", db, "--yes")
    assert result.exit_code == 6 and result.output.strip() == f"error: results store {db} has no run 42"
    with ResultStore(db, readonly=True) as store:
        assert len(store.runs(status=None)) == 3


def test_prune(db):
    assert invoke("prune", "--db", db).exit_code == 2
    result = invoke("prune", "--failed", "--db", db, "--yes")
    assert result.exit_code == 0 and "deleted 1 run" in result.output
    assert "no failed runs" in invoke("prune", "--failed", "--db", db, "--yes").output
    invoke("prune", "--interrupted", "--db", db, input="y\n")
    with ResultStore(db, readonly=True) as store:
        assert [r.status for r in store.runs(status=None)] == ["done"]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_runs_and_per_user_tables(db, tmp_path, fmt):
    out = tmp_path / "export"
    result = invoke("export", "--format", fmt, "--out", str(out), "--db", db, "--status", "all")
    assert result.exit_code == 0, result.output
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    runs, per_user = read(out / f"runs.{fmt}"), read(out / f"per_user.{fmt}")
    assert runs["id"].tolist() == [1, 2, 3] and runs["status"].tolist() == ["done", "failed", "interrupted"]
    assert runs.loc[0, "NDCG@10"] == 0.25 and runs.loc[0, "tag:study"] == "grid"
    assert per_user.to_dict("list") == {"run_id": [1, 1], "user": [3, 5], "NDCG@10": [0.0, 0.5]}


def test_bad_input_is_one_clear_line(db, tmp_path):
    assert "--format must be one of parquet, csv" in invoke("export", "--format", "xlsx", "--db", db).output
    assert "--status must be one of" in invoke("list", "--status", "gone", "--db", db).output
    missing = invoke("list", "--db", str(tmp_path / "none.sqlite"))
    assert missing.exit_code == 6 and "no results store" in missing.output
