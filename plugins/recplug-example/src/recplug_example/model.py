"""Time-decayed popularity: recent interactions count more than old ones.

score(item) = sum over the item's training interactions of 0.5 ** (age / half_life),
where age = (last training timestamp - interaction timestamp) / time_unit. Every user
gets the same scores; recplug masks each user's history, which personalises the list.
"""

from __future__ import annotations

import numpy as np

from recplug.contract import RECPLUG_API, FitOptions, ScoreBatch, Tags, TrainData
from recplug.errors import DataError
from recplug.models import ArrayModel
from recplug.training.constraints import Real


class RecencyPopularity(ArrayModel):
    """Popularity with exponential time decay.

    Hyperparameters:
        half_life: how long (in ``time_unit``) until an interaction weighs half as much;
            ``float("inf")`` gives plain popularity. Must be > 0.
        time_unit: timestamp units per half-life unit; the default 86400 reads Unix-second
            timestamps with a half-life in days. Must be > 0.

    ``ArrayModel`` supplies ``fit`` (checks the declared hyperparameters, then calls
    ``learn``), ``score`` (checks the batch, then calls ``scores``), ``get_params`` and
    ``save``/``load`` of the arrays named in ``fitted_arrays``.
    """

    recplug_api = RECPLUG_API          # the contract version this model is written for
    tags = Tags(needs_timestamps=True, iterative=False)  # ranking, not sequential, CPU, no epochs
    # every hyperparameter's type and range; the runner checks them before loading any data
    parameter_constraints = {
        "half_life": Real(0, None, closed="neither", allow_inf=True, search=(1.0, 365.0, "log")),
        "time_unit": Real(0, None, closed="neither"),
    }
    fitted_arrays = ("item_scores_",)  # what save() writes and load() restores

    def __init__(self, half_life: float = 30.0, time_unit: float = 86_400.0):
        # __init__ stores hyperparameters only: no data, no work, no randomness
        self.half_life = half_life
        self.time_unit = time_unit

    def learn(self, train: TrainData, options: FitOptions) -> None:
        """Weights every training interaction by its age (one pass, no epochs)."""
        if train.timestamps is None:
            raise DataError("RecencyPopularity needs timestamps; this dataset has none "
                            "(pick a dataset with timestamps or another model)")
        items = train.interactions.items
        weights = np.zeros(0, dtype=np.float64)
        if len(items):
            age = (train.timestamps.max() - train.timestamps).astype(np.float64) / self.time_unit
            weights = np.exp2(-age / self.half_life)
        self.item_scores_ = np.bincount(items, weights, minlength=train.n_items).astype(np.float32)

    def scores(self, batch: ScoreBatch) -> np.ndarray:
        """The same float32 scores ``[B, n_items]`` for every user of the batch."""
        return np.tile(self.item_scores_, (len(batch), 1))
