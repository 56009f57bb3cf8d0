"""Most-popular baseline: every user gets the same scores."""

from __future__ import annotations

import numpy as np

from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.models._common import check_batch, check_fitted


class Popularity(Model):
    """Scores each item by the number of distinct training users who interacted with it.

    No hyperparameters. Scores are float32 ``[B, n_items]`` NumPy arrays.
    """

    tags = Tags()

    def __init__(self) -> None:
        pass

    def fit(self, train: TrainData, options: FitOptions) -> "Popularity":
        self.popularity_ = train.item_popularity().astype(np.float32)
        return self

    def score(self, batch: ScoreBatch) -> np.ndarray:
        check_fitted(self, "popularity_")
        check_batch(self, batch, len(self.popularity_))
        return np.repeat(self.popularity_[None, :], len(batch), axis=0)
