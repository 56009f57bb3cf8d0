"""Leak-checked train/validation/test splits (DESIGN.md §4).

``make_split(data, method, seed=0, **params)`` is the one entry point; ``SPLITS`` names
the methods with a one-line description (the CLI help prints it).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from recplug.data.interactions import Interactions
from recplug.errors import ConfigError, SplitError
from recplug.splits import cold_items, kfold, loo, presplit, ratio, temporal, temporal_user
from recplug.splits._common import check_ratios
from recplug.splits.base import Split

SPLITS: dict[str, str] = {
    "loo": "leave-one-out: each user's last interaction is the test target, the one before it "
           "validation (users with < 3 interactions stay in train)",
    "temporal": "global time split at the valid_from/test_from quantiles (default 0.8/0.9); "
                "targets are new items of users seen before the window",
    "temporal-user": "per-user chronological 80/10/10 split (leaks across users)",
    "ratio": "seeded random per-interaction 80/10/10 split",
    "presplit": "the dataset's own train/test files (LightGCN); each user's last train "
                "interaction becomes validation",
    "kfold": "rating task: seeded k-fold cross-validation of the ratings (Surprise's KFold); "
             "validation is a seeded 10% of the training fold",
    "cold-items": "seeded fraction of items (default 0.2) held out entirely: half give the "
                  "validation targets, half the test targets; every target is cold",
}

_METHODS: dict[str, tuple[Callable[..., Split], dict[str, object]]] = {
    "loo": (loo.split, loo.PARAMS),
    "temporal": (temporal.split, temporal.PARAMS),
    "temporal-user": (temporal_user.split, temporal_user.PARAMS),
    "ratio": (ratio.split, ratio.PARAMS),
    "presplit": (presplit.split, presplit.PARAMS),
    "kfold": (kfold.split, kfold.PARAMS),
    "cold-items": (cold_items.split, cold_items.PARAMS),
}


def check_split(method: str, params: dict[str, Any]) -> None:
    """Check a split method and its parameters without data: ConfigError naming ``split``
    (an unknown method) or the parameter (an unknown name, a value out of range)."""
    if method not in _METHODS:
        raise ConfigError(f"split {method!r} is unknown; use one of: {', '.join(_METHODS)}")
    try:
        _check_params(method, params)
    except SplitError as exc:
        raise ConfigError(str(exc)) from None


def _check_params(method: str, params: dict[str, Any]) -> None:
    defaults = _METHODS[method][1]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        valid = ", ".join(f"{k}={v!r}" for k, v in defaults.items()) or "none"
        raise SplitError(f"split {method!r} has no parameter {', '.join(map(repr, unknown))}; "
                         f"valid parameters: {valid}")
    if method == "temporal":
        temporal.check_params(**params)
    elif method == "kfold":
        kfold.check_params(**params)
    elif method == "cold-items":
        cold_items.check_params(**params)
    elif "ratios" in params:
        check_ratios(params["ratios"], method)


def make_split(data: Any, method: str, *, seed: int = 0, **params: Any) -> Split:
    """Split ``data`` (a :class:`~recplug.data.Dataset` or :class:`Interactions`) by ``method``.

    Parameters per method (defaults): temporal: ``valid_from=0.8, test_from=0.9,
    target="all"|"next"``; temporal-user and ratio: ``ratios=(0.8, 0.1, 0.1)``; kfold (needs
    ratings): ``folds=5, fold=0, validation=0.1`` (see :mod:`recplug.splits.kfold`);
    cold-items: ``fraction=0.2`` (see :mod:`recplug.splits.cold_items`). Every
    split runs the leakage checks of :mod:`recplug.splits.checks` before it is returned.
    """
    if method not in _METHODS:
        raise SplitError(f"unknown split {method!r}; use one of: {', '.join(_METHODS)}")
    function, _ = _METHODS[method]
    _check_params(method, params)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SplitError(f"seed must be an integer, got {seed!r}")
    interactions, predefined = _unwrap(data)
    if method == "presplit":
        result = function(interactions, seed=seed, predefined=predefined, **params)
    else:
        result = function(interactions, seed=seed, **params)
    items = getattr(data, "items", None)
    return result if items is None else replace(result, items=items)


def _unwrap(data: Any) -> tuple[Interactions, dict | None]:
    if isinstance(data, Interactions):
        return data, None
    interactions = getattr(data, "interactions", None)
    if isinstance(interactions, Interactions):
        return interactions, getattr(data, "predefined", None)
    raise SplitError(f"make_split needs a Dataset or Interactions, got {type(data).__name__}")


__all__ = ["SPLITS", "Split", "check_split", "make_split"]
