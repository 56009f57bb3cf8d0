"""Rating prediction: RMSE, MAE and FCP on the held-out (user, item, rating) rows (DESIGN.md §5).

:func:`evaluate_rating` asks the model for ``predict(users int32 [n], items int32 [n]) ->
float32 [n]`` on every held-out row (validation or test rows, repeats included), in
batches, and

- clips the predictions to the rating scale of the data the model was fitted on
  (``[min, max]`` of its ratings, e.g. 1..5 or 0.5..5);
- counts the predictions for users or items without a rating in that data
  (``summary["fallback_predictions"]``): the model answers them with its fallback (global
  mean plus the biases it knows), the evaluator only counts;
- reports ``RMSE`` and ``MAE`` over all held-out ratings (as Surprise's ``accuracy``) and
  ``FCP`` (Koren's fraction of concordant pairs, computed as Surprise does: per user,
  over the pairs of its held-out ratings that differ, a pair is concordant when the
  higher rating got the strictly higher prediction and discordant otherwise; the mean
  concordant count over users with any concordant pair, divided by the sum of that mean
  and the mean discordant count over users with any discordant pair);
- keeps per user (the users with a held-out rating) the mean squared and the mean
  absolute error (``per_user["squared_error"]``, ``per_user["absolute_error"]``): the
  leaderboard's paired tests compare models on them.

Lower is better for RMSE and MAE (:func:`recplug.vocabulary.higher_is_better`).
Results do not depend on the batch size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from recplug.data.interactions import Interactions
from recplug.errors import ConfigError, DataError, EvaluationError
from recplug.evaluation.collector import EvalResult
from recplug.splits.base import Split
from recplug.vocabulary import RATING_METRICS, RATING_PER_USER, RATING_PROTOCOL, higher_is_better

__all__ = ["RatingConfig", "RatingValidator", "check_rating_model", "evaluate_rating",
           "fcp", "not_a_rating_model", "rating_metric", "rating_scale"]


@dataclass(frozen=True)
class RatingConfig:
    """How to evaluate rating predictions. ``batch_size``: (user, item) rows per
    ``predict`` call; results do not depend on it."""

    batch_size: int = 65536

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")


def not_a_rating_model(model: Any) -> str | None:
    """Why ``model`` (a class or an instance) cannot predict ratings, e.g.
    ``"tags.task='ranking', no predict"``; None for a rating model (``tags.task ==
    "rating"`` and a ``predict``)."""
    task = getattr(getattr(model, "tags", None), "task", "ranking")
    has_predict = callable(getattr(model, "predict", None))
    if task == "rating" and has_predict:
        return None
    return f"tags.task={task!r}" + ("" if has_predict else ", no predict")


def check_rating_model(model: Any) -> None:
    """EvaluationError unless ``model`` (a class or an instance) is a rating model."""
    why = not_a_rating_model(model)
    if why is not None:
        cls = model if isinstance(model, type) else type(model)
        raise EvaluationError(
            f"{cls.__name__} is a ranking model ({why}); the rating task needs a model with "
            "tags.task='rating' and predict(users, items); evaluate it under the ranking protocol instead")


def rating_scale(train: Interactions) -> tuple[float, float]:
    """``(lowest, highest)`` rating of ``train``: the scale predictions are clipped to."""
    if train.ratings is None or len(train.ratings) == 0:
        raise DataError(f"{train.name!r} has no ratings to read the rating scale from; the rating "
                        "task needs rated training data (map a rating column with columns rating=COL)")
    return float(train.ratings.min()), float(train.ratings.max())


def _predictions(model: Any, users: np.ndarray, items: np.ndarray, batch_size: int) -> np.ndarray:
    """The model's checked float32 predictions for every row, ``batch_size`` rows per call."""
    name = type(model).__name__
    out = np.empty(len(users), dtype=np.float32)
    for start in range(0, len(users), batch_size):
        stop = min(start + batch_size, len(users))
        raw = model.predict(users[start:stop], items[start:stop])
        if hasattr(raw, "detach"):  # a torch tensor, on any device
            raw = raw.detach().cpu().numpy()
        if not isinstance(raw, np.ndarray):
            raise EvaluationError(f"{name}.predict returned {type(raw).__name__}; expected a float32 "
                                  "numpy array (or torch tensor) with one prediction per row")
        if raw.shape != (stop - start,):
            raise EvaluationError(f"{name}.predict returned shape {raw.shape}, expected "
                                  f"({stop - start},) = one prediction per (user, item) row")
        if raw.dtype != np.float32:
            raise EvaluationError(f"{name}.predict returned {raw.dtype}; the contract asks for float32")
        bad = ~np.isfinite(raw)
        if bad.any():
            row = start + int(np.flatnonzero(bad)[0])
            raise EvaluationError(f"{name}.predict returned {int(bad.sum())} non-finite prediction(s) "
                                  f"(NaN or ±inf), first for user {int(users[row])}, item "
                                  f"{int(items[row])}; predictions must be finite")
        out[start:stop] = raw
    return out


def _unseen(train: Interactions, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Bool per row: its user or its item has no row in ``train`` (the model's fallback)."""
    known_users = np.bincount(train.users, minlength=train.n_users) > 0
    known_items = np.bincount(train.items, minlength=train.n_items) > 0
    return ~known_users[users] | ~known_items[items]


def _user_groups(users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct users increasing, row order grouping them, group starts incl. the end)."""
    order = np.argsort(users, kind="stable")
    sorted_users = users[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_users[1:] != sorted_users[:-1]]))
    return sorted_users[starts], order, np.append(starts, len(users))


def fcp(users: np.ndarray, ratings: np.ndarray, predictions: np.ndarray) -> float:
    """Fraction of concordant pairs, as Surprise's ``accuracy.fcp`` (see the module doc);
    NaN when no user has two held-out ratings that differ."""
    _, order, bounds = _user_groups(np.asarray(users))
    concordant, discordant = [], []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        rows = order[start:stop]
        r = ratings[rows].astype(np.float64)
        p = predictions[rows].astype(np.float64)
        nc = nd = 0
        for block in range(0, len(rows), 1024):  # bounds memory for users with many ratings
            higher = r[block:block + 1024, None] > r[None, :]
            nc += int(np.count_nonzero(higher & (p[block:block + 1024, None] > p[None, :])))
            nd += int(np.count_nonzero(higher & (p[block:block + 1024, None] <= p[None, :])))
        if nc:
            concordant.append(nc)
        if nd:
            discordant.append(nd)
    mean_c = float(np.mean(concordant)) if concordant else 0.0
    mean_d = float(np.mean(discordant)) if discordant else 0.0
    return mean_c / (mean_c + mean_d) if mean_c + mean_d > 0 else float("nan")


def evaluate_rating(model: Any, split: Split, which: str = "test", *,
                    config: RatingConfig = RatingConfig(), train: Interactions | None = None) -> EvalResult:
    """RMSE, MAE and FCP of ``model``'s predictions for the ``which`` rows of ``split``.

    ``train`` is what the model was fitted on (default ``split.train``; pass
    ``split.history("test")`` after a refit on train + validation): it gives the rating scale
    and which users and items are unseen. ``summary`` holds ``RMSE``, ``MAE``, ``FCP`` and
    ``fallback_predictions``; ``per_user`` the users' mean squared and absolute errors.
    """
    start_time = time.perf_counter()
    check_rating_model(model)
    train = split.train if train is None else train
    held_out = split.rows(which)
    if held_out.ratings is None:
        raise DataError(f"split {split.name!r} has no ratings in its {which} rows; the rating task "
                        "needs rated data (map a rating column with columns rating=COL)")
    if len(held_out) == 0:
        raise EvaluationError(f"split {split.name!r} has no {which} ratings to predict")
    low, high = rating_scale(train)
    users, items, ratings = held_out.users, held_out.items, held_out.ratings
    predicted = np.clip(_predictions(model, users, items, config.batch_size), low, high)
    error = predicted.astype(np.float64) - ratings.astype(np.float64)
    evaluated, order, bounds = _user_groups(users)
    per_user = {
        RATING_PER_USER["RMSE"]: np.add.reduceat(error[order] ** 2, bounds[:-1]) / np.diff(bounds),
        RATING_PER_USER["MAE"]: np.add.reduceat(np.abs(error[order]), bounds[:-1]) / np.diff(bounds),
    }
    fallback = int(np.count_nonzero(_unseen(train, users, items)))
    summary = {"RMSE": float(np.sqrt(np.mean(error ** 2))), "MAE": float(np.mean(np.abs(error))),
               "FCP": fcp(users, ratings, predicted), "fallback_predictions": fallback}
    return EvalResult(which=which, protocol=RATING_PROTOCOL, users=evaluated.astype(np.int32),
                      per_user={k: v.astype(np.float32) for k, v in per_user.items()},
                      summary=summary, boundary_tie_rate=None,
                      seconds=time.perf_counter() - start_time,
                      info={"n_users": int(len(evaluated)), "n_ratings": int(len(held_out)),
                            "rating_scale": [low, high], "fallback_predictions": fallback})


def rating_metric(name: Any) -> str:
    """The canonical name of a rating metric (``"rmse"`` -> ``"RMSE"``); ConfigError naming
    ``validation_metric`` for anything else."""
    names = {m.lower(): m for m in RATING_METRICS}
    if not isinstance(name, str) or name.strip().lower() not in names:
        raise ConfigError(f"validation_metric {name!r} is not a rating metric; under the rating task "
                          f"use one of {', '.join(RATING_METRICS)} (default RMSE)")
    return names[name.strip().lower()]


class RatingValidator:
    """The early-stopping hook of rating models: ``metric`` (RMSE, MAE or FCP) of the
    model's predictions for ``split.validation``. ``higher_is_better`` is False for RMSE
    and MAE, so the Trainer keeps the lowest."""

    def __init__(self, split: Split, metric: str = "RMSE", config: RatingConfig | None = None):
        self.metric = rating_metric(metric)
        self.higher_is_better = higher_is_better(self.metric)
        self.split = split
        self.config = config or RatingConfig()
        self.history: list[float] = []

    @property
    def available(self) -> bool:
        """False when the split has no validation ratings (early stopping impossible)."""
        return len(self.split.validation) > 0 and self.split.validation.ratings is not None

    def __call__(self, model: Any) -> float:
        value = evaluate_rating(model, self.split, "valid", config=self.config).summary[self.metric]
        self.history.append(value)
        return value
