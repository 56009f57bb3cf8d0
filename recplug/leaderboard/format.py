"""Text pieces every renderer shares: numbers, mean ± std, marks. Renderers add their markup."""

from __future__ import annotations

import math

from recplug.leaderboard.model import MARKS, Cell

DIGITS = 4


def number(value: float | None, digits: int = DIGITS) -> str:
    """``value`` with ``digits`` decimals; "—" for missing/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def seconds(value: float | None) -> str:
    """A duration in seconds, 3 significant digits (e.g. 0.0123, 1.25, 4520)."""
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def mean_std(cell: Cell, pm: str = "±") -> str:
    """``"0.0712 ± 0.0031"``, or just the mean when there is a single seed."""
    if cell.std is None:
        return number(cell.mean)
    return f"{number(cell.mean)} {pm} {number(cell.std)}"


def marks(cell: Cell) -> str:
    """The significance marks of ``cell`` (e.g. "†‡"); empty when not significantly worse."""
    return "".join(MARKS[test] for test in cell.worse())


def ci(cell: Cell) -> str:
    """``"[0.0680, 0.0741]"``, or "" without a bootstrap CI."""
    if cell.ci is None:
        return ""
    return f"[{number(cell.ci[0])}, {number(cell.ci[1])}]"
