"""The runner's runs: identity (training budget, data options), interruption, failures,
concurrent sweeps and --refit, on tiny generated data with small test models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.data.dataset import DataOptions
from recplug.data.synthetic import generate
from recplug.runner import EvalInterrupted, EvalRequest, run_eval
from recplug.store import ResultStore
from recplug.training import TrainResult


def write_udata(path: Path, seed: int = 0, n_users: int = 40, n_items: int = 30, rows: int = 600) -> Path:
    """A GroupLens u.data of generated interactions (rating 5, increasing timestamps)."""
    data = generate(n_users, n_items, rows, seed=seed)
    users, items = data.user_vocab.ids[data.users], data.item_vocab.ids[data.items]
    lines = [f"{u}\t{i}\t5\t{t}" for u, i, t in zip(users, items, data.timestamps)]
    path.write_text("\n".join(lines) + "\n")
    return path


class Counts(Model):
    """Pop-like: scores are per-item interaction counts of the data it was fitted on."""

    tags = Tags(iterative=False)

    def __init__(self) -> None:
        pass

    def fit(self, train: TrainData, options: FitOptions) -> "Counts":
        self.counts_ = np.bincount(train.csr.indices, minlength=train.n_items).astype(np.float32)
        self.rows_seen_ = len(train)
        Counts.fitted.append(self)
        return self

    def score(self, batch: ScoreBatch) -> np.ndarray:
        return np.repeat(self.counts_[None, :], len(batch), axis=0)

    fitted: list = []


class Epochs(Model):
    """Iterative stand-in for the Trainer: runs ``max_epochs`` (default ``epochs``) epochs and
    reports ``best_epoch = 2``. ``Epochs.interrupt = (how, seed)`` interrupts the fit of that
    seed: ``"raise"`` raises KeyboardInterrupt out of ``fit``, ``"report"`` returns the way
    the Trainer reports a Ctrl-C it caught (``stopped == "interrupted"``)."""

    tags = Tags()
    interrupt: tuple[str, int] | None = None

    def __init__(self, epochs: int = 7, nan: bool = False) -> None:
        self.epochs, self.nan = epochs, nan

    def fit(self, train: TrainData, options: FitOptions) -> "Epochs":
        how, seed = Epochs.interrupt or ("", -1)
        if how == "raise" and options.seed == seed:
            raise KeyboardInterrupt
        budget = options.max_epochs or self.epochs
        stopped = "interrupted" if how == "report" and options.seed == seed else "budget"
        self.train_result_ = TrainResult(epochs_run=budget, best_epoch=min(2, budget),
                                         best_validation=0.5, stopped=stopped)
        self.n_items_, self.seen_ = train.n_items, len(train)
        Epochs.fits.append((options.seed, budget, len(train), options.validator is not None))
        return self

    def score(self, batch: ScoreBatch) -> np.ndarray:
        scores = np.tile(np.linspace(1, 0, self.n_items_, dtype=np.float32), (len(batch), 1))
        return scores * np.nan if self.nan else scores

    fits: list = []


class Broken(Epochs):
    def fit(self, train: TrainData, options: FitOptions) -> "Broken":
        raise RuntimeError("this model is broken on purpose")


class Slow(Epochs):
    """Sleeps in fit until ``started`` is set from outside (concurrency)."""

    def fit(self, train: TrainData, options: FitOptions) -> "Slow":
        time.sleep(0.3)
        return super().fit(train, options)


class Swallows(Epochs):
    """Seed 1 gets a SIGINT whose KeyboardInterrupt library code swallows (as a lazy import
    can); ``then`` = "fail" fails afterwards with another error, "finish" fits normally."""

    then = "fail"

    def fit(self, train: TrainData, options: FitOptions) -> "Swallows":
        if options.seed == 1:
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1.0)  # the handler runs here
            except KeyboardInterrupt:
                pass
            if Swallows.then == "fail":
                raise AttributeError("module 'sympy' has no attribute 'printing'")
        return super().fit(train, options)


TEST_MODELS = {"counts": Counts, "epochs": Epochs, "broken": Broken, "slow": Slow, "swallows": Swallows}


@pytest.fixture(autouse=True)
def test_models(register_models):
    """Make the test models loadable by name, next to the installed ones."""
    register_models(TEST_MODELS)
    Counts.fitted.clear()
    Epochs.fits.clear()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_udata(tmp_path / "u.data")


def request(data: Path, db: Path, models=("epochs",), **kw) -> EvalRequest:
    return EvalRequest(models=list(models), dataset=str(data), db=str(db), device="cpu", **{"threads": 1, **kw})


def runs(db: Path, status: str | None = None):
    with ResultStore(db) as store:
        return store.runs(status=status)


# ---- identity -----------------------------------------------------------------------------
def test_the_epoch_budget_is_part_of_the_run_identity(data, tmp_path):
    db = tmp_path / "r.sqlite"
    first = run_eval(request(data, db, max_epochs=5))
    second = run_eval(request(data, db, max_epochs=10))
    again = run_eval(request(data, db, max_epochs=5))
    assert [o.status for o in first + second + again] == ["done", "done", "skipped"]
    done = sorted(runs(db, "done"), key=lambda r: r.id)
    assert [r.spec.training["max_epochs"] for r in done] == [5, 10]
    assert done[0].spec.training == {"refit": False, "max_epochs": 5, "patience": 5, "valid_metric": "NDCG@10"}
    assert done[0].training_info["epochs_run"] == 5 and done[0].training_info["stopped"] == "budget"


def test_patience_and_the_validation_metric_are_part_of_the_identity(data, tmp_path):
    db = tmp_path / "r.sqlite"
    outcomes = (run_eval(request(data, db)) + run_eval(request(data, db, patience=2))
                + run_eval(request(data, db, validation_metric="recall@10")))
    assert [o.status for o in outcomes] == ["done"] * 3
    assert {r.spec.training["valid_metric"] for r in runs(db, "done")} == {"NDCG@10", "Recall@10"}


def test_thread_counts_beyond_the_checked_range_are_part_of_an_iterative_run_identity(data, tmp_path):
    from recplug.training.determinism import THREAD_INDEPENDENT_UP_TO as bound

    db = tmp_path / "r.sqlite"
    within = [o.status for t in range(1, bound + 1)
              for o in run_eval(request(data, db, models=["epochs", "counts"], threads=t))]
    beyond = [o.status for o in run_eval(request(data, db, models=["epochs", "counts"], threads=bound + 1))]
    assert within == ["done", "done"] + ["skipped", "skipped"] * (bound - 1)
    assert beyond == ["done", "skipped"]  # only the iterative model may depend on threads
    trained = {r.spec.training.get("threads") for r in runs(db, "done") if r.spec.model == "tests:epochs"}
    assert trained == {None, bound + 1}


def test_a_non_iterative_model_ignores_the_budget_and_stores_the_qualified_name(data, tmp_path):
    db = tmp_path / "r.sqlite"
    first = run_eval(request(data, db, models=["counts"], max_epochs=5))
    second = run_eval(request(data, db, models=["counts"], max_epochs=10))
    assert [o.status for o in first + second] == ["done", "skipped"]
    (run,) = runs(db, "done")
    assert run.spec.training == {"refit": False} and run.spec.model == "tests:counts"


def test_data_options_are_part_of_the_dataset_fingerprint(data, tmp_path):
    db = tmp_path / "r.sqlite"
    plain = run_eval(request(data, db, models=["counts"]))
    filtered = run_eval(request(data, db, models=["counts"], data_options=DataOptions(kcore=2)))
    assert [o.status for o in plain + filtered] == ["done", "done"]
    assert len({r.spec.dataset_fingerprint for r in runs(db, "done")}) == 2


# ---- interruption ----------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["raise", "report"])
def test_an_interrupted_fit_is_stored_as_interrupted_and_stops_the_sweep(data, tmp_path, how, monkeypatch):
    db = tmp_path / "r.sqlite"
    monkeypatch.setattr(Epochs, "interrupt", (how, 1))
    with pytest.raises(EvalInterrupted) as caught:
        run_eval(request(data, db, seeds=[0, 1, 2]))
    monkeypatch.setattr(Epochs, "interrupt", None)
    assert caught.value.exit_code == 130 and [o.seed for o in caught.value.outcomes] == [0]
    statuses = sorted((r.spec.seed, r.status) for r in runs(db))
    assert statuses == [(0, "done"), (1, "interrupted")]  # seed 2 never started
    assert not any(seed == 2 for seed, *_ in Epochs.fits)
    resumed = run_eval(request(data, db, seeds=[0, 1, 2]))  # without the interruption
    assert [o.status for o in resumed] == ["skipped", "done", "done"]


@pytest.mark.parametrize("then, seed1", [("fail", "interrupted"), ("finish", "done")])
def test_a_signal_swallowed_inside_a_fit_still_stops_the_sweep(data, tmp_path, then, seed1, monkeypatch):
    db = tmp_path / "r.sqlite"
    monkeypatch.setattr(Swallows, "then", then)
    with pytest.raises(EvalInterrupted) as caught:
        run_eval(request(data, db, models=["swallows"], seeds=[0, 1, 2]))
    assert caught.value.exit_code == 130
    assert sorted((r.spec.seed, r.status) for r in runs(db)) == [(0, "done"), (1, seed1)]  # seed 2 never ran
    assert not runs(db, "failed")


SLOW_PLUGIN = textwrap.dedent('''
    import os, time, sys
    import numpy as np
    from recplug import discovery
    from recplug.contract import Model, Tags

    class Sleepy(Model):
        tags = Tags()
        def __init__(self): pass
        def fit(self, train, options):
            for _ in range(600 if os.environ.get("SLEEPY_SLOW") else 0):
                time.sleep(0.05)
            self.n_items_ = train.n_items
            return self
        def score(self, batch):
            return np.zeros((len(batch), self.n_items_), np.float32)

    def load(name, _original=discovery.load_model_class):
        if name != "sleepy":
            return _original(name)
        return Sleepy, discovery.PluginInfo(name="sleepy", qualified_name="tests:sleepy", dist="tests",
                                            version="0", target="t:Sleepy", status="ok", error=None,
                                            tags=Sleepy.tags)

    discovery.load_model_class = load
    from recplug.cli.app import main
    main()
''')


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_fit_exits_with_its_code_and_a_rerun_redoes_the_run(data, tmp_path, signum, code):
    plugin = tmp_path / "sleepy_main.py"
    plugin.write_text(SLOW_PLUGIN)
    db = tmp_path / "r.sqlite"
    args = [sys.executable, str(plugin), "eval", "sleepy", "--dataset", str(data), "--db", str(db),
            "--seeds", "2", "--device", "cpu", "--threads", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SLEEPY_SLOW": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and any(r.status == "running" for r in runs(db)):
            break
        time.sleep(0.1)
    proc.send_signal(signum)
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()  # only if it outlived the test (the old code ran on after the signal)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert [(r.spec.seed, r.status) for r in runs(db)] == [(0, "interrupted")]
    assert runs(db, "done") == []
    rerun = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"results: {db}" in rerun.stderr
    assert sorted(r.spec.seed for r in runs(db, "done")) == [0, 1]


# ---- failures and concurrency --------------------------------------------------------------
def test_a_failing_model_is_recorded_and_the_others_still_run(data, tmp_path):
    db = tmp_path / "r.sqlite"
    outcomes = run_eval(request(data, db, models=["broken", "counts"]))
    assert [(o.model, o.status) for o in outcomes] == [("broken", "failed"), ("counts", "done")]
    assert "broken on purpose" in outcomes[0].error
    assert {r.status for r in runs(db)} == {"failed", "done"}


def test_non_finite_scores_fail_the_run(data, tmp_path):
    db = tmp_path / "r.sqlite"
    (outcome,) = run_eval(request(data, db, overrides={"epochs": {"nan": True}}))
    assert outcome.status == "failed" and "EvaluationError" in outcome.error
    assert runs(db, "done") == []


def test_coarse_scores_report_their_tie_rate(data, tmp_path):
    from recplug.cli.eval import tie_warning

    db = tmp_path / "r.sqlite"
    (outcome,) = run_eval(request(data, db, models=["counts"]))
    assert outcome.boundary_tie_rate is not None
    outcome.boundary_tie_rate = 0.97
    assert "ties decided the top-K cut for 97% of users" in tie_warning(outcome)
    outcome.boundary_tie_rate = 0.0
    assert tie_warning(outcome) is None


def test_two_concurrent_sweeps_run_each_configuration_once(data, tmp_path):
    db = tmp_path / "r.sqlite"
    run_eval(request(data, db, models=["counts"]))  # create the store before both start
    results: list = []

    def sweep() -> None:
        results.extend(run_eval(request(data, db, models=["slow"], seeds=[0, 1, 2])))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    slow_done = [r for r in runs(db, "done") if r.spec.model == "tests:slow"]
    assert sorted(r.spec.seed for r in slow_done) == [0, 1, 2]
    assert len(results) == 6 and len([o for o in results if o.status == "done"]) == 3
    assert {o.status for o in results} <= {"done", "busy", "skipped"}


# ---- refit -----------------------------------------------------------------------------------
def test_refit_trains_on_train_plus_validation_for_the_best_epoch(data, tmp_path):
    db = tmp_path / "r.sqlite"
    (outcome,) = run_eval(request(data, db, refit=True, max_epochs=6))
    assert outcome.status == "done"
    (first, refit) = Epochs.fits
    assert first[1] == 6 and first[3] is True          # budget 6, early stopping on validation
    assert refit[1] == 2 and refit[3] is False         # the best epoch, no validator
    assert refit[2] > first[2]                         # it saw the validation rows too
    (run,) = runs(db, "done")
    assert run.spec.training["refit"] is True and run.training_info["refit_epochs"] == 2


def test_refit_of_a_non_iterative_model_counts_the_validation_interactions(data, tmp_path):
    from recplug.data import load_dataset
    from recplug.splits import make_split

    db = tmp_path / "r.sqlite"
    run_eval(request(data, db, models=["counts"], refit=True))
    (refit,) = Counts.fitted  # fitted once, on train + validation
    split = make_split(load_dataset(str(data)), "loo", seed=0)
    assert refit.rows_seen_ == len(split.train) + len(split.validation) > len(split.train)
    assert refit.counts_.sum() == split.history("test").csr().sum() > split.train.csr().sum()
    (run,) = runs(db, "done")
    assert run.spec.training == {"refit": True}


def test_ctrl_c_during_a_trainer_fit_is_never_evaluated(data, tmp_path):
    """The shared Trainer catches Ctrl-C and returns stopped='interrupted': still not done."""
    db = tmp_path / "r.sqlite"
    args = [sys.executable, "-m", "recplug.cli.app", "eval", "bpr", "--dataset", str(data), "--db", str(db),
            "--epochs", "100000", "--patience", "100000", "--set", "factors=4", "--seeds", "3",
            "--device", "cpu", "--threads", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and any(r.status == "running" for r in runs(db)):
            break
        time.sleep(0.1)
    time.sleep(1.0)  # well inside the epoch loop
    proc.send_signal(signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()  # only if it outlived the test (the old code ran on after the signal)
    assert proc.returncode == 130, stderr
    assert [(r.spec.seed, r.status) for r in runs(db)] == [(0, "interrupted")]
