"""Most-popular baseline: every user gets the same scores."""

from __future__ import annotations

import numpy as np

from recplug.contract import FitOptions, ScoreBatch, TrainData
from recplug.models._arrays import ArrayModel


class Popularity(ArrayModel):
    """Scores each item by the number of distinct training users who interacted with it.

    No hyperparameters. Scores are float32 ``[B, n_items]`` NumPy arrays.
    """

    parameter_constraints: dict = {}
    fitted_arrays = ("popularity_",)

    def __init__(self) -> None:
        pass

    def learn(self, train: TrainData, options: FitOptions) -> None:
        self.popularity_ = train.item_user_counts().astype(np.float32)

    def scores(self, batch: ScoreBatch) -> np.ndarray:
        return np.repeat(self.popularity_[None, :], len(batch), axis=0)
