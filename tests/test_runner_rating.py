"""The runner's rating task: every model on the same kfold folds, one stored run per (seed,
fold), RMSE/MAE/FCP and per-user errors stored, validation RMSE for early stopping, refusals
before any data loads; on tiny generated ratings with small rating models of this file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.data import load_dataset
from recplug.errors import ConfigError, DataError
from recplug.evaluation import RatingValidator, evaluate_rating
from recplug.runner import EvalRequest, run_eval
from recplug.splits import make_split
from recplug.store import ResultStore
from recplug.training import TrainResult


def write_ratings(path: Path, seed: int = 0, n_users: int = 30, n_items: int = 25, rows: int = 400) -> Path:
    """A GroupLens u.data of random ratings 1..5 (distinct pairs, increasing timestamps)."""
    rng = np.random.default_rng(seed)
    pairs = rng.choice(n_users * n_items, size=rows, replace=False)
    users, items = pairs // n_items, pairs % n_items
    ratings = np.clip(np.round(3 + (items % 5 - 2) * 0.6 + rng.normal(0, 0.7, rows)), 1, 5).astype(int)
    lines = [f"{u + 1}\t{i + 1}\t{r}\t{880000000 + t}" for t, (u, i, r) in enumerate(zip(users, items, ratings))]
    path.write_text("\n".join(lines) + "\n")
    return path


class ItemMeans(Model):
    """Predicts each item's mean training rating (unseen items: the global mean)."""

    tags = Tags(task="rating", iterative=False)
    fits: list = []

    def __init__(self, shrink: float = 0.0) -> None:
        self.shrink = shrink

    def fit(self, train: TrainData, options: FitOptions) -> "ItemMeans":
        ratings = train.ratings.astype(np.float64)
        self.mean_ = ratings.mean()
        sums = np.bincount(train.interactions.items, ratings, minlength=train.n_items)
        counts = np.bincount(train.interactions.items, minlength=train.n_items)
        self.item_ = ((sums + self.shrink * self.mean_) / np.maximum(counts + self.shrink, 1e-12))
        self.item_[counts == 0] = self.mean_
        ItemMeans.fits.append((type(self).__name__, _pairs(train)))
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.item_[items].astype(np.float32)

    def score(self, batch: ScoreBatch) -> np.ndarray:
        return np.tile(self.item_.astype(np.float32), (len(batch), 1))


class Constant(ItemMeans):
    """Predicts the global mean training rating everywhere."""

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.mean_, dtype=np.float32)


class Steps(Model):
    """Iterative: epoch e predicts ``mean * e / epochs``; reports each epoch's validation and
    keeps the best epoch's prediction, as the Trainer would."""

    tags = Tags(task="rating")
    seen: list = []

    def __init__(self, epochs: int = 4) -> None:
        self.epochs = epochs

    def fit(self, train: TrainData, options: FitOptions) -> "Steps":
        mean = float(train.ratings.mean())
        budget = options.max_epochs or self.epochs
        values, best = [], None
        for epoch in range(1, budget + 1):
            self.value_ = mean * epoch / budget
            if options.validator is not None:
                values.append(options.validator(self))
                if best is None or values[-1] < values[best - 1]:
                    best = epoch
        Steps.seen.append((options.validator, values, len(train)))
        self.train_result_ = TrainResult(epochs_run=budget, best_epoch=best or budget,
                                         best_validation=min(values) if values else None, stopped="budget")
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.full(len(users), self.value_, dtype=np.float32)

    def score(self, batch: ScoreBatch) -> np.ndarray:
        return np.zeros((len(batch), batch.n_items), dtype=np.float32)


class Ranker(Model):
    tags = Tags(iterative=False)

    def __init__(self) -> None:
        pass

    def fit(self, train, options):
        return self

    def score(self, batch):
        return np.zeros((len(batch), batch.n_items), dtype=np.float32)


def _pairs(train: TrainData) -> frozenset:
    inter = train.interactions
    return frozenset(zip(inter.users.tolist(), inter.items.tolist()))


TEST_MODELS = {"itemmeans": ItemMeans, "constant": Constant, "steps": Steps, "ranker": Ranker}


@pytest.fixture(autouse=True)
def test_models(register_models):
    register_models(TEST_MODELS)
    ItemMeans.fits.clear()
    Steps.seen.clear()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_ratings(tmp_path / "u.data")


def request(data, db, models=("itemmeans", "constant"), **kw) -> EvalRequest:
    return EvalRequest(models=list(models), dataset=str(data), db=str(db), device="cpu", threads=1,
                       **{"task": "rating", "split": "kfold", "split_params": {"folds": 3}, **kw})


def stored(db: Path):
    with ResultStore(db) as store:
        return store.runs(status=None)


def test_kfold_runs_every_model_on_every_fold_as_one_stored_run_each(data, tmp_path):
    db = tmp_path / "r.sqlite"
    outcomes = run_eval(request(data, db, seeds=[0, 1]))
    assert [o.status for o in outcomes] == ["done"] * 12
    assert [(o.model, o.seed, o.fold) for o in outcomes[:6]] == [
        ("itemmeans", 0, 0), ("constant", 0, 0), ("itemmeans", 0, 1), ("constant", 0, 1),
        ("itemmeans", 0, 2), ("constant", 0, 2)]
    runs = stored(db)
    assert len(runs) == 12 and {r.status for r in runs} == {"done"}
    for run in runs:
        assert run.spec.protocol == "rating" and run.spec.ks == () and run.spec.ties == "none"
        assert run.spec.split == "kfold"
        assert run.spec.split_params["folds"] == 3 and run.spec.split_params["validation"] == 0.1
        assert set(run.metrics) == {"RMSE", "MAE", "FCP"}
        users, per_user = run.per_user()
        assert set(per_user) == {"squared_error", "absolute_error"} and len(users) > 0
        assert run.split_summary["fallback_predictions"] >= 0
    assert sorted((r.spec.seed, r.spec.split_params["fold"]) for r in runs if r.spec.model == "tests:constant") \
        == [(s, f) for s in (0, 1) for f in range(3)]
    assert len({r.spec.config_key() for r in runs}) == 12


def test_every_model_is_fitted_on_the_same_folds(data, tmp_path):
    run_eval(request(data, tmp_path / "r.sqlite"))
    fits = ItemMeans.fits
    assert [name for name, _ in fits] == ["ItemMeans", "Constant"] * 3
    for fold in range(3):
        assert fits[2 * fold][1] == fits[2 * fold + 1][1]
    assert fits[0][1] != fits[2][1]


def test_the_stored_numbers_are_evaluate_rating_of_the_same_split(data, tmp_path):
    db = tmp_path / "r.sqlite"
    run_eval(request(data, db, models=["itemmeans"], seeds=[3]))
    dataset = load_dataset(str(data))
    for run in stored(db):
        split = make_split(dataset, "kfold", seed=3, **run.spec.split_params)
        model = ItemMeans()
        model.fit(TrainData(split.train), FitOptions())
        expected = evaluate_rating(model, split)
        assert run.metrics["RMSE"] == pytest.approx(expected.summary["RMSE"])
        assert run.metrics["MAE"] == pytest.approx(expected.summary["MAE"])
        assert run.split_summary["fallback_predictions"] == expected.summary["fallback_predictions"]
        users, per_user = run.per_user()
        np.testing.assert_array_equal(users, expected.users)
        np.testing.assert_allclose(per_user["squared_error"], expected.per_user["squared_error"], rtol=1e-6)


def test_done_runs_are_skipped_and_report_their_fallbacks(data, tmp_path):
    db = tmp_path / "r.sqlite"
    first = run_eval(request(data, db))
    again = run_eval(request(data, db))
    assert [o.status for o in again] == ["skipped"] * 6
    assert [o.fallback_predictions for o in again] == [o.fallback_predictions for o in first]
    assert again[0].label == "itemmeans (seed 0, fold 0)"


def test_one_named_fold_runs_alone(data, tmp_path):
    outcomes = run_eval(request(data, tmp_path / "r.sqlite", models=["constant"],
                                split_params={"folds": 4, "fold": 2}))
    assert [(o.status, o.fold) for o in outcomes] == [("done", 2)]


def test_an_iterative_rating_model_early_stops_on_validation_rmse_of_its_training_fold(data, tmp_path):
    db = tmp_path / "r.sqlite"
    run_eval(request(data, db, models=["steps"]))
    assert len(Steps.seen) == 3
    for validator, values, n_train in Steps.seen:
        assert isinstance(validator, RatingValidator)
        assert validator.metric == "RMSE" and validator.higher_is_better is False
        split = validator.split
        test_rows = set(zip(split.test.users.tolist(), split.test.items.tolist()))
        valid_rows = set(zip(split.validation.users.tolist(), split.validation.items.tolist()))
        assert valid_rows and not valid_rows & test_rows
        assert n_train == len(split.train) and len(values) == 4
    run = stored(db)[0]
    assert run.spec.training["valid_metric"] == "RMSE"
    assert run.training_info["best_epoch"] == 4  # the training mean fits best


def test_refit_trains_on_the_whole_training_fold_and_counts_fallbacks_against_it(data, tmp_path):
    db = tmp_path / "r.sqlite"
    run_eval(request(data, db, models=["itemmeans"], refit=True))
    dataset = load_dataset(str(data))
    for (_, pairs), run in zip(ItemMeans.fits, sorted(stored(db), key=lambda r: r.id)):
        split = make_split(dataset, "kfold", seed=0, **run.spec.split_params)
        history = split.history("test")
        assert pairs == frozenset(zip(history.users.tolist(), history.items.tolist()))
        model = ItemMeans()
        model.fit(TrainData(history), FitOptions())
        assert run.split_summary["fallback_predictions"] == \
            evaluate_rating(model, split, train=history).summary["fallback_predictions"]
        assert run.spec.training == {"refit": True}


def test_the_rating_task_works_with_the_ratio_split(data, tmp_path):
    db = tmp_path / "r.sqlite"
    outcomes = run_eval(request(data, db, models=["itemmeans"], split="ratio", split_params={}))
    assert [(o.status, o.fold) for o in outcomes] == [("done", None)]
    run = stored(db)[0]
    assert run.spec.protocol == "rating" and run.spec.split == "ratio" and "RMSE" in run.metrics


def test_a_rating_model_still_runs_under_the_ranking_task(data, tmp_path):
    db = tmp_path / "r.sqlite"
    outcomes = run_eval(EvalRequest(models=["itemmeans"], dataset=str(data), db=str(db), device="cpu",
                                    threads=1, split="loo"))
    assert [o.status for o in outcomes] == ["done"]
    assert stored(db)[0].spec.protocol == "full" and "NDCG@10" in stored(db)[0].metrics


@pytest.mark.parametrize("kw, words", [
    ({"models": ["itemmeans", "ranker"]}, "task 'rating' needs rating models, but ranker is a ranking model"),
    ({"task": "ranking"}, "split 'kfold' cross-validates ratings"),
    ({"task": "bogus"}, "task must be one of ranking, rating"),
    ({"split_params": {"folds": 1}}, "folds must be an integer >= 2"),
    ({"validation_metric": "NDCG@10"}, "not a rating metric"),
    ({"eval_config_negatives": 10}, "negatives=10 samples negatives for ranking"),
])
def test_bad_rating_requests_fail_before_any_data_loads(tmp_path, kw, words):
    from recplug.evaluation import EvalConfig

    if kw.pop("eval_config_negatives", None):
        kw["eval_config"] = EvalConfig(negatives=10)
    db = tmp_path / "r.sqlite"
    with pytest.raises(ConfigError, match=words):
        run_eval(request(tmp_path / "never-read.data", db, **kw))
    assert not db.exists()


def test_data_without_ratings_is_one_data_error_and_no_run(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("user,item\n" + "".join(f"{u},{i}\n" for u in range(10) for i in range(u % 4, 8)))
    db = tmp_path / "r.sqlite"
    for split in ("kfold", "ratio"):
        params = {"folds": 3} if split == "kfold" else {}
        with pytest.raises(DataError, match="task 'rating' needs ratings, but 'plain' has none.*rating=COL"):
            run_eval(request(path, db, split=split, split_params=params))
    assert not db.exists()  # checked before the store is created


def test_eval_task_rating_prints_fallbacks_and_a_lower_is_better_table(data, tmp_path):
    from typer.testing import CliRunner

    from recplug.cli.app import app

    db = tmp_path / "r.sqlite"
    result = CliRunner().invoke(app, ["eval", "itemmeans", "constant", "--dataset", str(data), "--task", "rating",
                                      "--split", "kfold", "--folds", "3", "--threads", "1", "--device", "cpu",
                                      "--db", str(db)])
    assert result.exit_code == 0, result.output
    outcomes = [line for line in result.stderr.splitlines() if line.startswith("✓")]
    assert len(outcomes) == 6 and outcomes[0].startswith("✓ itemmeans (seed 0, fold 0) fit")
    assert "fitting constant (seed 0, fold 2)" in result.stderr
    fallbacks = {r.id: r.split_summary["fallback_predictions"] for r in stored(db)}
    first = min(fallbacks)
    assert outcomes[0].endswith(f", {fallbacks[first]} fallback prediction{'' if fallbacks[first] == 1 else 's'}")
    assert "RMSE ↓" in result.stdout and "MAE ↓" in result.stdout and "FCP" in result.stdout
    assert "1 × 3" in result.stdout and "protocol rating" in result.stdout
    assert "lower is better (RMSE, MAE)" in result.stdout
