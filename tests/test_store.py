"""The SQLite results store: specs, round trips, migrations, failures, interruption, concurrency."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recplug.errors import ConfigError, StoreError
from recplug.store import ResultStore, RunSpec, default_store_path
from recplug.store import codec
from recplug.store.claims import OWNER_GONE
from recplug.store.schema import LATEST


def make_spec(**overrides) -> RunSpec:
    fields = dict(model="ease", plugin_dist="recplug", plugin_version="0.1.0",
                  hyperparameters={"reg": 250.0}, dataset="ml-100k", dataset_fingerprint="abc123",
                  split="loo", split_params={"min_interactions": 3}, seed=0, protocol="full",
                  ties="random", ks=(10, 20))
    fields.update(overrides)
    return RunSpec(**fields)


ENV = {"recplug": "0.1.0", "python": "3.11", "device": "cpu", "threads": 2}


def finish(store: ResultStore, run_id: int, users=None, values=None, ndcg: float = 0.5) -> None:
    users = np.arange(4) if users is None else users
    values = np.full(len(users), ndcg) if values is None else values
    store.finish_run(run_id, metrics={"NDCG@10": ndcg, "Recall@10": 0.25}, users=users,
                     per_user={"NDCG@10": values, "Recall@10": values / 2}, fit_seconds=1.5,
                     eval_seconds=0.25, peak_memory_bytes=1024, split_summary={"users": len(users)})


@pytest.fixture
def store(tmp_path):
    with ResultStore(tmp_path / "results.sqlite") as s:
        yield s


# -- RunSpec -------------------------------------------------------------------------


def test_spec_normalises_and_keys_are_stable():
    a = make_spec(hyperparameters={"layers": (64, 32), "lr": np.float64(0.001)}, ks=[20, 10, 10])
    assert a.hyperparameters == {"layers": [64, 32], "lr": 0.001}
    assert a.ks == (10, 20)
    b = make_spec(hyperparameters={"lr": 0.001, "layers": [64, 32]}, ks=(10, 20))
    assert a == b and a.config_key() == b.config_key() and hash(a) == hash(b)
    assert len(a.config_key()) == 64
    assert RunSpec.from_dict(a.to_dict()) == a


@pytest.mark.parametrize("change", [
    {"model": "bpr"}, {"plugin_version": "0.2.0"}, {"hyperparameters": {"reg": 500.0}},
    {"dataset_fingerprint": "def"}, {"split_params": {"min_interactions": 5}}, {"seed": 1},
    {"protocol": "sampled:100:uniform"}, {"ties": "pessimistic"}, {"ks": (10,)},
])
def test_config_key_changes_with_every_field(change):
    assert make_spec(**change).config_key() != make_spec().config_key()


@pytest.mark.parametrize("bad, words", [
    ({"protocol": "sampled"}, "protocol"), ({"protocol": "sampled:0:uniform"}, "protocol"),
    ({"ks": ()}, "ks"), ({"ks": (0, 10)}, "ks"), ({"ks": (2.5,)}, "ks"), ({"seed": "1"}, "seed"),
    ({"seed": True}, "seed"), ({"model": ""}, "model"),
    ({"hyperparameters": {"lr": float("nan")}}, "hyperparameters"),
    ({"hyperparameters": {"f": object()}}, "hyperparameters"), ({"split_params": [1]}, "split_params"),
])
def test_spec_rejects_bad_fields(bad, words):
    with pytest.raises(ConfigError, match=words):
        make_spec(**bad)


# -- codec ---------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=300))
def test_codec_round_trips_float32(values):
    array = np.asarray(values, dtype=np.float32)
    out = codec.decode(*codec.encode(array, "float32"))
    assert out.dtype == np.float32 and np.array_equal(out, array)


def test_codec_compresses_and_detects_truncation():
    dtype, length, name, blob = codec.encode(np.zeros(10_000), "float32")
    assert len(blob) < 1000
    with pytest.raises(ValueError, match="bytes for"):
        codec.decode(dtype, length + 1, name, blob)


# -- round trips ---------------------------------------------------------------------


def test_start_finish_and_read_back(store):
    spec = make_spec(hyperparameters={"layers": (2, 3)})
    run_id = store.start_run(spec, ENV)
    assert store.run(run_id).status == "running"
    assert store.find_done(spec) is None
    users = np.array([7, 3, 11, 0])
    values = np.array([0.1, 0.2, 0.3, 0.4])
    finish(store, run_id, users, values, ndcg=0.25)
    record = store.find_done(spec)
    assert record.id == run_id and record.spec == spec and record.status == "done"
    assert record.error is None and record.env == ENV
    assert record.metrics == {"NDCG@10": 0.25, "Recall@10": 0.25}
    assert record.fit_seconds == 1.5 and record.eval_seconds == 0.25
    assert record.peak_memory_bytes == 1024 and record.split_summary == {"users": 4}
    assert record.started_at <= record.finished_at <= time.time()
    got_users, per_user = record.per_user()
    assert got_users.dtype == np.int32 and got_users.tolist() == [7, 3, 11, 0]
    assert per_user["NDCG@10"].dtype == np.float32
    np.testing.assert_array_equal(per_user["NDCG@10"], values.astype(np.float32))
    np.testing.assert_array_equal(per_user["Recall@10"], (values / 2).astype(np.float32))


def test_per_user_loads_lazily_even_after_close(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as s:
        run_id = s.start_run(make_spec(), ENV)
        finish(s, run_id, np.array([1, 2]), np.array([0.5, 1.0]))
        record = s.run(run_id)
        assert record._cache is None
    users, per_user = record.per_user()
    assert users.tolist() == [1, 2] and per_user["NDCG@10"].tolist() == [0.5, 1.0]


def test_runs_filters(store):
    ids = {}
    for model, dataset, protocol in [("ease", "ml-100k", "full"), ("bpr", "ml-100k", "full"),
                                     ("ease", "beauty", "full"), ("ease", "ml-100k", "sampled:100:uniform")]:
        spec = make_spec(model=model, dataset=dataset, protocol=protocol)
        ids[(model, dataset, protocol)] = store.start_run(spec, ENV)
    for key, run_id in ids.items():
        if key != ("bpr", "ml-100k", "full"):
            finish(store, run_id)
    failed = store.start_run(make_spec(seed=9), ENV)
    store.fail_run(failed, "CUDA out of memory")

    assert [r.id for r in store.runs()] == sorted(i for k, i in ids.items() if k[0] != "bpr")
    assert {r.spec.dataset for r in store.runs(dataset="beauty")} == {"beauty"}
    assert [r.spec.protocol for r in store.runs(dataset="ml-100k", protocol="full")] == ["full"]
    assert [r.id for r in store.runs(status="running")] == [ids[("bpr", "ml-100k", "full")]]
    (bad,) = store.runs(status="failed")
    assert bad.id == failed and bad.error == "CUDA out of memory" and bad.metrics == {}
    assert len(store.runs(status=None)) == 5
    assert [r.spec.model for r in store.runs(model="bpr", status=None)] == ["recplug:bpr"]
    assert [r.display_name for r in store.runs(model="recplug:bpr", status=None)] == ["bpr"]
    assert store.runs(split="temporal") == []
    assert {(row["dataset"], row["status"]): row["runs"] for row in store.summary()
            if row["protocol"] == "full"} == {("beauty", "done"): 1, ("ml-100k", "done"): 1,
                                              ("ml-100k", "running"): 1, ("ml-100k", "failed"): 1}
    with pytest.raises(ConfigError, match="status"):
        store.runs(status="finished")


def test_find_done_returns_latest_done(store):
    spec = make_spec()
    first = store.start_run(spec, ENV)
    finish(store, first, ndcg=0.1)
    second = store.start_run(spec, ENV)
    finish(store, second, ndcg=0.2)
    store.fail_run(store.start_run(spec, ENV), "boom")
    store.start_run(spec, ENV)
    record = store.find_done(spec)
    assert record.id == second and record.metrics["NDCG@10"] == 0.2
    assert store.find_done(make_spec(seed=1)) is None


def test_run_without_per_user_arrays(store):
    run_id = store.start_run(make_spec(), ENV)
    store.finish_run(run_id, metrics={"RMSE": 0.9}, users=None, per_user={}, fit_seconds=None,
                     eval_seconds=None, peak_memory_bytes=None, split_summary={})
    users, per_user = store.run(run_id).per_user()
    assert users.size == 0 and per_user == {}


@pytest.mark.parametrize("kwargs, words", [
    ({"users": np.arange(3)}, "shape"),
    ({"users": np.array([0, 1, 1, 2])}, "unique"),
    ({"users": np.array([0.0, 1, 2, 3])}, "integer"),
    ({"users": np.array([-1, 1, 2, 3])}, r"\[0, 2\*\*31\)"),
    ({"per_user": {"NDCG@10": np.array([0, np.nan, 0, 0])}}, "NaN"),
    ({"per_user": {"__users__": np.zeros(4)}}, "name"),
    ({"metrics": {"NDCG@10": float("inf")}}, "finite"),
    ({"metrics": {"NDCG@10": "high"}}, "number"),
    ({"fit_seconds": -1.0}, "fit_seconds"),
    ({"peak_memory_bytes": 1.5}, "integer"),
    ({"split_summary": {"x": object()}}, "split_summary"),
    ({"users": None}, "users"),
])
def test_finish_run_validates(store, kwargs, words):
    run_id = store.start_run(make_spec(), ENV)
    args = dict(metrics={"NDCG@10": 0.5}, users=np.arange(4), per_user={"NDCG@10": np.zeros(4)},
                fit_seconds=1.0, eval_seconds=1.0, peak_memory_bytes=10, split_summary={})
    args.update(kwargs)
    with pytest.raises(StoreError, match=words):
        store.finish_run(run_id, **args)
    assert store.run(run_id).status == "running"  # nothing written


def test_status_transitions(store):
    run_id = store.start_run(make_spec(), ENV)
    finish(store, run_id)
    with pytest.raises(StoreError, match="already done"):
        finish(store, run_id)
    with pytest.raises(StoreError, match="already done"):
        store.fail_run(run_id, "late")
    with pytest.raises(StoreError, match="no run 999"):
        store.fail_run(999, "x")
    with pytest.raises(StoreError, match="no run 999"):
        store.run(999)
    failed = store.start_run(make_spec(seed=3), ENV)
    store.fail_run(failed, "diverged")
    with pytest.raises(StoreError, match="already failed"):
        finish(store, failed)
    with pytest.raises(StoreError, match="env"):
        store.start_run(make_spec(), ["not", "a", "dict"])


def test_closed_store_says_so(tmp_path):
    s = ResultStore(tmp_path / "r.sqlite")
    s.close()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.runs()


def test_default_path_is_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "recplug" / "results.sqlite"
    with ResultStore() as s:
        assert s.path == default_store_path()
    assert default_store_path().is_file()


def test_store_settings(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    assert store.schema_version == LATEST
    assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0


def test_deleting_a_run_cascades(store):
    run_id = store.start_run(make_spec(), ENV)
    finish(store, run_id)
    store._conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    assert store._conn.execute("SELECT COUNT(*) FROM per_user").fetchone()[0] == 0
    assert store._conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 0


# -- bad files and migrations ------------------------------------------------------------


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "results.sqlite"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError) as info:
        ResultStore(path)
    message = str(info.value)
    assert str(path) in message and "not a readable recplug results store" in message
    assert "--db" in message


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE songs (title TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"not a recplug results store \(tables: songs\)"):
        ResultStore(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version 99, newer .*upgrade recplug"):
        ResultStore(path)


def test_folder_path_is_refused(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        ResultStore(tmp_path)


def test_damaged_per_user_blob_is_a_clear_error(store):
    run_id = store.start_run(make_spec(), ENV)
    finish(store, run_id)
    store._conn.execute("UPDATE per_user SET data = X'00112233' WHERE name = 'NDCG@10'")
    with pytest.raises(StoreError, match="NDCG@10.*damaged"):
        store.run(run_id).per_user()


V1_SQL = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, config_key TEXT NOT NULL, model TEXT NOT NULL,
    plugin_dist TEXT NOT NULL, plugin_version TEXT NOT NULL, hyperparameters TEXT NOT NULL,
    dataset TEXT NOT NULL, dataset_fingerprint TEXT NOT NULL, split TEXT NOT NULL,
    split_params TEXT NOT NULL, seed INTEGER NOT NULL, protocol TEXT NOT NULL, ties TEXT NOT NULL,
    ks TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    error TEXT, started_at REAL NOT NULL, finished_at REAL, env TEXT NOT NULL, fit_seconds REAL,
    eval_seconds REAL, peak_memory_bytes INTEGER, split_summary TEXT);
CREATE INDEX runs_config_key ON runs (config_key, status);
CREATE TABLE metrics (run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (run_id, name));
CREATE TABLE per_user (run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL, dtype TEXT NOT NULL, length INTEGER NOT NULL, codec TEXT NOT NULL,
    data BLOB NOT NULL, PRIMARY KEY (run_id, name));
"""


def test_version_1_store_is_migrated(tmp_path):
    path = tmp_path / "v1.sqlite"
    spec = make_spec()
    conn = sqlite3.connect(path)
    conn.executescript(V1_SQL)
    row = (spec.config_key(), "ease", "recplug", "0.1.0", '{"reg":250.0}', "ml-100k", "abc123",
           "loo", '{"min_interactions":3}', 0, "full", "random", "[10,20]")
    conn.execute("INSERT INTO runs (config_key, model, plugin_dist, plugin_version, hyperparameters, "
                 "dataset, dataset_fingerprint, split, split_params, seed, protocol, ties, ks, status, "
                 "started_at, finished_at, env, fit_seconds, eval_seconds, split_summary) VALUES "
                 "(?,?,?,?,?,?,?,?,?,?,?,?,?,'done',1.0,2.0,'{}',3.0,4.0,'{}')", row)
    conn.execute("INSERT INTO metrics VALUES (1, 'NDCG@10', 0.3)")
    conn.execute("INSERT INTO per_user VALUES (1, '__users__', ?, ?, ?, ?)", codec.encode(np.arange(3), "int32"))
    conn.execute("INSERT INTO per_user VALUES (1, 'NDCG@10', ?, ?, ?, ?)",
                 codec.encode(np.array([0.1, 0.3, 0.5]), "float32"))
    conn.execute("INSERT INTO runs (config_key, model, plugin_dist, plugin_version, hyperparameters, "
                 "dataset, dataset_fingerprint, split, split_params, seed, protocol, ties, ks, status, "
                 "started_at, env) VALUES (?,?,?,?,?,?,?,?,?,1,?,?,?,'running',1.0,'{}')",
                 (make_spec(seed=1).config_key(), *row[1:9], *row[10:]))
    conn.commit()
    conn.close()

    with ResultStore(path) as s:
        assert s.schema_version == LATEST == 4
        columns = {r[1] for r in s._conn.execute("PRAGMA table_info(runs)")}
        assert {"owner_host", "owner_pid", "owner_token"} <= columns
        record = s.find_done(spec)
        assert record.id == 1 and record.metrics == {"NDCG@10": 0.3} and record.fit_seconds == 3.0
        users, per_user = record.per_user()
        assert users.tolist() == [0, 1, 2]
        np.testing.assert_allclose(per_user["NDCG@10"], [0.1, 0.3, 0.5], rtol=1e-6)
        # a v1 running run has no owner: it counts as interrupted
        assert s.mark_interrupted() == 1
        assert s.run(2).status == "interrupted" and s.run(2).error == OWNER_GONE
        new = s.start_run(make_spec(seed=5), ENV)
        assert new == 3
        assert s.integrity_check() == []
    with ResultStore(path) as s:  # reopening an up-to-date store changes nothing
        assert s.schema_version == LATEST and len(s.runs(status=None)) == 3


# -- locking, interruption, concurrency ---------------------------------------------------


def test_write_waits_for_a_lock_then_succeeds(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path, busy_timeout=10) as s:
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        timer = threading.Timer(0.3, lambda: blocker.execute("COMMIT"))
        timer.start()
        try:
            started = time.monotonic()
            run_id = s.start_run(make_spec(), ENV)
            assert time.monotonic() - started >= 0.2
        finally:
            timer.join()
            blocker.close()
        assert s.run(run_id).status == "running"


def test_lock_held_too_long_is_a_clear_error(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path, busy_timeout=0.2) as s:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match=r"locked by another process .*--db"):
                s.start_run(make_spec(), ENV)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert s.runs(status=None) == []


def test_mark_interrupted_spares_live_owners(store):
    mine = store.start_run(make_spec(seed=1), ENV)
    recycled = store.start_run(make_spec(seed=2), ENV)
    gone = store.start_run(make_spec(seed=3), ENV)
    elsewhere = store.start_run(make_spec(seed=4), ENV)
    old_elsewhere = store.start_run(make_spec(seed=5), ENV)
    done = store.start_run(make_spec(seed=6), ENV)
    finish(store, done)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    conn = store._conn
    if store._owner.token:  # same pid, another start time: the pid was recycled
        conn.execute("UPDATE runs SET owner_token = 'x1' WHERE id = ?", (recycled,))
    else:  # no /proc here: fall back to a dead pid
        conn.execute("UPDATE runs SET owner_pid = ?, owner_token = '' WHERE id = ?", (child.pid, recycled))
    conn.execute("UPDATE runs SET owner_pid = ? WHERE id = ?", (child.pid, gone))
    conn.execute("UPDATE runs SET owner_host = 'elsewhere.example' WHERE id IN (?, ?)", (elsewhere, old_elsewhere))
    conn.execute("UPDATE runs SET started_at = started_at - 7200, heartbeat_at = heartbeat_at - 7200 "
                 "WHERE id = ?", (old_elsewhere,))

    assert store.mark_interrupted() == 2
    status = {r.id: (r.status, r.error) for r in store.runs(status=None)}
    assert status[recycled] == status[gone] == ("interrupted", OWNER_GONE)
    assert status[mine] == status[elsewhere] == status[old_elsewhere] == ("running", None)
    assert status[done] == ("done", None)
    assert store.mark_interrupted(stale_after=3600) == 1
    assert store.run(old_elsewhere).status == "interrupted"
    assert store.run(mine).status == "running"
    # a run marked interrupted while its owner was in fact alive can still be finished
    finish(store, gone)
    assert store.run(gone).status == "done" and store.run(gone).error is None


WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from recplug.store import ResultStore, RunSpec
    path, tag, count, hang = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "hang"
    with ResultStore(path) as store:
        for seed in range(count):
            spec = RunSpec(model="m" + tag, plugin_dist="recplug", plugin_version="0.1.0",
                           hyperparameters={}, dataset="d", dataset_fingerprint="f", split="loo",
                           split_params={}, seed=seed, protocol="full", ties="random", ks=(10,))
            run_id = store.start_run(spec, {"writer": tag})
            users = np.arange(200)
            store.finish_run(run_id, metrics={"NDCG@10": seed / 100}, users=users,
                             per_user={"NDCG@10": np.full(200, seed / 100)}, fit_seconds=0.0,
                             eval_seconds=0.0, peak_memory_bytes=None, split_summary={})
        if hang:
            store.start_run(spec.__class__(**{**spec.to_dict(), "seed": 999}), {"writer": tag})
            print("ready", flush=True)
            time.sleep(60)
""")


def test_sigkill_between_start_and_finish_keeps_finished_runs(tmp_path):
    path = tmp_path / "r.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "k", "3", "hang"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with ResultStore(path) as s:
        assert s.integrity_check() == []
        done = s.runs()
        assert [r.spec.seed for r in done] == [0, 1, 2]
        assert all(r.per_user()[1]["NDCG@10"].size == 200 for r in done)
        (running,) = s.runs(status="running")
        assert running.spec.seed == 999
        assert s.mark_interrupted() == 1
        assert (s.run(running.id).status, s.run(running.id).error) == ("interrupted", OWNER_GONE)
        assert s.runs(status="running") == []


def test_two_processes_write_concurrently(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultStore(path).close()  # created up front so both writers migrate nothing
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, "50", "no"],
                              stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    with ResultStore(path) as s:
        runs = s.runs()
        assert len(runs) == 100
        assert {(r.display_name, r.spec.seed) for r in runs} == {(m, i) for m in ("ma", "mb") for i in range(50)}
        assert s.integrity_check() == []
        assert all(r.per_user()[0].size == 200 for r in runs[::10])


def test_two_processes_create_and_migrate_one_new_store(tmp_path):
    path = tmp_path / "new" / "r.sqlite"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, "5", "no"],
                              stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    with ResultStore(path) as s:
        assert len(s.runs()) == 10 and s.schema_version == LATEST


def test_run_env_records_versions_and_round_trips(store):
    from recplug.store import run_env

    env = run_env("cpu", threads=3)
    assert env["threads"] == 3 and env["device"] == "cpu" and env["python"].count(".") == 2
    assert {"recplug", "torch", "numpy", "host", "platform", "device_name"} <= set(env)
    run_id = store.start_run(make_spec(), env)
    assert store.run(run_id).env == env
    assert isinstance(run_env()["threads"], int)


def test_damaged_pages_are_a_clear_error(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as s:
        for seed in range(30):
            finish(s, s.start_run(make_spec(seed=seed), ENV), np.arange(2000), np.linspace(0, 1, 2000))
    with open(path, "r+b") as fh:  # overwrite pages 3-8 (of ~160)
        fh.seek(4096 * 2)
        fh.write(b"\xa5" * 4096 * 6)
    with pytest.raises(StoreError) as info:
        with ResultStore(path) as s:
            for run in s.runs():
                run.per_user()
    assert str(path) in str(info.value) and "malformed" in str(info.value)
    assert "--db" in str(info.value)
