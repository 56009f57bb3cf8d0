"""The Ray executor: the same study file gives the same stored numbers as the plain one; a
driver killed mid-sweep is finished by a rerun that does only what is missing; Ray missing
is one line naming the extra. One local Ray (2 CPUs) for the whole module."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recplug.errors import ConfigError, StoreError
from recplug.store import ResultStore

from test_tune import write_udata

STUDY = """
[study]
datasets = ["{data}"]
seeds = 2
metrics = ["NDCG@10", "HR@10"]
threads = 1

[tune]
trials = 3

[models.pop]
[models.itemknn]
params = {{ k = 10 }}
[models.bpr]
params = {{ epochs = 6, eval_every = 2 }}
[models.ease]
search = true
"""


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    pytest.importorskip("optuna")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_missing_ray_names_the_extra(monkeypatch):
    from recplug.executors import make_executor

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"pip install 'recplug\[ray\]'"):
        make_executor("ray")


@pytest.mark.parametrize("command", ["eval", "tune", "run"])
@pytest.mark.parametrize("args, message", [
    (["--executor", "dask"], "--executor must be one of plain, ray"),
    (["--cpus-per-job", "2"], "--cpus-per-job and --gpus-per-job apply to --executor ray"),
    (["--address", "auto"], "--address auto is the Ray cluster to use: add --executor ray"),
    (["--executor", "ray", "--cpus-per-job", "0"], "--cpus-per-job must be > 0"),
    (["--executor", "ray", "--gpus-per-job", "-1"], "--gpus-per-job must be >= 0"),
])
def test_executor_flags_are_checked_first(tmp_path, command, args, message):
    from typer.testing import CliRunner

    from recplug.cli.app import app

    target = [str(tmp_path / "study.toml")] if command == "run" else ["ease", "--dataset", "nowhere"]
    result = CliRunner().invoke(app, [command, *target, *args, "--db", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error:") and message in result.output, result.output
    assert not (tmp_path / "r.sqlite").exists()


def test_save_model_needs_the_plain_executor(tmp_path):
    from recplug.executors.sweep import check_plan
    from recplug.runner import EvalRequest, prepare

    plan = prepare(EvalRequest(models=["pop"], dataset=str(write_udata(tmp_path / "u.data")),
                               save_model=str(tmp_path / "models")))
    with pytest.raises(ConfigError, match="plain executor"):
        check_plan(plan)


def stored(db: Path) -> dict:
    with ResultStore(db) as store:
        return {r.spec.config_key(): (r.spec.short_model, r.spec.seed, r.metrics, store.run_tags(r.id).get("study"))
                for r in store.runs()}


def test_the_same_study_file_stores_identical_metrics(tmp_path, ray_cluster):
    from recplug.executors import make_executor
    from recplug.experiment import load_experiment, run_experiment
    from recplug.tune.tuner import load_summaries

    data = write_udata(tmp_path / "u.data")
    study = tmp_path / "study.toml"
    study.write_text(STUDY.format(data=data))
    results = {}
    for name in ("plain", "ray"):
        db = tmp_path / f"{name}.sqlite"
        executor = make_executor(name)
        outcomes = run_experiment(load_experiment(study, db=str(db)), executor=executor)
        executor.close()
        assert [o.status for o in outcomes] == ["done"] * 8
        results[name] = stored(db)
        (study_, summary), = load_summaries(db)
        results[name + " trials"] = [(t.params, t.value) for t in study_.trials]
    assert results["plain"] == results["ray"]  # same runs (config keys), metrics and study links
    assert results["plain trials"] == results["ray trials"]  # the study drew and scored the same trials
    assert ray_cluster.is_initialized()  # the executor left the module's Ray running


def test_a_killed_driver_is_finished_by_a_rerun(tmp_path, ray_cluster):
    from recplug.executors import make_executor
    from recplug.runner import EvalRequest, prepare, run_plan

    data, db = write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite"
    address = ray_cluster.get_runtime_context().gcs_address
    recplug = Path(sys.executable).with_name("recplug")
    args = ["eval", "bpr", "--set", "bpr.epochs=150", "--patience", "1000", "--seeds", "6", "--dataset", str(data),
            "--db", str(db)]
    proc = subprocess.Popen([str(recplug), *args, "--executor", "ray", "--address", address],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    done_before: dict = {}
    try:
        while time.monotonic() < deadline and not done_before:
            assert proc.poll() is None, proc.stderr.read().decode()
            if db.exists():
                try:
                    with ResultStore(db, readonly=True) as store:
                        done_before = {r.spec.seed: r.id for r in store.runs()}
                except StoreError:  # the driver has created the file but not yet its schema
                    pass
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert done_before and len(done_before) < 6, done_before
    with ResultStore(db) as store:
        running = store.runs(status="running")
    assert running  # the killed driver's claims, left to a dead owner
    request = EvalRequest(models=["bpr"], dataset=str(data), seeds=list(range(6)), db=str(db),
                          overrides={"bpr": {"epochs": 150}}, patience=1000, threads=1)
    executor = make_executor("ray")
    outcomes = run_plan(prepare(request), executor=executor)
    with ResultStore(db) as store:
        done = {r.spec.seed: r.id for r in store.runs()}
    assert sorted(done) == list(range(6))
    assert {s: done[s] for s in done_before} == done_before  # finished runs were not redone
    assert sorted(o.seed for o in outcomes if o.status == "done") == sorted(set(range(6)) - set(done_before))
