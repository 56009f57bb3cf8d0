"""The base of the non-torch models: declared parameters checked, fitted state kept as
named NumPy arrays (or SciPy CSR matrices), save/load of those arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.models._common import check_batch, check_fitted
from recplug.models._files import SavedModel
from recplug.training.constraints import check_model_params

_CSR_PARTS = ("data", "indices", "indptr")


class ArrayModel(SavedModel, Model):
    """``fit`` = check the hyperparameters -> ``learn(train, options)``; ``score`` = check the
    batch -> ``scores(batch)``. The attributes named in ``fitted_arrays`` are the fitted
    state that ``save``/``load`` keep. Also fitted: ``shapes_`` (``n_users``, ``n_items``)
    and ``threads_`` (``FitOptions.threads``, for the kernels; 0 after ``load``). The tags
    default to ``Tags(iterative=False)``: such models fit in one pass, not in epochs.
    """

    tags = Tags(iterative=False)
    fitted_arrays: tuple[str, ...] = ()

    def learn(self, train: TrainData, options: FitOptions) -> None:  # pragma: no cover
        """Set the attributes named in ``fitted_arrays``."""
        raise NotImplementedError

    def scores(self, batch: ScoreBatch) -> np.ndarray:  # pragma: no cover
        """Float32 ``[len(batch), n_items]``."""
        raise NotImplementedError

    def fit(self, train: TrainData, options: FitOptions) -> "ArrayModel":
        check_model_params(type(self), self.get_params())
        self.threads_ = int(options.threads or 0)
        self.learn(train, options)
        self.shapes_ = {"n_users": int(train.n_users), "n_items": int(train.n_items)}
        return self

    def score(self, batch: ScoreBatch) -> np.ndarray:
        check_fitted(self, "shapes_")
        check_batch(self, batch, self.shapes_["n_items"])
        return self.scores(batch)

    def fitted_state(self) -> tuple[dict[str, int], dict[str, Any]]:
        check_fitted(self, "shapes_", "save")
        arrays: dict[str, np.ndarray] = {}
        for name in self.fitted_arrays:
            value = getattr(self, name)
            if sp.issparse(value):
                arrays.update({f"{name}.{part}": getattr(value, part) for part in _CSR_PARTS})
                arrays[f"{name}.shape"] = np.array(value.shape, dtype=np.int64)
            else:
                arrays[name] = value
        return self.shapes_, arrays

    def restore(self, shapes: dict[str, int], arrays: dict[str, Any], device: str) -> None:
        for name in self.fitted_arrays:
            if f"{name}.shape" in arrays:
                parts = tuple(arrays[f"{name}.{part}"] for part in _CSR_PARTS)
                setattr(self, name, sp.csr_matrix(parts, shape=tuple(arrays[f"{name}.shape"])))
            else:
                setattr(self, name, arrays[name])
        self.shapes_, self.threads_ = dict(shapes), 0
