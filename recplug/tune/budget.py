"""The tuning budget every model of one command gets: a number of trials or a wall time."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from recplug.errors import ConfigError

BUDGETS = ("trials", "time")
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?)\s*(s|sec|m|min|h)?\s*$")
_UNIT_SECONDS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(text: str, what: str = "timeout") -> float:
    """``"30m"`` -> 1800.0, ``"90s"``/``"90"`` -> 90.0, ``"1.5h"`` -> 5400.0; ConfigError naming ``what``."""
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"{what} {text!r} is not a duration > 0; write e.g. 90s, 30m or 1.5h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_seconds(seconds: float) -> str:
    """``1800`` -> ``"30 min"``, ``90`` -> ``"90 s"``, ``5400`` -> ``"1.5 h"``."""
    if seconds >= 3600 and seconds % 360 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 6 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


@dataclass(frozen=True)
class Budget:
    """``kind="trials"``: ``trials`` trials per model (``seconds``, if set, a cap of each
    model's trial time). ``kind="time"``: ``seconds`` of trial wall time per model
    (``trials``, if set, a cap). Failed and pruned trials count; interrupted ones do not.
    The time of a trial counts once it ends, so the last trial of a time budget may
    finish after it."""

    kind: str = "trials"
    trials: int | None = 30
    seconds: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in BUDGETS:
            raise ConfigError(f"budget must be one of {', '.join(BUDGETS)}, got {self.kind!r}")
        if self.trials is not None and (isinstance(self.trials, bool) or not isinstance(self.trials, int)
                                        or self.trials < 1):
            raise ConfigError(f"trials must be an integer >= 1, got {self.trials!r}")
        if self.seconds is not None and (isinstance(self.seconds, bool) or not isinstance(
                self.seconds, (int, float)) or not math.isfinite(self.seconds) or self.seconds <= 0):
            raise ConfigError(f"timeout must be a number of seconds > 0, got {self.seconds!r}")
        if self.kind == "trials" and self.trials is None:
            raise ConfigError("budget 'trials' needs trials (a number of trials per model)")
        if self.kind == "time" and self.seconds is None:
            raise ConfigError("budget 'time' needs timeout (the wall time per model, e.g. 30m)")

    def exhausted(self, trials: int, seconds: float) -> bool:
        """Whether a study that ran ``trials`` counted trials in ``seconds`` is done."""
        return ((self.trials is not None and trials >= self.trials)
                or (self.seconds is not None and seconds >= self.seconds))

    def describe(self) -> str:
        """``"30 trials"``, ``"30 min"``, ``"30 trials (cap 1 h)"``."""
        trials = f"{self.trials} trial{'' if self.trials == 1 else 's'}" if self.trials is not None else ""
        time = format_seconds(self.seconds) if self.seconds is not None else ""
        main, cap = (trials, time) if self.kind == "trials" else (time, trials)
        return f"{main} (cap {cap})" if cap else main

    def to_dict(self) -> dict:
        return {"kind": self.kind, "trials": self.trials, "seconds": self.seconds}
