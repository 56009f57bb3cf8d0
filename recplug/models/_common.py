"""Small checks the built-in models share."""

from __future__ import annotations

import os
from typing import Any, Callable

from recplug.contract import ScoreBatch
from recplug.errors import ModelError


def check_fitted(model: Any, attribute: str, action: str = "score") -> None:
    """ModelError when ``model`` has no learned ``attribute`` yet (``action`` before fit)."""
    if not hasattr(model, attribute):
        raise ModelError(f"{type(model).__name__}.{action} was called before fit")


def check_batch(model: Any, batch: ScoreBatch, n_items: int) -> None:
    """ModelError when the batch's item count differs from the one seen at fit time."""
    if batch.n_items != n_items:
        raise ModelError(f"{type(model).__name__} was fitted on {n_items} items but the score "
                         f"batch has {batch.n_items}; score with the item vocabulary of the training data")


def available_memory_bytes() -> int | None:
    """Memory the OS can hand out now (Linux ``MemAvailable``; None when unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


#: rows per forward pass when scoring; a fixed shape keeps every user's scores bit-identical
#: whatever the score batch size (BLAS/cuBLAS pick different kernels for different row counts)
SCORE_BLOCK = 64


def in_fixed_blocks(fn: Callable[[Any], Any], rows: Any, block: int = SCORE_BLOCK) -> Any:
    """``fn`` applied to blocks of exactly ``block`` rows of the tensor ``rows``, concatenated.

    The last block is padded by repeating its final row and the padding is dropped from the
    result, so the scores of a user never depend on which or how many users share its batch.
    """
    import torch

    n = rows.shape[0]
    if n == 0:
        return fn(rows)
    pad = (-n) % block
    if pad:
        rows = torch.cat([rows, rows[-1:].expand(pad, *rows.shape[1:])])
    out = torch.cat([fn(rows[start:start + block]) for start in range(0, len(rows), block)])
    return out[:n]
