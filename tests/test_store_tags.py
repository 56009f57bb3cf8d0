"""Run tags (schema version 4) and run removal: tags never change a run's identity; a
version-3 store is migrated (its runs kept) and read read-only with no tags."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from recplug.errors import ConfigError, StoreError
from recplug.store import ResultStore, RunSpec
from recplug.store.schema import LATEST, MIGRATIONS, apply

SPEC = dict(model="pop", plugin_dist="recplug", plugin_version="0.1.0", hyperparameters={},
            dataset="d", dataset_fingerprint="f", split="loo", split_params={}, protocol="full",
            ties="random", ks=(10,))
ENV = {"recplug": "0.1.0"}


def done_run(store: ResultStore, seed: int = 0) -> int:
    run_id = store.start_run(RunSpec(seed=seed, **SPEC), ENV)
    store.finish_run(run_id, metrics={"NDCG@10": 0.5}, users=np.arange(2),
                     per_user={"NDCG@10": np.array([0.25, 0.75])}, fit_seconds=1.0,
                     eval_seconds=1.0, peak_memory_bytes=1, split_summary={})
    return run_id


@pytest.fixture
def store(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as s:
        yield s


def test_tags_round_trip_and_replace(store):
    a, b = done_run(store, 0), done_run(store, 1)
    store.tag_run(a, "study", "grid")
    store.tag_run(a, "reproduce", "x")
    store.tag_run(b, "study", "other")
    store.tag_run(a, "study", "grid2")  # replaces
    assert store.run_tags(a) == {"reproduce": "x", "study": "grid2"}
    assert store.run_tags(b) == {"study": "other"}
    assert [r.id for r in store.runs_tagged("study")] == [a, b]
    assert [r.id for r in store.runs_tagged("study", "other")] == [b]
    assert store.runs_tagged("study", "nope") == []
    assert store.untag_run(a, "reproduce") is True and store.untag_run(a, "reproduce") is False
    assert store.run_tags(a) == {"study": "grid2"}


def test_tags_are_not_part_of_identity(store):
    run_id = done_run(store)
    key = store.run(run_id).config_key
    store.tag_run(run_id, "study", "s")
    assert store.run(run_id).config_key == key
    assert store.claim(RunSpec(seed=0, **SPEC), ENV).status == "done"


def test_runs_tagged_filters_status(store):
    running = store.start_run(RunSpec(seed=3, **SPEC), ENV)
    store.tag_run(running, "study", "s")
    assert store.runs_tagged("study") == []
    assert [r.id for r in store.runs_tagged("study", status=None)] == [running]
    with pytest.raises(ConfigError, match="status"):
        store.runs_tagged("study", status="finished")


def test_bad_tags_are_clear_errors(store):
    run_id = done_run(store)
    with pytest.raises(StoreError, match="no run 99"):
        store.tag_run(99, "k", "v")
    with pytest.raises(StoreError, match="no run 99"):
        store.run_tags(99)
    with pytest.raises(ConfigError, match="key"):
        store.tag_run(run_id, "", "v")
    with pytest.raises(ConfigError, match="value must be a string"):
        store.tag_run(run_id, "k", 3)


def test_delete_runs_removes_everything_and_refuses_live_running(store):
    a, b = done_run(store, 0), done_run(store, 1)
    store.tag_run(a, "k", "v")
    assert store.delete_runs([a]) == [a]
    assert [r.id for r in store.runs()] == [b]
    for table in ("metrics", "per_user", "run_tags"):
        assert store._conn.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (a,)).fetchone()[0] == 0
    with pytest.raises(StoreError, match="no run"):
        store.delete_runs([b, 42])
    assert [r.id for r in store.runs()] == [b]  # nothing deleted
    live = store.start_run(RunSpec(seed=7, **SPEC), ENV)
    with pytest.raises(StoreError, match="is running"):
        store.delete_runs([live])


def test_prune_failed_only(store):
    done = done_run(store)
    failed = store.start_run(RunSpec(seed=1, **SPEC), ENV)
    store.fail_run(failed, "boom")
    stopped = store.start_run(RunSpec(seed=2, **SPEC), ENV)
    store.interrupt_run(stopped)
    assert store.prune(["failed"]) == [failed]
    assert store.prune(["interrupted"]) == [stopped]
    assert [r.id for r in store.runs(status=None)] == [done]
    with pytest.raises(ConfigError, match="done"):
        store.prune(["done"])


def build_v3(path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    for migration in MIGRATIONS[:3]:
        apply(conn, migration)
    conn.commit()
    conn.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == 3


def test_empty_version_3_store_is_migrated_to_4(tmp_path):
    path = tmp_path / "v3.sqlite"
    build_v3(path)
    with ResultStore(path) as s:
        assert s.schema_version == LATEST == 4
        run_id = done_run(s)
        s.tag_run(run_id, "k", "v")
        assert s.run_tags(run_id) == {"k": "v"} and s.integrity_check() == []


def test_version_3_run_survives_migration_and_read_only_sees_no_tags(tmp_path):
    path = tmp_path / "v3.sqlite"
    build_v3(path)
    conn = sqlite3.connect(path)
    spec = RunSpec(seed=0, **SPEC)
    conn.execute(
        "INSERT INTO runs (config_key, model, plugin_dist, plugin_version, hyperparameters, dataset, "
        "dataset_fingerprint, split, split_params, seed, protocol, ties, ks, status, started_at, env, "
        "training) VALUES (?, 'recplug:pop', 'recplug', '0.1.0', '{}', 'd', 'f', 'loo', '{}', 0, 'full', "
        "'random', '[10]', 'done', 1.0, '{}', '{}')", (spec.config_key(),))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with ResultStore(path, readonly=True) as s:
        assert s.schema_version == 3
        assert [r.id for r in s.runs()] == [1]
        assert s.run_tags(1) == {} and s.runs_tagged("k") == []
    assert path.read_bytes() == before
    with ResultStore(path) as s:
        assert s.schema_version == 4
        assert s.find_done(spec).id == 1
        s.tag_run(1, "reproduce", "e")
        assert [r.id for r in s.runs_tagged("reproduce", "e")] == [1]
