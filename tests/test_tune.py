"""recplug tune: search spaces, budgets, the validation-only objective, pruning, persistent
and resumable studies (a killed process loses no finished trial), the CLI and --show."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("optuna")

from typer.testing import CliRunner  # noqa: E402

from recplug.cli.app import app  # noqa: E402
from recplug.contract import EpochReport, FitOptions, Model, ScoreBatch, Tags, TrainData  # noqa: E402
from recplug.data.synthetic import generate  # noqa: E402
from recplug.errors import ConfigError  # noqa: E402
from recplug.evaluation import EvalConfig  # noqa: E402
from recplug.runner import EvalRequest  # noqa: E402
from recplug.store import ResultStore  # noqa: E402
from recplug.training import TrainResult  # noqa: E402
from recplug.training.constraints import Integer, Real  # noqa: E402
from recplug.tune.budget import Budget, parse_duration  # noqa: E402
from recplug.tune.space import Dimension, model_space, parse_space  # noqa: E402
from recplug.tune.trial import Pruning  # noqa: E402
from recplug.tune.tuner import TuneRequest, load_summaries, prepare_tune, run_tune, evaluate_best  # noqa: E402


def write_udata(path: Path, n_users: int = 50, n_items: int = 30, rows: int = 700) -> Path:
    data = generate(n_users, n_items, rows, seed=0)
    users, items = data.user_vocab.ids[data.users], data.item_vocab.ids[data.items]
    path.write_text("".join(f"{u}\t{i}\t5\t{t}\n" for u, i, t in zip(users, items, data.timestamps)))
    return path


class Level(Model):
    """Scores items in a random order drawn from ``level``; reports ``level * epoch / epochs``
    as its validation after every epoch (what the pruner sees). ``Level.sleep``: seconds
    each fit takes; ``Level.fits`` counts fits."""

    tags = Tags()
    parameter_constraints = {"level": Real(0, 1, search=(0.0, 1.0)), "epochs": Integer(1)}
    sleep = 0.0
    fits: list = []

    def __init__(self, level: float = 0.5, epochs: int = 6) -> None:
        self.level, self.epochs = level, epochs

    def fit(self, train: TrainData, options: FitOptions) -> "Level":
        Level.fits.append(self.level)
        time.sleep(Level.sleep)
        rng = np.random.default_rng(int(self.level * 1e6))
        self.scores_ = rng.random(train.n_items).astype(np.float32)
        budget = options.max_epochs or self.epochs
        for epoch in range(1, budget + 1):
            if options.progress is not None:
                options.progress(EpochReport(epoch=epoch, validation=self.level * epoch / budget))
        self.train_result_ = TrainResult(epochs_run=budget, best_epoch=budget, stopped="budget")
        return self

    def score(self, batch: ScoreBatch) -> np.ndarray:
        return np.repeat(self.scores_[None, :], len(batch), axis=0)


def request(data: Path, db: Path, models=("level",), trials: int = 4, seeds=(0,), **kw) -> TuneRequest:
    ev = EvalRequest(models=list(models), dataset=str(data), seeds=list(seeds), threads=1, db=str(db),
                     eval_config=EvalConfig(ks=(10,), metrics=("ndcg", "hr")), overrides=kw.pop("overrides", {}))
    return TuneRequest(eval=ev, budget=Budget("trials", trials), **kw)


@pytest.fixture
def level(register_models):
    Level.sleep, Level.fits = 0.0, []
    register_models({"level": Level})
    return Level


# ---- spaces and budgets, checked before any work ----------------------------------------
def test_declared_ranges_are_the_space_and_overrides_replace_them():
    from recplug.models.mf.bpr import BPR

    space = model_space("bpr", BPR, {})
    assert space["lr"] == Dimension("loguniform", 1e-4, 1e-1)
    assert space["factors"] == Dimension("logint", 8, 256)
    assert "epochs" not in space  # declared without a search range
    over = parse_space(["bpr.lr=loguniform:1e-3:1e-2", "bpr.factors=int:16:64"])
    space = model_space("bpr", BPR, over, fixed={"reg": 0.0})
    assert space["lr"] == Dimension("loguniform", 1e-3, 1e-2) and space["factors"] == Dimension("int", 16, 64)
    assert "reg" not in space  # fixed with --set: not searched


@pytest.mark.parametrize("item, message", [
    ("bpr.lr=loguniform:0:0.1", "log scale and needs LOW > 0"),
    ("bpr.lr=uniform:-1:0.1", "bpr.lr may not be -1; lr must be a real number > 0"),
    ("bpr.factors=int:1.5:8", "must be an integer"),
    ("bpr.lr=gauss:1:2", "is not a search range"),
    ("bpr.lr=uniform:0.1:0.01", "needs LOW < HIGH"),
    ("bpr.nope=int:1:4", "bpr has no hyperparameter 'nope'"),
    ("bpr.lr", "expected model.param=RANGE"),
])
def test_bad_space_is_one_clear_error(item, message):
    from recplug.models.mf.bpr import BPR

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model_space("bpr", BPR, parse_space([item]))


def test_budget_and_duration():
    assert parse_duration("30m") == 1800 and parse_duration("90") == 90 and parse_duration("1.5h") == 5400
    assert Budget("time", None, 1800).describe() == "30 min"
    assert Budget("trials", 30, 3600).describe() == "30 trials (cap 1 h)"
    with pytest.raises(ConfigError, match="timeout"):
        Budget("time", None, None)
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration("soon")


@pytest.mark.parametrize("args, message", [
    (["bpr", "--space", "bpr.lr=loguniform:0:1"], "--space bpr.lr"),
    (["bpr", "--space", "ease.l2=uniform:1:10"], "ease is not one of the models being tuned"),
    (["bpr", "--budget", "time"], "--budget time needs --timeout"),
    (["bpr", "--trials", "0"], "--trials must be an integer >= 1"),
    (["bpr", "--timeout", "later"], "--timeout 'later' is not a duration"),
    (["bpr", "--cpus-per-job", "2"], "apply to --executor ray"),
    (["bpr", "--executor", "dask"], "--executor must be one of plain, ray"),
    (["pop"], "pop declares no search ranges"),
    (["bpr", "--seeds", "0"], "--seeds must be >= 1"),
])
def test_cli_bad_input_fails_before_any_work(tmp_path, args, message):
    db = tmp_path / "r.sqlite"
    result = CliRunner().invoke(app, ["tune", *args, "--dataset", str(tmp_path / "missing.tsv"), "--db", str(db)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.output
    assert not db.exists() and not (tmp_path / "r.studies.journal").exists()


def test_missing_optuna_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    result = CliRunner().invoke(app, ["tune", "ease", "--dataset", str(write_udata(tmp_path / "u.data")),
                                      "--db", str(tmp_path / "r.sqlite")])
    assert result.exit_code == 2
    assert "pip install 'recplug[tune]'" in result.output and len(result.output.strip().splitlines()) == 1


# ---- the objective: validation only -----------------------------------------------------
def test_the_study_never_evaluates_the_test_split(tmp_path, level, monkeypatch):
    from recplug import runner
    from recplug.evaluation import evaluator

    parts = []
    real = evaluator.evaluate

    def counting(model, split, part, *args, **kwargs):
        parts.append(part)
        return real(model, split, part, *args, **kwargs)

    monkeypatch.setattr(evaluator, "evaluate", counting)  # what the validator calls
    monkeypatch.setattr(runner, "evaluate", counting)  # what the runner's test evaluation calls
    plan = prepare_tune(request(write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite",
                                models=("level", "ease"), trials=4))
    summaries = run_tune(plan)
    assert [s.trials for s in summaries] == [4, 4]
    assert parts and set(parts) == {"valid"}  # every trial scored, none on test
    evaluate_best(plan, summaries)
    assert parts.count("test") == 2  # the counter does see test evaluations: one per model afterwards


def test_defaults_first_so_the_best_is_never_below_them(tmp_path, level):
    plan = prepare_tune(request(write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite", models=("ease",), trials=3))
    (summary,) = run_tune(plan)
    assert summary.default_value is not None and summary.best_value >= summary.default_value
    assert summary.history[0] == summary.default_value


def test_pruned_trials_stop_early_and_count(tmp_path, level):
    plan = prepare_tune(request(write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite", trials=14,
                                pruning=Pruning(startup_trials=3)))
    (summary,) = run_tune(plan)
    assert summary.trials == 14 and summary.pruned >= 2
    (study, _), = load_summaries(tmp_path / "r.sqlite")
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert all(t.user_attrs["epochs"] < 6 for t in pruned)  # stopped before the budget of 6 epochs
    assert summary.epochs == sum(t.user_attrs["epochs"] for t in study.trials)


def test_rerun_resumes_and_the_test_runs_are_linked(tmp_path, level):
    data, db = write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite"
    plan = prepare_tune(request(data, db, trials=3, seeds=(0, 1)))
    (first,) = run_tune(plan)
    fits = len(Level.fits)
    plan = prepare_tune(request(data, db, trials=5, seeds=(0, 1)))
    (second,) = run_tune(plan)
    assert second.name == first.name and second.trials == 5 and len(Level.fits) == fits + 2
    assert second.history[:3] == first.history  # the same trials, kept
    outcomes = evaluate_best(plan, [second])
    assert [o.status for o in outcomes] == ["done", "done"]
    with ResultStore(db) as store:
        tagged = store.runs_tagged("study", second.name)
        assert sorted(r.id for r in tagged) == sorted(o.run_id for o in outcomes)
        tags = store.run_tags(tagged[0].id)
    assert tags["tune.budget"] == "5 trials" and tags["tune.trials"] == "5"
    assert float(tags["tune.best_validation"]) == second.best_value
    assert tagged[0].spec.hyperparameters["level"] == second.best_params["level"]
    again = evaluate_best(plan, [second])
    assert [o.status for o in again] == ["skipped", "skipped"]


def test_a_killed_study_loses_no_finished_trial(tmp_path, level):
    data, db = write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite"
    script = tmp_path / "drive.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from recplug import discovery
        import test_tune
        original = discovery.load_model_class
        def load(name):
            if name != "level":
                return original(name)
            return test_tune.Level, discovery.PluginInfo(name="level", qualified_name="tests:level", dist="tests",
                version="0", target="tests:Level", status="ok", error=None, tags=test_tune.Level.tags)
        discovery.load_model_class = load
        test_tune.Level.sleep = 0.2
        from pathlib import Path
        from recplug.tune.tuner import prepare_tune, run_tune
        run_tune(prepare_tune(test_tune.request(Path({str(data)!r}), Path({str(db)!r}), trials=50)))
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = tmp_path / "r.studies.journal"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if journal.exists() and journal.read_text().count('"state":1') >= 3:  # 3 trials told COMPLETE
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    (study, before), = load_summaries(db)
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") >= 3 and states[-1] == "RUNNING"  # killed mid-trial
    kept = {t.number: t.value for t in study.trials if t.state.name == "COMPLETE"}
    (after,) = run_tune(prepare_tune(request(data, db, trials=len(kept) + 2)))
    (study, _), = load_summaries(db)
    assert {t.number: t.value for t in study.trials if t.number in kept} == kept
    assert after.trials == len(kept) + 2  # the killed trial is failed, not counted
    killed = study.trials[len(kept)]
    assert killed.state.name == "FAIL" and killed.user_attrs["interrupted"]


# ---- the CLI ---------------------------------------------------------------------------------
def test_cli_tunes_tests_and_shows(tmp_path):
    data, db = write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite"
    runner = CliRunner()
    result = runner.invoke(app, ["tune", "ease", "itemknn", "--dataset", str(data), "--trials", "3", "--seeds", "2",
                                 "--threads", "1", "--db", str(db), "--space", "itemknn.k=int:2:20"])
    assert result.exit_code == 0, result.output
    assert "ease: best NDCG@10 on validation" in result.output and "budget 3 trials" in result.output
    with ResultStore(db) as store:
        runs = store.runs()
        assert len(runs) == 4 and all(store.run_tags(r.id)["tune.trials"] == "3" for r in runs)
        assert all(2 <= r.spec.hyperparameters["k"] <= 20 for r in runs if r.spec.short_model == "itemknn")
    assert "defaults of itemknn (k=100) lie outside its space" in result.output
    shown = runner.invoke(app, ["tune", "--show", "ease", "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "ease/" in shown.output and "itemknn/" not in shown.output and "(defaults)" in shown.output
    assert "best parameters" in shown.output and "importance" in shown.output
    none = runner.invoke(app, ["tune", "--show", "bpr", "--db", str(db)])
    assert none.exit_code == 2 and "no stored study matches models=bpr" in none.output


def test_a_time_budget_gives_every_model_the_same_seconds(tmp_path, level):
    Level.sleep = 0.15
    plan = prepare_tune(request(write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite", pruning=None))
    plan.request.budget = Budget("time", None, 0.5)
    (summary,) = run_tune(plan)
    assert summary.seconds >= 0.5 and summary.trials >= 3  # trials until 0.5 s of trial time were spent
    assert summary.seconds - 0.5 < 0.3  # the last one may run past the budget, by less than a trial
    assert summary.budget_text() == "0.5 s"


def test_ctrl_c_keeps_the_finished_trials_and_exits_130(tmp_path, level):
    data, db = write_udata(tmp_path / "u.data"), tmp_path / "r.sqlite"
    script = tmp_path / "drive.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from recplug import discovery
        import test_tune
        original = discovery.load_model_class
        def load(name):
            if name != "level":
                return original(name)
            return test_tune.Level, discovery.PluginInfo(name="level", qualified_name="tests:level", dist="tests",
                version="0", target="tests:Level", status="ok", error=None, tags=test_tune.Level.tags)
        discovery.load_model_class = load
        test_tune.Level.sleep = 0.3
        from recplug.cli.app import app
        app(["tune", "level", "--dataset", {str(data)!r}, "--db", {str(db)!r}, "--trials", "50", "--threads", "1"])
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = tmp_path / "r.studies.journal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (journal.exists() and journal.read_text().count('"state":1') >= 2):
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr.decode()
    assert "tuning was interrupted (SIGINT); every finished trial is kept" in stderr.decode()
    (study, summary), = load_summaries(db)
    assert summary.trials >= 2 and all(t.state.is_finished() for t in study.trials)  # nothing left running
    last = study.trials[-1]
    assert last.state.name == "COMPLETE" or last.user_attrs.get("interrupted")  # cut short: not counted
