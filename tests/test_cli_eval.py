"""End-to-end CLI: eval stores runs and resumes; errors are one line with a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from recplug.cli.app import app
from recplug.errors import KernelsNotBuiltError
from recplug.store import ResultStore


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    """A GroupLens-style u.data: 60 users with a learnable popularity skew and timestamps."""
    rng = np.random.default_rng(0)
    lines = []
    t = 0
    for u in range(60):
        for i in rng.choice(40, size=12, replace=False, p=np.linspace(2, 0.1, 40) / np.linspace(2, 0.1, 40).sum()):
            t += 1
            lines.append(f"{u}\t{i}\t5\t{t}")
    path = tmp_path / "u.data"
    path.write_text("\n".join(lines) + "\n")
    return path


def _main(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    code = "from recplug.cli.app import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_eval_stores_runs_resumes_and_exports(tiny_dataset: Path, tmp_path: Path):
    db = tmp_path / "runs.sqlite"
    out = tmp_path / "board.md"
    runner = CliRunner()
    args = ["eval", "recency-pop", "--dataset", str(tiny_dataset), "--split", "loo",
            "--seeds", "2", "--k", "5,10", "--db", str(db), "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "NDCG@10" in first.stdout and "recency-pop" in first.stdout
    assert out.read_text().lstrip().startswith("|") or "NDCG@10" in out.read_text()
    with ResultStore(db) as store:
        runs = store.runs(status="done")
    assert len(runs) == 2 and {r.spec.seed for r in runs} == {0, 1}
    users, per_user = runs[0].per_user()
    assert len(users) > 0 and "NDCG@10" in per_user
    second = runner.invoke(app, args)
    assert second.exit_code == 0
    assert "already in the store" in second.output
    with ResultStore(db) as store:
        assert len(store.runs(status="done")) == 2  # skipped, not re-run


def test_eval_with_a_sampled_protocol_is_labelled(tiny_dataset: Path, tmp_path: Path):
    db = tmp_path / "runs.sqlite"
    result = CliRunner().invoke(app, ["eval", "recency-pop", "--dataset", str(tiny_dataset), "--negatives", "10",
                                      "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "SAMPLED" in result.stdout
    with ResultStore(db) as store:
        assert store.runs(status="done")[0].spec.protocol == "sampled:10:uniform"


def test_errors_are_one_line_with_exit_code(tmp_path: Path):
    missing = _main("eval", "recency-pop", "--dataset", str(tmp_path / "nope.csv"), "--db", str(tmp_path / "d.sqlite"))
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
    assert "nope.csv" in missing.stderr
    unknown = _main("eval", "no-such-model", "--dataset", str(tmp_path / "x"), "--db", str(tmp_path / "d.sqlite"))
    assert unknown.returncode != 0 and "no-such-model" in unknown.stderr and "Traceback" not in unknown.stderr
    bad_set = _main("eval", "recency-pop", "--set", "nonsense", "--db", str(tmp_path / "d.sqlite"))
    assert bad_set.returncode == 2 and "key=value" in bad_set.stderr


def test_debug_variable_shows_the_traceback(tmp_path: Path):
    result = _main("eval", "no-such-model", "--db", str(tmp_path / "d.sqlite"), env={"RECPLUG_DEBUG": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_doctor_without_kernels_says_how_to_rebuild(monkeypatch):
    import recplug
    from recplug import kernels

    kernels._native.cache_clear()
    monkeypatch.setitem(sys.modules, "recplug._kernels", None)  # import of the extension fails
    monkeypatch.delattr(recplug, "_kernels", raising=False)
    try:
        result = CliRunner().invoke(app, ["doctor"])
        assert result.exit_code == 0
        assert "not built" in result.stdout and "pip install" in result.stdout
        with pytest.raises(KernelsNotBuiltError, match="pip install"):
            kernels.build_info()
    finally:
        kernels._native.cache_clear()


def test_help_lists_every_command():
    result = CliRunner().invoke(app, ["--help"])
    for command in ("eval", "models", "datasets", "leaderboard", "doctor", "bench"):
        assert command in result.stdout


def test_bench_rejects_unknown_scale():
    result = _main("bench", "kernels", "--scale", "huge")
    assert result.returncode == 2 and "--scale" in result.stderr


def test_progress_is_logged_line_by_line_when_not_a_terminal(tiny_dataset: Path, tmp_path: Path):
    result = _main("eval", "bpr", "--dataset", str(tiny_dataset), "--epochs", "2", "--set", "factors=8",
                   "--db", str(tmp_path / "d.sqlite"))
    assert result.returncode == 0, result.stderr
    assert "loading dataset" in result.stderr
    assert "bpr seed 0 epoch 1" in result.stderr and "bpr seed 0 epoch 2" in result.stderr
    assert "epoch 3" not in result.stderr  # the --epochs budget holds


def test_version_prints_the_package_version():
    import recplug

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"recplug {recplug.__version__}"


@pytest.mark.parametrize("command", [[], ["eval"], ["datasets", "info"], ["bench", "eval"], ["doctor"],
                                     ["leaderboard"], ["models"]])
def test_help_shows_flags_without_a_value_placeholder(command):
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0 and "--help" in result.stdout
    assert "<bool>" not in result.stdout


def test_another_epoch_budget_is_another_run_and_eval_says_where_the_store_is(tiny_dataset: Path, tmp_path: Path):
    db = tmp_path / "runs.sqlite"
    runner = CliRunner()
    base = ["eval", "bpr", "--dataset", str(tiny_dataset), "--set", "factors=8", "--db", str(db), "--device", "cpu"]
    five = runner.invoke(app, [*base, "--epochs", "2"])
    ten = runner.invoke(app, [*base, "--epochs", "3"])
    assert five.exit_code == 0 and ten.exit_code == 0, five.output + ten.output
    assert "already in the store" not in ten.output
    assert f"results: {db}" in ten.stderr
    with ResultStore(db) as store:
        budgets = sorted(r.spec.training["max_epochs"] for r in store.runs(status="done"))
    assert budgets == [2, 3]


class _Broken:
    """A contract-shaped model whose fit always fails."""

    from recplug.contract import Tags

    tags = Tags(iterative=False)

    def get_params(self):
        return {}

    def fit(self, train, options):
        raise RuntimeError("broken on purpose")

    def score(self, batch):  # pragma: no cover - never fitted
        raise AssertionError


class _Coarse:
    """Scores every item the same: ties decide every top-K cut."""

    from recplug.contract import Tags

    tags = Tags(iterative=False)

    def get_params(self):
        return {}

    def fit(self, train, options):
        self.n_items = train.n_items
        return self

    def score(self, batch):
        return np.zeros((len(batch), self.n_items), np.float32)


@pytest.fixture
def extra_models(register_models):
    register_models({"broken": _Broken, "coarse": _Coarse})


def test_eval_exits_1_when_any_run_failed_after_running_the_others(tiny_dataset: Path, tmp_path: Path, extra_models):
    db = tmp_path / "runs.sqlite"
    result = CliRunner().invoke(app, ["eval", "broken", "pop", "--dataset", str(tiny_dataset), "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert "broken on purpose" in result.stderr and "1 of 2 runs failed: broken (seed 0)" in result.stderr
    with ResultStore(db) as store:
        assert [r.spec.short_model for r in store.runs(status="done")] == ["pop"]
        assert len(store.runs(status="failed")) == 1


def test_eval_warns_when_ties_decide_the_top_k_cut(tiny_dataset: Path, tmp_path: Path, extra_models):
    result = CliRunner().invoke(app, ["eval", "coarse", "--dataset", str(tiny_dataset), "--k", "5,10",
                                      "--db", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 0, result.output
    assert "warning: coarse (seed 0): ties decided the top-K cut for 100% of users" in result.stderr


def test_the_outcome_line_counts_epochs_in_words():
    from recplug.cli.eval import _trained
    from recplug.runner import RunOutcome

    one = RunOutcome("bpr", 0, "done", 1, training={"epochs_run": 1, "stopped": "budget", "best_epoch": 1})
    many = RunOutcome("bpr", 0, "done", 1, training={"epochs_run": 30, "stopped": "early_stopping",
                                                     "best_epoch": 25, "refit_epochs": 25})
    assert _trained(one) == ", 1 epoch (budget, best 1)"
    assert _trained(many) == ", 30 epochs (early_stopping, best 25, refit 25)"
    assert _trained(RunOutcome("pop", 0, "done", 1)) == ""
