"""Seeds for every random number generator a fit touches.

``derive_seed(seed, *keys)`` turns a run seed and any keys (an epoch, a purpose) into an
independent 63-bit seed with NumPy's ``SeedSequence`` hashing, so streams never overlap
and never depend on Python's randomised ``hash``. ``seed_everything`` seeds Python,
NumPy's legacy global generator and torch (CPU and every CUDA device).

There is one recipe: the runner calls ``seed_everything(seed)`` right before a model's
``fit``, and :func:`recplug.training.fit_context` calls it again with the same
``FitOptions.seed``, so a plugin that uses ``fit_context`` and one that skips it start from
identical Python, NumPy and torch streams.
"""

from __future__ import annotations

import random
import zlib

import numpy as np

from recplug.training.constraints import Integer, check_params


def _key(key: int | str) -> int:
    if isinstance(key, str):
        return zlib.crc32(key.encode())
    if isinstance(key, (int, np.integer)) and key >= 0:
        return int(key)
    raise TypeError(f"seed keys must be non-negative ints or strings, got {key!r}")


def derive_seed(seed: int, *keys: int | str) -> int:
    """A seed in ``[0, 2**63)`` that depends only on ``seed`` and ``keys`` (e.g. the epoch)."""
    state = np.random.SeedSequence([_key(seed), *(_key(k) for k in keys)]).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU + all CUDA devices)."""
    import torch

    check_params("seed_everything", {"seed": Integer(0)}, {"seed": seed})
    random.seed(int(seed))
    np.random.seed(derive_seed(seed, "numpy") % (1 << 32))
    torch.manual_seed(derive_seed(seed, "torch"))  # also seeds every CUDA device
