"""Cutting users into score batches: padded histories, exclusion and target rows."""

from __future__ import annotations

import numpy as np

from recplug.contract import PAD, ScoreBatch


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


def padded_histories(seq_indptr: np.ndarray, seq_items: np.ndarray,
                     users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chronological histories of ``users``: int32 ``[B, L]`` oldest first, PAD-filled, and lengths ``[B]``."""
    starts = seq_indptr[users]
    lengths = (seq_indptr[users + 1] - starts).astype(np.int32)
    width = int(lengths.max()) if len(users) else 0
    histories = np.full((len(users), width), PAD, dtype=np.int32)
    if width:
        cols = np.arange(width)
        mask = cols[None, :] < lengths[:, None]
        source = (starts[:, None] + cols[None, :])[mask]
        histories[mask] = seq_items[source]
    return histories, lengths


def make_batch(users: np.ndarray, seq_indptr: np.ndarray, seq_items: np.ndarray,
               n_items: int, device: str) -> ScoreBatch:
    histories, lengths = padded_histories(seq_indptr, seq_items, users)
    return ScoreBatch(users=np.ascontiguousarray(users, dtype=np.int32), histories=histories,
                      lengths=lengths, n_items=n_items, device=device)
