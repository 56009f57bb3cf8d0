"""Cutting users into score batches and selecting their exclusion and target rows."""

from __future__ import annotations

import numpy as np

from recplug.contract import ScoreBatch


def csr_rows(indptr: np.ndarray, items: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Select ``rows`` of a CSR (int64 indptr, int32 items) -> a new CSR, rows in the given order."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    out_indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_indptr[1:])
    total = int(out_indptr[-1])
    if total == 0:
        return out_indptr, np.zeros(0, dtype=np.int32)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(out_indptr[:-1], lengths)
    source = np.repeat(starts, lengths) + offsets
    return out_indptr, np.ascontiguousarray(items[source], dtype=np.int32)


def make_batch(users: np.ndarray, seq_indptr: np.ndarray, seq_items: np.ndarray,
               n_items: int, device: str) -> ScoreBatch:
    """A score batch whose padded histories are only built if the model reads them."""
    return ScoreBatch.from_sequences(users, seq_indptr, seq_items, n_items, device)
