"""Item-based k-nearest neighbours with shrunk cosine similarity (Sarwar et al. 2001)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recplug import kernels
from recplug.contract import FitOptions, ScoreBatch, TrainData
from recplug.models._arrays import ArrayModel
from recplug.training.constraints import Integer, Real

#: co-occurrence entries computed at once while building (bounds the temporary memory)
_BLOCK_ENTRIES = 1 << 24


def top_k_per_row(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each row (ties: lower column first), vectorised."""
    m = m.tocsr()
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    order = np.lexsort((m.indices, -m.data, rows))  # by row, then value desc, then column
    rows, cols, vals = rows[order], m.indices[order], m.data[order]
    rank = np.arange(len(rows)) - m.indptr[rows]
    keep = rank < k
    return sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=m.shape)


class ItemKNN(ArrayModel):
    """Shrunk cosine item-item similarity, the ``k`` nearest neighbours of each item.

    ``sim(i, j) = |U_i ∩ U_j| / (sqrt(|U_i|) sqrt(|U_j|) + shrink)`` over the binary
    training matrix, self-similarity excluded. For each target item ``j`` only its ``k``
    most similar items are kept (ties: lower index first). A user's score for ``j`` is the
    sum of the similarities between ``j`` and the items in the user's history.

    The similarity matrix is built in column blocks (temporary memory bounded by about
    16M co-occurrence entries) and stored sparse: ``neighbors_`` is a CSR
    ``[n_items, n_items]`` whose row ``j`` holds ``j``'s neighbours. Scores are float32
    NumPy ``[B, n_items]``.
    """

    parameter_constraints = {
        "k": Integer(1, None, search=(10, 1000, "log")),
        "shrink": Real(0, None, search=(0.0, 100.0)),
    }
    fitted_arrays = ("neighbors_",)

    def __init__(self, k: int = 100, shrink: float = 10.0):
        self.k = k
        self.shrink = shrink

    def learn(self, train: TrainData, options: FitOptions) -> None:
        x = train.csr.astype(np.float64)
        n_items = train.n_items
        xt = x.T.tocsr()                                        # item x user
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())     # sqrt(|U_i|)
        block = max(1, _BLOCK_ENTRIES // max(n_items, 1))
        parts = []
        for start in range(0, n_items, block):
            stop = min(start + block, n_items)
            co = (xt[start:stop] @ x).tocoo()                   # targets [start, stop) x items
            target = co.row + start
            keep = co.col != target
            rows, cols, counts = co.row[keep], co.col[keep], co.data[keep]
            sims = counts / (norms[target[keep]] * norms[cols] + self.shrink)
            sim = sp.csr_matrix((sims, (rows, cols)), shape=(stop - start, n_items))
            parts.append(top_k_per_row(sim, int(self.k)))
        neighbors = sp.vstack(parts, format="csr") if parts else sp.csr_matrix((0, n_items))
        neighbors.sort_indices()
        self.neighbors_ = sp.csr_matrix(
            (neighbors.data.astype(np.float32), neighbors.indices.astype(np.int32),
             neighbors.indptr.astype(np.int64)), shape=(n_items, n_items))

    def scores(self, batch: ScoreBatch) -> np.ndarray:
        history_t = np.ascontiguousarray(batch.history_csr().toarray().T, dtype=np.float32)
        scores_t = kernels.spmm(self.neighbors_, history_t, threads=self.threads_)  # [n_items, B]
        return np.ascontiguousarray(scores_t.T)
