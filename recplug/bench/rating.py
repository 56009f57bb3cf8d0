"""``recplug bench rating``: 5-fold cross-validation of ``svd`` and ``svdpp`` (fit + test)
next to scikit-surprise's SVD and SVDpp, measured in the same run on the same folds.

The data are ml-100k when it is found locally (``RECPLUG_DATA_DIR`` or the cache; never
downloaded here), else synthetic ratings of the same shape. Both sides fit on each training
fold (train + validation of recplug's ``kfold`` split, 80% of the ratings) with their
default hyperparameters and predict the test fold; RMSE is computed by hand on the
predictions of both. The data structures (``TrainData``, Surprise's ``Trainset``) are built
before the clock starts. Each round runs every fold of both sides, in alternating order.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from recplug.bench.common import BenchRow
from recplug.training.threads import limited_threads

FOLDS = 5
SHAPE = (943, 1_682, 100_000)  #: ml-100k: users, items, ratings
TARGETS = {"svd": 3.0, "svdpp": 5.0}
SURPRISE_NAMES = {"svd": "SVD", "svdpp": "SVDpp"}
NOT_INSTALLED = "scikit-surprise is not installed (pip install 'recplug[bench]'): only recplug's times are shown"


@dataclass(frozen=True)
class RatingBenchRow(BenchRow):
    """A :class:`BenchRow` with the mean test RMSE over the folds of both sides (NaN: not run)."""

    ours_rmse: float = float("nan")
    alternative_rmse: float = float("nan")


def surprise_version() -> str | None:
    """The installed scikit-surprise version, or None."""
    try:
        from importlib.metadata import version

        import surprise  # noqa: F401
    except ImportError:
        return None
    return version("scikit-surprise")


def bench_data() -> tuple[Any, str]:
    """(Interactions with ratings, description): ml-100k if found locally, else synthetic."""
    from recplug.data.dataset import load_dataset
    from recplug.errors import RecplugError

    try:
        loaded = load_dataset("ml-100k", offline=True)
        data = getattr(loaded, "interactions", loaded)
        return data, f"ml-100k: {data.n_users:,} x {data.n_items:,}, {len(data):,} ratings, {FOLDS} folds"
    except RecplugError:
        return synthetic_ratings(), (f"synthetic (ml-100k not found): {SHAPE[0]:,} x {SHAPE[1]:,}, "
                                     f"{SHAPE[2]:,} ratings, {FOLDS} folds")


def synthetic_ratings(seed: int = 0) -> Any:
    """ml-100k-shaped interactions with 1..5 ratings from biases and a rank-8 taste."""
    from recplug.data.interactions import Interactions
    from recplug.data.synthetic import generate

    base = generate(*SHAPE, seed=seed)
    rng = np.random.default_rng(seed)
    p, q = rng.normal(0, 0.35, (base.n_users, 8)), rng.normal(0, 0.35, (base.n_items, 8))
    bu, bi = rng.normal(0, 0.4, base.n_users), rng.normal(0, 0.5, base.n_items)
    taste = np.einsum("nd,nd->n", p[base.users], q[base.items])
    ratings = np.clip(np.round(3.5 + bu[base.users] + bi[base.items] + taste + rng.normal(0, 0.9, len(base))), 1, 5)
    return Interactions(base.users, base.items, base.user_vocab, base.item_vocab, base.timestamps,
                        ratings.astype(np.float32), name="synthetic-ml-100k")


@dataclass
class Fold:
    """One fold's training data for both sides and its test rows."""

    train: Any                   #: recplug TrainData
    trainset: Any | None         #: Surprise Trainset (None without Surprise)
    users: np.ndarray            #: test rows, int32
    items: np.ndarray
    ratings: np.ndarray          #: float64
    testset: list | None         #: Surprise's (raw user, raw item, rating) triples


def folds(data: Any, with_surprise: bool) -> list[Fold]:
    from recplug.contract import TrainData
    from recplug.splits import kfold

    out = []
    for fold in range(FOLDS):
        split = kfold.split(data, seed=0, folds=FOLDS, fold=fold)
        history, test = split.history("test"), split.rows("test")
        trainset = testset = None
        if with_surprise:
            import pandas as pd
            from surprise import Dataset, Reader

            frame = pd.DataFrame({"u": history.users, "i": history.items, "r": history.ratings.astype(np.float64)})
            low, high = float(history.ratings.min()), float(history.ratings.max())
            trainset = Dataset.load_from_df(frame, Reader(rating_scale=(low, high))).build_full_trainset()
            testset = list(zip(test.users.tolist(), test.items.tolist(), test.ratings.astype(float).tolist()))
        out.append(Fold(TrainData(history), trainset, test.users.astype(np.int32), test.items.astype(np.int32),
                        test.ratings.astype(np.float64), testset))
    return out


def _rmse(predicted: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(predicted, dtype=np.float64) - truth) ** 2)))


def ours(name: str, data: list[Fold]) -> Callable[[], float]:
    """A function that cross-validates recplug's ``name`` once -> mean test RMSE."""
    from recplug.contract import FitOptions
    from recplug.discovery import load_model_class

    cls, _ = load_model_class(name)

    def run() -> float:
        errors = []
        for k, fold in enumerate(data):
            model = cls().fit(fold.train, FitOptions(seed=k, threads=1))
            errors.append(_rmse(model.predict(fold.users, fold.items), fold.ratings))
        return float(np.mean(errors))

    return run


def theirs(name: str, data: list[Fold]) -> Callable[[], float]:
    """A function that cross-validates Surprise's algorithm for ``name`` once -> mean test RMSE."""
    import surprise

    algo = getattr(surprise, SURPRISE_NAMES[name])

    def run() -> float:
        errors = []
        for k, fold in enumerate(data):
            predictions = algo(random_state=k).fit(fold.trainset).test(fold.testset)
            errors.append(_rmse(np.array([p.est for p in predictions]), fold.ratings))
        return float(np.mean(errors))

    return run


def _timed(fn: Callable[[], float]) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def run(repeats: int = 1, models: tuple[str, ...] = ("svd", "svdpp"), data: Any = None
        ) -> tuple[list[RatingBenchRow], str | None]:
    """One row per model (median seconds of ``repeats`` whole cross-validations per side, in
    alternating order), and a note when scikit-surprise is not installed (else None).
    ``data``: rated Interactions to use instead of :func:`bench_data`."""
    version = surprise_version()
    if data is None:
        data, shape = bench_data()
    else:
        shape = f"{data.name}: {data.n_users:,} x {data.n_items:,}, {len(data):,} ratings, {FOLDS} folds"
    with limited_threads(1):
        prepared = folds(data, with_surprise=version is not None)
        rows = []
        for name in models:
            sides = [ours(name, prepared)] + ([theirs(name, prepared)] if version else [])
            times: list[list[float]] = [[] for _ in sides]
            rmse = [float("nan")] * 2
            for round_ in range(repeats):
                for which in (range(len(sides)) if round_ % 2 == 0 else reversed(range(len(sides)))):
                    seconds, rmse[which] = _timed(sides[which])
                    times[which].append(seconds)
            alternative = f"scikit-surprise {version} {SURPRISE_NAMES[name]}" if version else "scikit-surprise (not installed)"
            alt_s = statistics.median(times[1]) if version else float("nan")
            rows.append(RatingBenchRow(f"{name} {FOLDS}-fold CV, fit + test", shape, statistics.median(times[0]),
                                       alternative, alt_s, TARGETS[name], rmse[0], rmse[1]))
    return rows, None if version else NOT_INSTALLED
