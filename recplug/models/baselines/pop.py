"""Most-popular baseline: every user gets the same scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.models._common import check_batch, check_fitted
from recplug.models._files import SavedModel


class Popularity(SavedModel, Model):
    """Scores each item by the number of distinct training users who interacted with it.

    No hyperparameters. Scores are float32 ``[B, n_items]`` NumPy arrays.
    """

    tags = Tags(iterative=False)
    parameter_constraints: dict = {}

    def __init__(self) -> None:
        pass

    def fit(self, train: TrainData, options: FitOptions) -> "Popularity":
        self.popularity_ = train.item_user_counts().astype(np.float32)
        self.n_users_ = int(train.n_users)
        return self

    def score(self, batch: ScoreBatch) -> np.ndarray:
        check_fitted(self, "popularity_")
        check_batch(self, batch, len(self.popularity_))
        return np.repeat(self.popularity_[None, :], len(batch), axis=0)

    def fitted_state(self) -> tuple[dict[str, int], dict[str, Any]]:
        check_fitted(self, "popularity_", "save")
        return {"n_users": self.n_users_, "n_items": len(self.popularity_)}, {"popularity": self.popularity_}

    def restore(self, shapes: dict[str, int], arrays: dict[str, Any], device: str) -> None:
        self.popularity_, self.n_users_ = arrays["popularity"].astype(np.float32), shapes["n_users"]
