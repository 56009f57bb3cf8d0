"""Search spaces: each model's declared ranges (``parameter_constraints``), overridable.

A :class:`Dimension` is one searched hyperparameter; a model's space is
``{name: Dimension}``, built by :func:`model_space` from the search ranges its constraints
declare (:func:`recplug.training.constraints.search_space`) with the overrides of
:func:`parse_space` on top. Every range is checked against the model's constraint before
any work: ``bpr.lr=loguniform:0:1`` fails at once, naming the option and what is allowed.

Override syntax (``--space`` or a study file's ``search`` table)::

    bpr.lr=loguniform:1e-4:1e-1   real, log scale      bpr.reg=uniform:0:0.1   real
    bpr.factors=int:16:256        integer              bpr.factors=logint:8:512 integer, log scale
    sasrec.loss=choice:bce,ce     one of the choices (JSON literals, else strings)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from recplug.contract import param_names
from recplug.errors import ConfigError
from recplug.params import parse_value

KINDS = ("uniform", "loguniform", "int", "logint", "choice")
SYNTAX = ("uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH, logint:LOW:HIGH or "
          "choice:A,B,... (e.g. bpr.lr=loguniform:1e-4:1e-1)")


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: ``kind`` in :data:`KINDS`; ``low``/``high`` for ranges
    (inclusive), ``choices`` for ``choice``."""

    kind: str
    low: float | int | None = None
    high: float | int | None = None
    choices: tuple = ()

    @property
    def log(self) -> bool:
        return self.kind in ("loguniform", "logint")

    def describe(self) -> str:
        """The override syntax of this dimension: ``"loguniform:0.0001:0.1"``."""
        if self.kind == "choice":
            return "choice:" + ",".join(_text(c) for c in self.choices)
        return f"{self.kind}:{_text(self.low)}:{_text(self.high)}"

    def suggest(self, trial: Any, name: str) -> Any:
        """Draw this dimension's value from an Optuna trial."""
        if self.kind == "choice":
            return trial.suggest_categorical(name, list(self.choices))
        if self.kind in ("int", "logint"):
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(name, float(self.low), float(self.high), log=self.log)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` lies in this dimension (a default that can be enqueued)."""
        if self.kind == "choice":
            return any(type(value) is type(c) and value == c for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind in ("int", "logint") and not float(value).is_integer():
            return False
        return self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "low": self.low, "high": self.high, "choices": list(self.choices)}


def _text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def from_declared(space: Mapping[str, Any]) -> Dimension:
    """A :class:`Dimension` from a constraint's ``search_space()`` dict."""
    if space["type"] == "categorical":
        return Dimension("choice", choices=tuple(space["choices"]))
    if space["type"] == "int":
        return Dimension("logint" if space["log"] else "int", int(space["low"]), int(space["high"]))
    return Dimension("loguniform" if space["log"] else "uniform", float(space["low"]), float(space["high"]))


def parse_dimension(text: str, where: str) -> Dimension:
    """``"loguniform:1e-4:1e-1"`` -> Dimension; ConfigError naming ``where`` otherwise."""
    kind, _, rest = str(text).strip().partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS or not rest:
        raise ConfigError(f"{where}: {text!r} is not a search range; write {SYNTAX}")
    if kind == "choice":
        choices = tuple(parse_value(c.strip()) for c in rest.split(",") if c.strip())
        if not choices:
            raise ConfigError(f"{where}: choice needs at least one value, e.g. choice:bce,ce")
        return Dimension("choice", choices=choices)
    ends = rest.split(":")
    if len(ends) != 2:
        raise ConfigError(f"{where}: {text!r} needs exactly two ends, {kind}:LOW:HIGH")
    values = []
    for end in ends:
        value = parse_value(end.strip())
        integer = kind in ("int", "logint")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
                integer and not float(value).is_integer()):
            noun = "an integer" if integer else "a finite number"
            raise ConfigError(f"{where}: end {end.strip()!r} of {text!r} must be {noun}")
        values.append(int(value) if integer else float(value))
    low, high = values
    if low >= high:
        raise ConfigError(f"{where}: {text!r} needs LOW < HIGH")
    if kind in ("loguniform", "logint") and low <= 0:
        raise ConfigError(f"{where}: {text!r} is on a log scale and needs LOW > 0; use "
                          f"{'int' if kind == 'logint' else 'uniform'}:{_text(low)}:{_text(high)} instead")
    return Dimension(kind, low, high)


def parse_space(items: list[str], flag: str = "--space") -> dict[str | None, dict[str, Dimension]]:
    """``["bpr.lr=loguniform:1e-4:1e-1"]`` -> ``{"bpr": {"lr": Dimension(...)}}``; an
    unscoped ``lr=...`` goes under None (every model that has ``lr``)."""
    out: dict[str | None, dict[str, Dimension]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} {item!r}: expected model.param=RANGE with RANGE one of {SYNTAX}")
        key, text = (part.strip() for part in item.split("=", 1))
        scope, _, name = key.rpartition(".")
        if not name.isidentifier():
            raise ConfigError(f"{flag} {item!r}: {name!r} is not a hyperparameter name")
        out.setdefault(scope or None, {})[name] = parse_dimension(text, f"{flag} {key}")
    return out


def check_dimension(cls: type, model: str, name: str, dim: Dimension, where: str) -> None:
    """ConfigError when ``dim`` reaches values ``cls``'s constraint for ``name`` refuses."""
    constraints = getattr(cls, "parameter_constraints", None) or {}
    constraint = constraints.get(name)
    if constraint is None:
        return  # a class without constraints is not checked (the runner does the same)
    probes = dim.choices if dim.kind == "choice" else (dim.low, dim.high)
    for value in probes:
        allowed = constraint.check(value)
        if allowed is not None:
            raise ConfigError(f"{where}: {model}.{name} may not be {_text(value)}; {name} must be "
                              f"{allowed}; narrow the range")


def model_space(name: str, cls: type, overrides: Mapping[str | None, Mapping[str, Dimension]],
                fixed: Mapping[str, Any] = (), *, flag: str = "--space") -> dict[str, Dimension]:
    """The space searched for model ``name``: its declared ranges, replaced or extended by
    ``overrides`` (scoped to ``name`` or unscoped), without the hyperparameters in ``fixed``
    (set with ``--set``: a scoped range for one of them is an error). ConfigError for a
    parameter the model lacks or a range its constraints refuse."""
    from recplug.training.constraints import search_space

    names = param_names(cls)
    space = {key: from_declared(value) for key, value in search_space(cls).items()}
    for key, dim in (overrides.get(None) or {}).items():
        if key in names:
            space[key] = dim
    for key, dim in (overrides.get(name) or {}).items():
        if key not in names:
            raise ConfigError(f"{flag} {name}.{key}: {name} has no hyperparameter {key!r}; it has: "
                              f"{', '.join(names) or '(none)'}")
        if key in fixed:
            raise ConfigError(f"{flag} {name}.{key}: {key} is also fixed (--set {name}.{key}=...); "
                              "search it or fix it, not both")
        space[key] = dim
    for key, dim in space.items():
        check_dimension(cls, name, key, dim, f"{flag} {name}.{key}")
    return {key: dim for key, dim in sorted(space.items()) if key not in fixed}


def check_unscoped(overrides: Mapping[str | None, Mapping[str, Dimension]],
                   names_by_model: Mapping[str, list[str]], flag: str = "--space") -> None:
    """Every scope names a model being tuned, every unscoped key a hyperparameter of one."""
    for scope in overrides:
        if scope is not None and scope not in names_by_model:
            raise ConfigError(f"{flag} {scope}.*: {scope} is not one of the models being tuned "
                              f"({', '.join(names_by_model)})")
    for key in overrides.get(None) or {}:
        if not any(key in names for names in names_by_model.values()):
            raise ConfigError(f"{flag} {key}=...: none of the models ({', '.join(names_by_model)}) "
                              f"has a hyperparameter {key!r}")
