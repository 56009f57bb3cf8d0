"""Threads per job from the affinity mask and cgroup CPU quotas (fake /proc and cgroup trees)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recplug.errors import ConfigError
from recplug.training import threads as th


def fake_proc(tmp_path: Path, cgroup: str, mounts: list[str]) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text("".join(m + "\n" for m in mounts))
    return proc


def v2_tree(tmp_path: Path, limits: dict[str, str], own: str = "/jobs/a") -> tuple[Path, Path]:
    """A cgroup2 mount at tmp/cg with ``cpu.max`` files at the given relative directories."""
    root = tmp_path / "cg"
    (root / own.lstrip("/")).mkdir(parents=True)
    for rel, text in limits.items():
        (root / rel.lstrip("/") / "cpu.max").write_text(text)
    proc = fake_proc(tmp_path, f"0::{own}\n", [f"30 23 0:27 / {root} rw - cgroup2 cgroup2 rw"])
    return proc, root


def test_cgroup_v2_quota_in_cpus(tmp_path):
    proc, root = v2_tree(tmp_path, {"/": "max 100000", "/jobs": "max 100000", "/jobs/a": "150000 100000"})
    assert th.cgroup_cpu_limit(proc=proc, root=tmp_path) == 1.5


def test_cgroup_v2_tightest_ancestor_wins(tmp_path):
    proc, root = v2_tree(tmp_path, {"/": "max 100000", "/jobs": "100000 100000", "/jobs/a": "400000 100000"})
    assert th.cgroup_cpu_limit(proc=proc, root=tmp_path) == 1.0


def test_cgroup_v2_max_is_unlimited(tmp_path):
    proc, root = v2_tree(tmp_path, {"/": "max 100000", "/jobs": "max 100000", "/jobs/a": "max 100000"})
    assert th.cgroup_cpu_limit(proc=proc, root=tmp_path) is None


def test_cgroup_v1_quota_and_container_mount_root(tmp_path):
    # a container: its own cgroup /docker/abc is the root of the mount it sees
    root = tmp_path / "cg" / "cpu,cpuacct"
    root.mkdir(parents=True)
    (root / "cpu.cfs_quota_us").write_text("250000\n")
    (root / "cpu.cfs_period_us").write_text("100000\n")
    proc = fake_proc(tmp_path, "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n",
                     [f"32 31 0:29 /docker/abc {root} rw - cgroup cgroup rw,cpu,cpuacct"])
    assert th.cgroup_cpu_limit(proc=proc, root=tmp_path) == 2.5


def test_cgroup_v1_minus_one_is_unlimited(tmp_path):
    root = tmp_path / "cg" / "cpu"
    root.mkdir(parents=True)
    (root / "cpu.cfs_quota_us").write_text("-1\n")
    (root / "cpu.cfs_period_us").write_text("100000\n")
    proc = fake_proc(tmp_path, "1:cpu:/\n", [f"32 31 0:29 / {root} rw - cgroup cgroup rw,cpu"])
    assert th.cgroup_cpu_limit(proc=proc, root=tmp_path) is None


def test_no_cgroup_files_is_unlimited(tmp_path):
    proc = fake_proc(tmp_path, "", [])
    assert th.cgroup_cpu_limit(proc=proc, root=tmp_path) is None
    assert th.cgroup_cpu_limit(proc=tmp_path / "missing", root=tmp_path) is None


def test_usable_cpus_is_affinity_capped_by_quota(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    proc, _ = v2_tree(tmp_path, {"/jobs/a": "250000 100000"})
    assert th.usable_cpus(proc=proc, root=tmp_path) == 2  # 2.5 CPUs: two threads, rounded down
    (tmp_path / "b").mkdir()
    proc2, _ = v2_tree(tmp_path / "b", {"/jobs/a": "50000 100000"})
    assert th.usable_cpus(proc=proc2, root=tmp_path / "b") == 1  # half a CPU: still one thread
    assert th.usable_cpus(proc=tmp_path / "none", root=tmp_path) == 8  # no quota: the mask


def test_usable_cpus_follows_the_affinity_mask(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert th.usable_cpus(proc=tmp_path, root=tmp_path) == 1


def test_default_threads_prefers_the_executors_share(monkeypatch):
    monkeypatch.setenv(th.THREADS_ENV, "3")
    assert th.default_threads() == 3
    monkeypatch.delenv(th.THREADS_ENV)
    monkeypatch.setattr(th, "running_elsewhere", lambda: 0)
    assert th.default_threads() == th.usable_cpus()


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_default_threads_rejects_a_bad_share(monkeypatch, bad):
    monkeypatch.setenv(th.THREADS_ENV, bad)
    with pytest.raises(ConfigError, match="RECPLUG_THREADS="):
        th.default_threads()


@pytest.mark.parametrize(("jobs", "cpus", "each"), [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 8, 4), (3, 8, 2)])
def test_job_threads_never_oversubscribe(jobs, cpus, each):
    assert th.job_threads(jobs, cpus) == each
    assert jobs > cpus or each * jobs <= cpus


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True, "2"])
def test_job_threads_rejects_bad_jobs(jobs):
    with pytest.raises(ConfigError, match="^jobs="):
        th.job_threads(jobs, 4)


def test_job_environment_sets_every_pool():
    env = th.job_environment(2)
    assert env == {name: "2" for name in th.POOL_ENV}
    assert {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RECPLUG_THREADS"} <= set(env)
    with pytest.raises(ConfigError, match="^threads="):
        th.job_environment(0)


def test_running_elsewhere_takes_the_fewest_runnable_besides_the_caller(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("3.10 2.00 1.50 3/412 9999\n")
    assert th.running_elsewhere(loadavg=loadavg, interval_s=0) == 2
    loadavg.write_text("0.00 0.00 0.00 1/80 12\n")
    assert th.running_elsewhere(loadavg=loadavg, interval_s=0) == 0
    assert th.running_elsewhere(loadavg=tmp_path / "missing", interval_s=0) == 0
    loadavg.write_text("garbage\n")
    assert th.running_elsewhere(loadavg=loadavg, interval_s=0) == 0


@pytest.mark.parametrize(("others", "threads"), [(0, 2), (1, 1), (5, 1)])
def test_default_threads_leaves_the_cpus_other_jobs_run_on(monkeypatch, others, threads):
    monkeypatch.delenv(th.THREADS_ENV, raising=False)
    monkeypatch.setattr(th, "usable_cpus", lambda: 2)
    monkeypatch.setattr(th, "_whole_machine", lambda cpus: True)
    monkeypatch.setattr(th, "running_elsewhere", lambda: others)
    assert th.default_threads() == threads


def test_default_threads_ignores_the_load_where_it_could_change_results(monkeypatch):
    from recplug.training.determinism import THREAD_INDEPENDENT_UP_TO

    monkeypatch.delenv(th.THREADS_ENV, raising=False)
    monkeypatch.setattr(th, "running_elsewhere", lambda: 100)
    monkeypatch.setattr(th, "_whole_machine", lambda cpus: True)
    monkeypatch.setattr(th, "usable_cpus", lambda: THREAD_INDEPENDENT_UP_TO + 1)
    assert th.default_threads() == THREAD_INDEPENDENT_UP_TO + 1  # the count is part of the run's identity
    monkeypatch.setattr(th, "usable_cpus", lambda: 2)
    monkeypatch.setattr(th, "_whole_machine", lambda cpus: False)
    assert th.default_threads() == 2  # a container's /proc/loadavg counts the host's tasks
