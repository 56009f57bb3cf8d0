"""Small checks the built-in models share."""

from __future__ import annotations

import os
from typing import Any

from recplug.contract import ScoreBatch
from recplug.errors import ModelError


def check_fitted(model: Any, attribute: str) -> None:
    """ModelError when ``model`` has no learned ``attribute`` yet (score before fit)."""
    if not hasattr(model, attribute):
        raise ModelError(f"{type(model).__name__}.score was called before fit")


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
