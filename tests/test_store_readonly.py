"""Opening a store read-only: nothing written or created, writes refused, unwritable places named."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from recplug.errors import StoreError
from recplug.store import ResultStore, RunSpec

SPEC = RunSpec(model="pop", plugin_dist="recplug", plugin_version="1", hyperparameters={}, dataset="d",
               dataset_fingerprint="f", split="loo", split_params={}, seed=0, protocol="full",
               ties="random", ks=(10,))


def add_run(store: ResultStore, seed: int = 0) -> int:
    run_id = store.start_run(RunSpec(**{**SPEC.to_dict(), "seed": seed}), {})
    store.finish_run(run_id, metrics={"NDCG@10": 0.1}, users=np.arange(2),
                     per_user={"NDCG@10": np.zeros(2)}, fit_seconds=0.0, eval_seconds=0.0,
                     peak_memory_bytes=None, split_summary={})
    return run_id


def test_readonly_never_writes(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as s:
        add_run(s)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    with ResultStore(path, readonly=True) as s:
        (run,) = s.runs()
        assert run.spec.model == "recplug:pop" and s.summary()[0]["runs"] == 1
        for write in (lambda: s.start_run(SPEC, {}), lambda: s.claim(SPEC, {}),
                      lambda: s.fail_run(run.id, "x"), lambda: s.mark_interrupted()):
            with pytest.raises(StoreError, match="read-only"):
                write()
    assert run.per_user()[0].tolist() == [0, 1]  # lazily, after close, still read-only
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.sqlite"]


def test_readonly_sees_what_an_open_writer_committed(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as writer:
        add_run(writer)
        with ResultStore(path, readonly=True) as reader:  # the writer's -wal exists: mode=ro
            assert len(reader.runs()) == 1
            add_run(writer, seed=1)
            assert len(reader.runs()) == 2


def test_readonly_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no results store at"):
        ResultStore(tmp_path / "none.sqlite", readonly=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_unwritable_location_says_so_in_one_line():
    with pytest.raises(StoreError) as info:
        ResultStore("/proc/recplug-results.sqlite")
    message = str(info.value)
    assert "read-only storage" in message and "--db" in message and "\n" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_unwritable_folder_says_so(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="read-only storage"):
            ResultStore(folder / "r.sqlite")
    finally:
        folder.chmod(0o700)


def test_readonly_at_rest_then_a_writer_opens(tmp_path):
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as s:
        add_run(s)
    with ResultStore(path, readonly=True) as reader:  # no -wal: immutable
        assert reader._immutable
        with ResultStore(path) as writer:
            add_run(writer, seed=1)
            assert len(reader.runs()) == 2  # the -wal appeared: read again through mode=ro
            assert not reader._immutable


def _read_only_mount(source, target) -> list[str] | None:
    """A command prefix that runs a command with ``target`` a read-only bind of ``source``
    (a private mount namespace; needs root), or None where this machine cannot."""
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {source} {target} && "
                            f"mount -o remount,bind,ro {target} && ! touch {target}/probe"],
                           capture_output=True)
    if probe.returncode != 0:
        return None
    return ["unshare", "-m", "sh", "-c",
            f'mount --bind {source} {target} && mount -o remount,bind,ro {target} && exec "$@"', "sh"]


READ = """
import sys
from recplug.errors import StoreError
from recplug.store import ResultStore
path = sys.argv[1]
with ResultStore(path, readonly=True) as s:
    print("runs", len(s.runs()), [r.per_user()[0].tolist() for r in s.runs()])
try:
    ResultStore(path)
except StoreError as exc:
    print("writable:", exc)
"""

KILLED_WRITER = """
import os, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from test_store_readonly import add_run
from recplug.store import ResultStore
s = ResultStore(sys.argv[1])
add_run(s, 0)
add_run(s, 1)
os._exit(0)  # no close: the -wal and -shm files stay, holding both runs
"""


@pytest.mark.parametrize("leftover_wal", [False, True])
def test_store_on_read_only_storage(tmp_path, leftover_wal):
    import subprocess

    source, target = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    target.mkdir()
    prefix = _read_only_mount(source, target)
    if prefix is None:
        pytest.skip("no read-only bind mount here (needs unshare and root)")
    if leftover_wal:
        subprocess.run([sys.executable, "-c", KILLED_WRITER, str(source / "r.sqlite"),
                        os.path.dirname(__file__)], check=True)
        assert (source / "r.sqlite-wal").exists()
    else:
        with ResultStore(source / "r.sqlite") as s:
            add_run(s, 0)
            add_run(s, 1)
    done = subprocess.run(prefix + [sys.executable, "-c", READ, str(target / "r.sqlite")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "runs 2 [[0, 1], [0, 1]]"
    assert lines[1].startswith("writable: results store") and "read-only storage" in lines[1]
    assert "pass --db with a writable path" in lines[1]
