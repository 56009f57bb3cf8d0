"""``recplug leaderboard`` reads the store read-only, shows ± std on request, says "1 configuration"
and lists its flags without a value placeholder."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from recplug.cli.leaderboard import leaderboard
from recplug.store import ResultStore, RunSpec

app = typer.Typer()


@app.callback()
def _root() -> None:
    """Test app: mounts the command the way recplug.cli.app does."""


app.command("leaderboard")(leaderboard)
runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "results.sqlite"
    with ResultStore(path) as store:
        for seed in (0, 1):
            spec = RunSpec(model="pop", plugin_dist="recplug", plugin_version="1", hyperparameters={},
                           dataset="d", dataset_fingerprint="fp", split="loo", split_params={},
                           seed=seed, protocol="full", ties="random", ks=(10,))
            run_id = store.start_run(spec, {})
            values = np.linspace(0, 0.2 + 0.1 * seed, 50)
            store.finish_run(run_id, metrics={"NDCG@10": float(values.astype(np.float32).mean())},
                             users=np.arange(50), per_user={"NDCG@10": values}, fit_seconds=1.0,
                             eval_seconds=0.5, peak_memory_bytes=None, split_summary={})
    return path


def invoke(*args):
    return runner.invoke(app, ["leaderboard", "--dataset", "d", "--split", "loo", "--metrics", "NDCG@10",
                               *args])


def test_leaderboard_never_writes_the_store(db):
    before, mtime = db.read_bytes(), db.stat().st_mtime_ns
    result = invoke("--db", str(db))
    assert result.exit_code == 0, result.output
    assert "pop" in result.stdout
    assert db.read_bytes() == before and db.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in db.parent.iterdir()) == ["results.sqlite"]


def test_std_on_request_and_singular_footer(db, tmp_path):
    plain = invoke("--db", str(db))
    assert plain.exit_code == 0 and "±" not in plain.stdout.split("d · split")[0]
    shown = invoke("--db", str(db), "--std")
    assert shown.exit_code == 0 and re.search(r"0\.\d{4} ± 0\.\d{4}", shown.stdout)
    out = tmp_path / "lb.md"
    written = invoke("--db", str(db), "--format", "markdown", "--out", str(out))
    assert written.exit_code == 0, written.output
    assert "of 1 configuration to" in written.stderr
    assert "· 1 configuration**" in out.read_text()


def test_help_shows_no_bool_placeholder_for_flags():
    result = runner.invoke(app, ["leaderboard", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    (line,) = [line for line in result.stdout.splitlines() if "--std" in line]
    assert "<bool>" not in line and "--no-std" in line


def test_leaderboard_reads_an_older_store_without_migrating_it(tmp_path):
    from test_store_migration import build_v2

    path = tmp_path / "v2.sqlite"
    build_v2(path)
    before = path.read_bytes()
    result = runner.invoke(app, ["leaderboard", "--dataset", "d", "--split", "loo", "--db", str(path),
                                 "--metrics", "NDCG@10"])
    assert result.exit_code == 0, result.output
    assert "pop" in result.stdout and "bpr" not in result.stdout  # bpr failed, not ranked
    assert path.read_bytes() == before
    with ResultStore(path, readonly=True) as store:
        assert store.schema_version == 2
