"""Claims, heartbeats, interruption and the training part of a run's identity."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from recplug.errors import ConfigError, StoreError
from recplug.store import Claim, ResultStore, RunSpec
from recplug.store.claims import OWNER_GONE

ENV = {"recplug": "0.1.0", "device": "cpu"}


def make_spec(**overrides) -> RunSpec:
    fields = dict(model="bpr", plugin_dist="recplug", plugin_version="0.1.0",
                  hyperparameters={"factors": 8}, dataset="d", dataset_fingerprint="f", split="loo",
                  split_params={}, seed=0, protocol="full", ties="random", ks=(10,),
                  training={"refit": False, "max_epochs": 5, "patience": 3, "valid_metric": "NDCG@10"})
    fields.update(overrides)
    return RunSpec(**fields)


def finish(store: ResultStore, run_id: int, training: dict | None = None) -> None:
    store.finish_run(run_id, metrics={"NDCG@10": 0.5}, users=np.arange(3),
                     per_user={"NDCG@10": np.full(3, 0.5)}, fit_seconds=1.0, eval_seconds=0.5,
                     peak_memory_bytes=None, split_summary={}, training=training)


@pytest.fixture
def store(tmp_path):
    with ResultStore(tmp_path / "r.sqlite") as s:
        yield s


def test_training_settings_are_part_of_the_identity():
    five, ten = make_spec(), make_spec(training={**make_spec().training, "max_epochs": 10})
    assert five.config_key() != ten.config_key()
    for change in ({"patience": 1}, {"valid_metric": "Recall@10"}, {"refit": True}):
        assert make_spec(training={**five.training, **change}).config_key() != five.config_key()
    assert make_spec(training={"max_epochs": np.int64(5), "patience": 3, "refit": False,
                               "valid_metric": "NDCG@10"}) == five
    with pytest.raises(ConfigError, match="training"):
        make_spec(training=[5])


def test_bare_and_qualified_model_names_are_one_configuration():
    bare, qualified = make_spec(model="pop"), make_spec(model="recplug:pop")
    assert bare == qualified and bare.config_key() == qualified.config_key()
    assert bare.model == "recplug:pop" and bare.short_model == "pop"
    with pytest.raises(ConfigError, match="plugin_dist"):
        make_spec(model="other:pop")


def test_claim_then_busy_then_done_then_rerun(store):
    spec = make_spec()
    first = store.claim(spec, ENV)
    assert first.status == "claimed" and first.owner.endswith(f"pid {store._owner.pid}")
    busy = store.claim(spec, ENV)  # this process is alive: its claim is live
    assert busy == Claim("busy", first.run_id, first.owner)
    finish(store, first.run_id, training={"epochs_run": 5, "best_epoch": 4, "stopped": "budget"})
    assert store.claim(spec, ENV) == Claim("done", first.run_id)
    rerun = store.claim(spec, ENV, rerun=True)
    assert rerun.status == "claimed" and rerun.run_id != first.run_id
    assert store.claim(spec, ENV, rerun=True) == Claim("busy", rerun.run_id, rerun.owner)
    record = store.run(first.run_id)
    assert record.training_info == {"epochs_run": 5, "best_epoch": 4, "stopped": "budget"}
    assert record.spec.training == spec.training and record.display_name == "bpr"
    other = store.claim(make_spec(training={**spec.training, "max_epochs": 10}), ENV)
    assert other.status == "claimed"  # another budget is another configuration


def test_claim_takes_over_a_dead_owner(store):
    spec = make_spec()
    stale = store.claim(spec, ENV).run_id
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    store._conn.execute("UPDATE runs SET owner_pid = ?, owner_token = '' WHERE id = ?", (child.pid, stale))
    claim = store.claim(spec, ENV)
    assert claim.status == "claimed" and claim.run_id != stale
    assert (store.run(stale).status, store.run(stale).error) == ("interrupted", OWNER_GONE)


def test_claims_of_another_host_live_while_their_heartbeat_is_fresh(store):
    spec = make_spec()
    theirs = store.claim(spec, ENV).run_id
    store._conn.execute("UPDATE runs SET owner_host = 'elsewhere', owner_pid = 7 WHERE id = ?", (theirs,))
    assert store.claim(spec, ENV, stale_after=60) == Claim("busy", theirs, "elsewhere pid 7")
    store._conn.execute("UPDATE runs SET heartbeat_at = heartbeat_at - 100 WHERE id = ?", (theirs,))
    assert store.claim(spec, ENV, stale_after=200).status == "busy"
    taken = store.claim(spec, ENV, stale_after=60)
    assert taken.status == "claimed" and store.run(theirs).status == "interrupted"


def _heartbeat_at(store, run_id):
    return store._conn.execute("SELECT heartbeat_at FROM runs WHERE id = ?", (run_id,)).fetchone()[0]


def test_heartbeat_and_keep_alive(store):
    run_id = store.claim(make_spec(), ENV).run_id
    store._conn.execute("UPDATE runs SET heartbeat_at = 1.0 WHERE id = ?", (run_id,))
    store.heartbeat(run_id)
    assert _heartbeat_at(store, run_id) > time.time() - 5
    store._conn.execute("UPDATE runs SET heartbeat_at = 1.0 WHERE id = ?", (run_id,))
    with store.keep_alive(run_id, every=0.02):
        deadline = time.time() + 5
        while _heartbeat_at(store, run_id) == 1.0 and time.time() < deadline:
            time.sleep(0.01)
    assert _heartbeat_at(store, run_id) > time.time() - 5
    with pytest.raises(ConfigError, match="every"):
        with store.keep_alive(run_id, every=0):
            pass


def test_interrupted_runs_are_never_done_and_are_redone(store):
    spec = make_spec()
    run_id = store.claim(spec, ENV).run_id
    store.interrupt_run(run_id, "interrupted by SIGINT")
    record = store.run(run_id)
    assert (record.status, record.error) == ("interrupted", "interrupted by SIGINT")
    with pytest.raises(StoreError, match="already interrupted"):
        finish(store, run_id)
    assert store.find_done(spec) is None and store.runs() == []
    assert [r.id for r in store.runs(status="interrupted")] == [run_id]
    assert store.claim(spec, ENV).status == "claimed"
    done = store.start_run(make_spec(seed=1), ENV)
    finish(store, done)
    with pytest.raises(StoreError, match="already done"):
        store.interrupt_run(done)


SWEEP = textwrap.dedent("""
    import sys
    import numpy as np
    from recplug.store import ResultStore, RunSpec
    path = sys.argv[1]
    with ResultStore(path) as store:
        for model in ("a", "b"):
            for seed in range(3):
                spec = RunSpec(model=model, plugin_dist="recplug", plugin_version="1", hyperparameters={},
                               dataset="d", dataset_fingerprint="f", split="loo", split_params={},
                               seed=seed, protocol="full", ties="random", ks=(10,), training={"refit": False})
                claim = store.claim(spec, {})
                if claim.status != "claimed":
                    continue
                with store.keep_alive(claim.run_id, every=0.01):
                    store.finish_run(claim.run_id, metrics={"NDCG@10": 0.1}, users=None, per_user={},
                                     fit_seconds=0.0, eval_seconds=0.0, peak_memory_bytes=None,
                                     split_summary={})
""")


def test_two_identical_sweeps_run_each_configuration_once(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultStore(path).close()
    procs = [subprocess.Popen([sys.executable, "-c", SWEEP, str(path)], stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    with ResultStore(path) as s:
        runs = s.runs(status=None)
        assert len(runs) == 6 and {r.status for r in runs} == {"done"}
        assert len({r.config_key for r in runs}) == 6
