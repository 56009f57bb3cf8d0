"""recplug bench train --concurrent: jobs are real processes released together (tiny data)."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from recplug.bench import concurrent
from recplug.cli.app import app


def tiny() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    users = np.repeat(np.arange(40, dtype=np.int32), 10)
    items = np.concatenate([rng.choice(60, 10, replace=False) for _ in range(40)]).astype(np.int32)
    return users, items


def test_a_job_is_a_process_that_waits_for_go_and_times_its_fit(tmp_path):
    data = tmp_path / "data.npz"
    concurrent._write_data(data, tiny())
    (result,) = concurrent._run_jobs(data, "bpr", [1], 1, [{"RECPLUG_THREADS": "1"}])
    assert result["threads"] == 1 and result["seconds_per_epoch"] > 0


def test_run_times_solo_before_and_after_and_hands_out_shares(monkeypatch):
    from recplug.training.threads import job_environment, job_threads

    calls = []

    def fake_jobs(data, model, threads, epochs, env):
        calls.append((list(threads), list(env)))
        seconds = 2.0 if len(threads) == 1 else 3.0
        return [{"seconds_per_epoch": seconds + i, "threads": t or 7} for i, t in enumerate(threads)]

    monkeypatch.setattr(concurrent, "_run_jobs", fake_jobs)
    result = concurrent.run("bpr", 2, epochs=1, threads=2, share=True, interactions=tiny())
    share = job_threads(2)
    assert calls == [([2], [{}]), ([share, share], [job_environment(share)] * 2), ([2], [{}])]
    assert result.solo_s == 2.0 and result.concurrent_s == [3.0, 4.0]
    assert result.slowdowns == pytest.approx([1.5, 2.0])
    unshared = concurrent.run("bpr", 2, epochs=1, threads=0, interactions=tiny())
    assert calls[-2] == ([0, 0], [{}, {}]) and unshared.job_threads == [7, 7]


@pytest.mark.parametrize(("args", "message"), [
    (["--concurrent", "1"], "--concurrent must be 0 (off) or a number of jobs >= 2"),
    (["--concurrent", "2", "--epochs", "0"], "--epochs must be >= 1"),
    (["--threads", "0"], "--threads must be >= 1 (or 0 with --concurrent"),
])
def test_bad_concurrent_options_are_refused_before_any_work(args, message):
    result = CliRunner().invoke(app, ["bench", "train", "bpr", *args])
    assert result.exit_code == 2
    assert message in result.output
