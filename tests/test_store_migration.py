"""Version 2 -> 3: the runs table is rebuilt (status 'interrupted'), ids, metrics and per-user
arrays survive, models are qualified, config keys recomputed; read-only opening never migrates."""

from __future__ import annotations

import sqlite3

import numpy as np

from recplug.store import ResultStore, RunSpec
from recplug.store import codec
from recplug.store.schema import LATEST, V1, V2, statements

OLD = dict(plugin_dist="recplug", plugin_version="0.1.0", hyperparameters={}, dataset="d",
           dataset_fingerprint="f", split="loo", split_params={}, protocol="full", ties="random",
           ks=(10,))


def build_v2(path) -> None:
    """A version-2 store as recplug 0.1 wrote it: bare model names, interrupted = failed."""
    conn = sqlite3.connect(path)
    for statement in statements(V1) + statements(V2):
        conn.execute(statement)
    rows = [("pop", 0, "done", None), ("pop", 1, "failed", "interrupted"), ("bpr", 0, "failed", "diverged"),
            ("pop", 2, "running", None)]
    for model, seed, status, error in rows:
        conn.execute(
            "INSERT INTO runs (config_key, model, plugin_dist, plugin_version, hyperparameters, dataset, "
            "dataset_fingerprint, split, split_params, seed, protocol, ties, ks, status, error, started_at, "
            "env, split_summary, owner_host, owner_pid, owner_token) VALUES "
            "('old-key', ?, 'recplug', '0.1.0', '{}', 'd', 'f', 'loo', '{}', ?, 'full', 'random', '[10]', "
            "?, ?, 1.0, '{}', '{}', 'h', 1, '')", (model, seed, status, error))
    conn.execute("INSERT INTO metrics VALUES (1, 'NDCG@10', 0.25)")
    conn.execute("INSERT INTO per_user VALUES (1, '__users__', ?, ?, ?, ?)", codec.encode(np.arange(2), "int32"))
    conn.execute("INSERT INTO per_user VALUES (1, 'NDCG@10', ?, ?, ?, ?)",
                 codec.encode(np.array([0.0, 0.5]), "float32"))
    conn.commit()
    conn.close()


def test_version_2_store_is_migrated_to_3(tmp_path):
    path = tmp_path / "v2.sqlite"
    build_v2(path)
    with ResultStore(path) as s:
        assert s.schema_version == LATEST == 4
        runs = {r.id: r for r in s.runs(status=None)}
        assert sorted(runs) == [1, 2, 3, 4]
        assert [runs[i].spec.model for i in (1, 2, 3)] == ["recplug:pop", "recplug:pop", "recplug:bpr"]
        assert [runs[i].status for i in (1, 2, 3)] == ["done", "interrupted", "failed"]
        assert runs[3].error == "diverged"
        done = runs[1]
        assert done.spec.training == {} and done.training_info == {}
        assert done.config_key == RunSpec(model="pop", seed=0, **OLD).config_key()
        stored = s._conn.execute("SELECT config_key FROM runs WHERE id = 1").fetchone()[0]
        assert stored == done.config_key
        assert done.metrics == {"NDCG@10": 0.25}  # the rebuild did not cascade
        users, per_user = done.per_user()
        assert users.tolist() == [0, 1] and per_user["NDCG@10"].tolist() == [0.0, 0.5]
        assert s.find_done(RunSpec(model="recplug:pop", seed=0, **OLD)).id == 1
        # new runs carry their training settings: old ones are ranked but not resumed
        new = RunSpec(model="pop", seed=0, training={"refit": False}, **OLD)
        assert s.claim(new, {}).status == "claimed"
        assert s.integrity_check() == []
        assert s._conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert s._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        check = s._conn.execute("SELECT sql FROM sqlite_master WHERE name = 'runs'").fetchone()[0]
        assert "'interrupted'" in check
        indexes = {r[0] for r in s._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"runs_config_key", "runs_filter"} <= indexes


def test_version_2_store_opened_read_only_is_read_as_version_3_and_left_alone(tmp_path):
    path = tmp_path / "v2.sqlite"
    build_v2(path)
    before = path.read_bytes()
    with ResultStore(path, readonly=True) as s:
        assert s.schema_version == 2
        runs = {r.id: r for r in s.runs(status=None)}
        assert runs[1].spec.model == "recplug:pop" and runs[2].status == "interrupted"
        assert [r.id for r in s.runs(model="pop")] == [1]
        assert runs[1].per_user()[0].tolist() == [0, 1]
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v2.sqlite"]


def test_version_1_store_opened_read_only_has_no_owners_and_is_left_alone(tmp_path):
    path = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(path)
    for statement in statements(V1):
        conn.execute(statement)
    conn.execute("INSERT INTO runs (config_key, model, plugin_dist, plugin_version, hyperparameters, dataset, "
                 "dataset_fingerprint, split, split_params, seed, protocol, ties, ks, status, started_at, env) "
                 "VALUES ('k', 'ease', 'recplug', '0.1.0', '{}', 'd', 'f', 'loo', '{}', 0, 'full', 'random', "
                 "'[10]', 'done', 1.0, '{}')")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with ResultStore(path, readonly=True) as s:
        (run,) = s.runs()
        assert run.spec.model == "recplug:ease" and run.spec.training == {} and s.schema_version == 1
    assert path.read_bytes() == before
