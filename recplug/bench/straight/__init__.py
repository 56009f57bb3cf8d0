"""The straightforward alternatives of ``recplug bench train``: one module per model.

``recplug bench train NAME`` times the model registered as ``NAME`` (loaded through
:func:`recplug.discovery.load_model_class`) for one epoch of its own ``fit`` against
``recplug.bench.straight.NAME``, found by its file name (adding a module here adds a
choice; nothing else is edited). A straight module is the *same* network, loss, batch size
and optimizer trained one epoch the way most code does (NumPy negatives, a default
``torch.utils.data.DataLoader``, dense rows built per batch in Python). It defines:

- ``TARGET: float`` -- the speed-up to reach, straightforward seconds / ours (> 0).
- ``one_epoch(train: TrainData, params: dict, *, seed: int, threads: int) -> None`` --
  build the network and train it one epoch on ``train``. ``params`` is the model's full
  ``get_params()`` (its defaults, then ``PARAMS``, then the caller's overrides); ``seed``
  seeds torch and NumPy; ``threads`` is the CPU thread count, already applied to torch's
  and the BLAS pools by the harness (pass it on to anything with its own pool).
- ``PARAMS: dict`` (optional) -- hyperparameters of the benchmark that differ from the
  model's defaults (e.g. ``{"factors": 64, "batch_size": 1024}``), used by both sides.
- ``ALTERNATIVE: str`` (optional) -- how the straightforward side trains, for the report
  (default :data:`DEFAULT_ALTERNATIVE`).
- ``LABEL: str`` (optional) -- the settings worth printing in the row's shape (default: the
  batch size).

Both sides time one full epoch including building the network; see
:mod:`recplug.bench.train`. Shared by the straight modules: :func:`numpy_negatives`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from recplug.errors import ConfigError

DEFAULT_ALTERNATIVE = "torch DataLoader(TensorDataset) + NumPy negatives"


@dataclass(frozen=True)
class Straight:
    """A checked straight module: what :mod:`recplug.bench.train` needs of it."""

    name: str
    target: float
    one_epoch: Callable[..., None]
    params: dict[str, Any] = field(default_factory=dict)
    alternative: str = DEFAULT_ALTERNATIVE
    label: str = ""


def available() -> list[str]:
    """Names of the straight modules found in this package, sorted (nothing is imported)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load(name: str) -> Straight:
    """Import and check ``recplug.bench.straight.<name>``.

    Raises ConfigError for a name without a module (listing those available) and for a
    module that breaks the contract above (naming what is wrong).
    """
    names = available()
    if name not in names:
        raise ConfigError(f"model must be one with a straightforward alternative ({', '.join(names)}), "
                          f"got {name!r}")
    module = importlib.import_module(f"{__name__}.{name}")
    where = f"{module.__name__} ({getattr(module, '__file__', '?')})"
    target = getattr(module, "TARGET", None)
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not target > 0:
        raise ConfigError(f"{where}: TARGET must be a number > 0, got {target!r}")
    one_epoch = getattr(module, "one_epoch", None)
    if not callable(one_epoch):
        raise ConfigError(f"{where}: one_epoch(train, params, *, seed, threads) is missing")
    params = getattr(module, "PARAMS", {})
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: PARAMS must be a dict of hyperparameters, got {params!r}")
    alternative = getattr(module, "ALTERNATIVE", DEFAULT_ALTERNATIVE)
    label = getattr(module, "LABEL", "")
    for attr, value in (("ALTERNATIVE", alternative), ("LABEL", label)):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {attr} must be a string, got {value!r}")
    return Straight(name, float(target), one_epoch, dict(params), alternative, label)


def numpy_negatives(dense_positives: np.ndarray, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform negative per row of ``users``, resampled while it hits a positive (NumPy)."""
    n_items = dense_positives.shape[1]
    negatives = rng.integers(0, n_items, size=len(users))
    bad = dense_positives[users, negatives]
    while bad.any():
        negatives[bad] = rng.integers(0, n_items, size=int(bad.sum()))
        bad = dense_positives[users, negatives]
    return negatives
