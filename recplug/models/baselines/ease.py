"""EASE: embarrassingly shallow autoencoder (Steck, WWW 2019)."""

from __future__ import annotations

import numpy as np
import scipy.linalg.lapack as lapack

from recplug import kernels
from recplug.contract import FitOptions, ScoreBatch, TrainData
from recplug.errors import ModelError
from recplug.models._arrays import ArrayModel
from recplug.models._common import available_memory_bytes
from recplug.training import fit_context
from recplug.training.constraints import Real

#: peak bytes per item pair: the float64 Gram matrix inverted in place + the float32 weights
BYTES_PER_ITEM_PAIR = 12
_ROWS_PER_BLOCK = 1024


def ease_memory_bytes(n_items: int) -> int:
    """Peak memory of :meth:`EASE.fit` in bytes (``12 * n_items**2``)."""
    return BYTES_PER_ITEM_PAIR * n_items * n_items


def ease_weights(x: "object", l2: float) -> np.ndarray:
    """EASE item-item weights ``B = I - P / diag(P)`` with ``P = (XᵀX + l2·I)⁻¹``, diag(B) = 0.

    ``x`` is the binary user x item CSR. Returns float32 ``[n_items, n_items]``. The Gram
    matrix is built dense in float64 and inverted in place by Cholesky (LAPACK potrf/potri).
    """
    n = x.shape[1]
    x = x.astype(np.float64)
    xt = x.T.tocsr()
    gram = np.empty((n, n), dtype=np.float64, order="F")
    for start in range(0, n, _ROWS_PER_BLOCK):
        stop = min(start + _ROWS_PER_BLOCK, n)
        gram[start:stop] = (xt[start:stop] @ x).toarray()
    gram[np.diag_indices(n)] += l2
    factor, info = lapack.dpotrf(gram, lower=0, clean=0, overwrite_a=1)
    if info != 0:
        raise ModelError(f"EASE: the regularised Gram matrix is not positive definite (LAPACK info {info}); "
                         "raise l2")
    inverse, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        raise ModelError(f"EASE: inverting the Gram matrix failed (LAPACK info {info}); raise l2")
    # potri fills the upper triangle only: mirror it, a block of rows at a time (no n^2 temporaries)
    for start in range(0, n, _ROWS_PER_BLOCK):
        stop = min(start + _ROWS_PER_BLOCK, n)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        block = inverse[start:stop, start:stop]
        block[np.tril_indices(stop - start, -1)] = block.T[np.tril_indices(stop - start, -1)]
    scale = -1.0 / np.diag(inverse)
    weights = np.empty((n, n), dtype=np.float32)
    for start in range(0, n, _ROWS_PER_BLOCK):
        stop = min(start + _ROWS_PER_BLOCK, n)
        weights[start:stop] = inverse[start:stop] * scale[None, :]
    weights[np.diag_indices(n)] = 0.0
    return weights


class EASE(ArrayModel):
    """Closed-form linear item-item model with a zero diagonal (Steck 2019).

    ``l2`` is the ridge weight λ (paper default 500; small datasets such as ML-100k
    often prefer 250-500). ``max_memory_gb`` caps the memory the fit may take: EASE
    needs about ``12 * n_items²`` bytes and refuses (ModelError) above that cap or
    above the memory available now. Scores are ``history @ B``, float32 NumPy ``[B, n_items]``.
    """

    parameter_constraints = {
        "l2": Real(0, None, closed="neither", search=(1.0, 5000.0, "log")),  # keeps XᵀX + l2·I invertible
        "max_memory_gb": Real(0, None, closed="neither"),
    }
    fitted_arrays = ("weights_",)

    def __init__(self, l2: float = 500.0, max_memory_gb: float = 8.0):
        self.l2 = l2
        self.max_memory_gb = max_memory_gb

    def _check_memory(self, n_items: int) -> None:
        need = ease_memory_bytes(n_items)
        gb = need / 1e9
        hint = ("filter rare items (e.g. keep items with >= 5 interactions) to shrink the catalogue, "
                "or use itemknn, which stores only k neighbours per item")
        if need > self.max_memory_gb * 1e9:
            raise ModelError(f"EASE needs about {gb:.1f} GB for {n_items:,} items (12 bytes x n_items²) "
                             f"but max_memory_gb={self.max_memory_gb:g}; raise max_memory_gb if the machine "
                             f"has the memory, or {hint}")
        available = available_memory_bytes()
        if available is not None and need > available:
            raise ModelError(f"EASE needs about {gb:.1f} GB for {n_items:,} items (12 bytes x n_items²) "
                             f"but only {available / 1e9:.1f} GB of memory is available; {hint}")

    def learn(self, train: TrainData, options: FitOptions) -> None:
        self._check_memory(train.n_items)
        with fit_context(options, supports_cuda=self.tags.supports_cuda):
            self.weights_ = ease_weights(train.csr, float(self.l2))

    def scores(self, batch: ScoreBatch) -> np.ndarray:
        return kernels.spmm(batch.history_csr(), self.weights_, threads=self.threads_)
