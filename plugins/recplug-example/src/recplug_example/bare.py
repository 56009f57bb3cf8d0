"""The same idea on the bare contract only: no recplug base class, every part written out.

A model is any class with ``recplug_api``, ``tags``, ``parameter_constraints``,
``__init__(**hyperparameters)``, ``get_params()``, ``fit(train, options)`` and
``score(batch)``; ``save``/``load`` are optional. This one scores items by how many
training interactions they had in the last ``window`` time units.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from recplug.contract import RECPLUG_API, Tags
from recplug.errors import DataError, ModelError
from recplug.training.constraints import Real, check_model_params

_FORMAT = "recplug-example/recent-count"


class RecentCount:
    """Interactions per item within ``window`` time units of the last training timestamp."""

    recplug_api = RECPLUG_API
    tags = Tags(needs_timestamps=True, iterative=False)
    parameter_constraints = {"window": Real(0, None, closed="neither", search=(3_600.0, 3.2e7, "log"))}

    def __init__(self, window: float = 30 * 86_400.0):
        self.window = window

    def get_params(self) -> dict[str, Any]:
        return {"window": self.window}

    def fit(self, train: Any, options: Any) -> "RecentCount":
        check_model_params(type(self), self.get_params())
        if train.timestamps is None:
            raise DataError("RecentCount needs timestamps; this dataset has none")
        ts = train.timestamps
        recent = ts >= (ts.max() - self.window) if len(ts) else np.zeros(0, bool)
        self.counts_ = np.bincount(train.interactions.items[recent],
                                   minlength=train.n_items).astype(np.float32)
        return self

    def score(self, batch: Any) -> np.ndarray:
        if not hasattr(self, "counts_"):
            raise ModelError("RecentCount.score was called before fit")
        return np.tile(self.counts_, (len(batch), 1))

    def save(self, path: str | Path) -> None:
        header = json.dumps({"format": _FORMAT, "params": self.get_params()})
        with open(path, "wb") as fh:
            np.savez(fh, header=np.array(header), counts=self.counts_)

    @classmethod
    def load(cls, path: str | Path) -> "RecentCount":
        try:
            with np.load(path, allow_pickle=False) as data:
                header, counts = json.loads(str(data["header"])), data["counts"]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"{path} is not a RecentCount file ({exc})") from exc
        if header.get("format") != _FORMAT:
            raise ModelError(f"{path} is not a RecentCount file (format {header.get('format')!r})")
        model = cls(**header["params"])
        model.counts_ = counts
        return model


__all__ = ["RecentCount"]
