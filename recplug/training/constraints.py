"""Declared hyperparameter constraints, checked once when a model is configured.

A model class declares ``parameter_constraints = {"lr": Real(0, None, closed="neither"), ...}``
(scikit-learn's ``_parameter_constraints`` idea) and, for rules between parameters, a
classmethod ``check_param_relations(params)`` that raises :class:`ConfigError` itself.
:func:`check_model_params` applies both; :func:`search_space` lists the ranges worth
searching for a tuner.

Rules shared by every constraint: ``bool`` is never a number (``True`` is not ``1``);
an ``int`` is a valid :class:`Real`; a float with an integral value (``2.0``) is not an
:class:`Integer`; NaN and infinity are rejected by :class:`Real` unless allowed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal, Mapping

from recplug.errors import ConfigError, ContractError

Closed = Literal["both", "left", "right", "neither"]
_CLOSED = ("both", "left", "right", "neither")
_REPR_LIMIT = 80


class Constraint:
    """What values a hyperparameter may take, and which of them are worth searching."""

    search: tuple | None = None

    def check(self, value: Any) -> str | None:
        """None when ``value`` is allowed, else what is allowed (e.g. ``"a real number > 0"``)."""
        raise NotImplementedError

    def describe(self) -> str:
        """The allowed values in words: ``"an integer >= 1"``, ``"one of 'bce', 'ce'"``."""
        raise NotImplementedError

    def search_space(self) -> dict | None:
        """The range worth searching, e.g. ``{"type": "float", "low": 1e-4, "high": 0.1, "log": True}``."""
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Interval(Constraint):
    """A number between ``low`` and ``high`` (None: unbounded); ``closed`` says which ends are included."""

    low: float | None = None
    high: float | None = None
    _: KW_ONLY
    closed: Closed = "both"
    search: tuple | None = None

    _noun = "a number"
    _search_type = "float"

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.closed not in _CLOSED:
            raise ContractError(f"{name}: closed={self.closed!r} is not allowed; use one of {_CLOSED}")
        for bound in (self.low, self.high):
            if bound is not None and not self._is_value(bound):
                raise ContractError(f"{name}: bound {bound!r} must be {self._noun} or None")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ContractError(f"{name}: low={self.low!r} is above high={self.high!r}")
        if self.search is not None:
            self._check_search(name)

    def _check_search(self, name: str) -> None:
        search = tuple(self.search)
        log = len(search) == 3 and search[2] == "log"
        if len(search) not in (2, 3) or (len(search) == 3 and not log):
            raise ContractError(f"{name}: search={self.search!r} must be (low, high) or (low, high, 'log')")
        low, high = search[:2]
        for end in (low, high):
            if self.check(end) is not None:
                raise ContractError(f"{name}: search end {end!r} is outside {self.describe()}")
        if low >= high or (log and low <= 0):
            raise ContractError(f"{name}: search={self.search!r} needs low < high (and low > 0 with 'log')")
        object.__setattr__(self, "search", search)

    def _is_value(self, value: Any) -> bool:
        return _is_number(value)

    def _within(self, value: float) -> bool:
        low_ok = self.low is None or (value >= self.low if self.closed in ("both", "left") else value > self.low)
        high_ok = self.high is None or (value <= self.high if self.closed in ("both", "right")
                                        else value < self.high)
        return low_ok and high_ok

    def describe(self) -> str:
        left_in = self.closed in ("both", "left")
        right_in = self.closed in ("both", "right")
        if self.low is not None and self.high is not None:
            return (f"{self._noun} in {'[' if left_in else '('}{self.low}, "
                    f"{self.high}{']' if right_in else ')'}")
        if self.low is not None:
            return f"{self._noun} {'>=' if left_in else '>'} {self.low}"
        if self.high is not None:
            return f"{self._noun} {'<=' if right_in else '<'} {self.high}"
        return self._noun

    def check(self, value: Any) -> str | None:
        if not self._is_value(value):
            return self.describe()
        return None if self._within(value) else self.describe()

    def search_space(self) -> dict | None:
        if self.search is None:
            return None
        return {"type": self._search_type, "low": self.search[0], "high": self.search[1],
                "log": len(self.search) == 3}


@dataclass(frozen=True)
class Integer(_Interval):
    """An integer (Python or NumPy, never bool or a float such as 2.0) within the bounds.

    ``Integer(1)`` is "an integer >= 1"; ``search=(8, 256, "log")`` marks a range worth searching.
    """

    _noun = "an integer"
    _search_type = "int"

    def _is_value(self, value: Any) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class Real(_Interval):
    """A real number (int or float, never bool) within the bounds; NaN and infinity need
    ``allow_nan`` / ``allow_inf``.

    ``Real(0, None, closed="neither")`` is "a real number > 0".
    """

    _: KW_ONLY
    allow_nan: bool = False
    allow_inf: bool = False

    _noun = "a real number"

    def check(self, value: Any) -> str | None:
        if _is_number(value) and math.isnan(value):
            return None if self.allow_nan else f"{self.describe()} (NaN is not allowed)"
        if _is_number(value) and math.isinf(value) and not self.allow_inf:
            return f"{self.describe()} (infinity is not allowed)"
        return super().check(value)


@dataclass(frozen=True, init=False)
class Options(Constraint):
    """One of the given choices, compared by value and kind (``True`` does not match ``1``).

    ``search=True`` marks every choice worth searching, a tuple a subset, False none.
    """

    choices: tuple = ()
    search: tuple | None = None

    def __init__(self, *choices: Any, search: bool | tuple = True):
        if not choices:
            raise ContractError("Options: give at least one choice")
        object.__setattr__(self, "choices", tuple(choices))
        if search is True:
            search = self.choices
        elif search is False:
            search = None
        else:
            search = tuple(search)
            stray = [c for c in search if not self._allowed(c)]
            if stray:
                raise ContractError(f"Options: search choice {stray[0]!r} is not {self.describe()}")
        object.__setattr__(self, "search", search)

    def _allowed(self, value: Any) -> bool:
        return any(_same_choice(value, c) for c in self.choices)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def check(self, value: Any) -> str | None:
        return None if self._allowed(value) else self.describe()

    def search_space(self) -> dict | None:
        return None if self.search is None else {"type": "categorical", "choices": list(self.search)}


@dataclass(frozen=True, init=False)
class Boolean(Constraint):
    """``True`` or ``False`` (Python or NumPy bool; not 0 or 1). ``search=True``: both are worth trying."""

    search: tuple | None = None

    def __init__(self, search: bool = False):
        object.__setattr__(self, "search", (False, True) if search else None)

    def describe(self) -> str:
        return "a boolean (true or false)"

    def check(self, value: Any) -> str | None:
        import numpy as np

        return None if isinstance(value, (bool, np.bool_)) else self.describe()

    def search_space(self) -> dict | None:
        return None if self.search is None else {"type": "categorical", "choices": list(self.search)}


@dataclass(frozen=True)
class Nullable(Constraint):
    """None, or what ``inner`` allows; searches what ``inner`` searches."""

    inner: Constraint

    def __post_init__(self) -> None:
        if not isinstance(self.inner, Constraint):
            raise ContractError(f"Nullable: {self.inner!r} is not a Constraint")

    @property
    def search(self) -> tuple | None:  # type: ignore[override]
        return self.inner.search

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"

    def check(self, value: Any) -> str | None:
        if value is None or self.inner.check(value) is None:
            return None
        return self.describe()

    def search_space(self) -> dict | None:
        return self.inner.search_space()


def _same_choice(value: Any, choice: Any) -> bool:
    """Equal in value and kind: a bool matches only a bool, a str only a str."""
    if not isinstance(value, (str, numbers.Number, type(None))):
        return False
    if isinstance(value, bool) is not isinstance(choice, bool) or isinstance(value, str) is not isinstance(choice, str):
        return False
    return bool(value == choice)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT - 3] + "..."


def check_params(owner: str, constraints: Mapping[str, Constraint], params: Mapping[str, Any]) -> None:
    """Check every entry of ``params`` against its constraint.

    Raises ConfigError such as ``"BPR: lr=-1 is not allowed; lr must be a real number > 0"``,
    or ``"BPR: no constraint is declared for hyperparameter 'x'"`` for an undeclared key.
    """
    for name, value in params.items():
        constraint = constraints.get(name)
        if constraint is None:
            raise ConfigError(f"{owner}: no constraint is declared for hyperparameter {name!r}")
        allowed = constraint.check(value)
        if allowed is not None:
            raise ConfigError(f"{owner}: {name}={_short_repr(value)} is not allowed; {name} must be {allowed}")


def check_model_params(cls: type, params: Mapping[str, Any]) -> None:
    """Check a model's full ``get_params()`` against ``cls.parameter_constraints``, then
    ``cls.check_param_relations(params)`` when defined. A class without constraints is not checked."""
    constraints = getattr(cls, "parameter_constraints", None)
    if constraints is not None:
        check_params(cls.__name__, constraints, params)
    relations = getattr(cls, "check_param_relations", None)
    if callable(relations):
        relations(dict(params))


def search_space(cls: type) -> dict[str, dict]:
    """Parameter name -> ``search_space()`` for the constraints of ``cls`` that name a range."""
    constraints: Mapping[str, Constraint] = getattr(cls, "parameter_constraints", None) or {}
    spaces = {name: c.search_space() for name, c in constraints.items()}
    return {name: space for name, space in spaces.items() if space is not None}
