"""recplug: honest, reproducible full-ranking evaluation of recommender models.

The Python API (imported on first use): :func:`evaluate`, :class:`Leaderboard`,
:class:`EvaluationResult` (:mod:`recplug.api`), :func:`load_dataset` (:mod:`recplug.data`),
:func:`recommend` (:mod:`recplug.recommend`), :func:`load_model` (:mod:`recplug.saved_models`).
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("recplug")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

_LAZY = {"evaluate": "recplug.api", "Leaderboard": "recplug.api", "EvaluationResult": "recplug.api",
         "load_dataset": "recplug.data", "recommend": "recplug.recommend",
         "load_model": "recplug.saved_models"}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'recplug' has no attribute {name!r}")
