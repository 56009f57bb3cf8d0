"""Parsing ``--set key=value`` hyperparameter overrides."""

from __future__ import annotations

import json
from typing import Any

from recplug.errors import ConfigError


def parse_value(text: str) -> Any:
    """JSON literal when it parses (``3``, ``0.5``, ``true``, ``[1,2]``, ``null``), else the string."""
    lowered = {"true": "true", "false": "false", "none": "null", "null": "null"}.get(text.lower(), text)
    try:
        return json.loads(lowered)
    except json.JSONDecodeError:
        return text


def parse_overrides(items: list[str]) -> dict[str | None, dict[str, Any]]:
    """``["lr=0.01", "sasrec.max_len=50"]`` -> ``{None: {"lr": 0.01}, "sasrec": {"max_len": 50}}``.

    Unscoped keys apply to every model that has that hyperparameter; scoped ones
    (``model.key``) to that model only.
    """
    out: dict[str | None, dict[str, Any]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value (or model.key=value), e.g. --set factors=64")
        key, value = item.split("=", 1)
        key = key.strip()
        scope: str | None = None
        if "." in key:
            scope, key = key.split(".", 1)
        if not key.isidentifier():
            raise ConfigError(f"--set {item!r}: {key!r} is not a hyperparameter name")
        out.setdefault(scope, {})[key] = parse_value(value.strip())
    return out


def params_for(model: str, param_names: list[str],
               overrides: dict[str | None, dict[str, Any]]) -> dict[str, Any]:
    """The overrides that apply to ``model`` (whose ``__init__`` takes ``param_names``)."""
    chosen = {k: v for k, v in overrides.get(None, {}).items() if k in param_names}
    scoped = overrides.get(model, {})
    unknown = sorted(set(scoped) - set(param_names))
    if unknown:
        raise ConfigError(f"--set {model}.{unknown[0]}: {model} has no hyperparameter {unknown[0]!r}; "
                          f"it has: {', '.join(param_names) or '(none)'}")
    chosen.update(scoped)
    return chosen


def check_unscoped_used(overrides: dict[str | None, dict[str, Any]],
                        param_names_by_model: dict[str, list[str]]) -> None:
    """Every unscoped key must belong to at least one of the models being run."""
    for key in overrides.get(None, {}):
        if not any(key in names for names in param_names_by_model.values()):
            raise ConfigError(f"--set {key}=...: none of the models ({', '.join(param_names_by_model)}) "
                              f"has a hyperparameter {key!r}")
