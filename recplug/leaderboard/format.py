"""Text pieces every renderer shares: numbers, mean ± std, marks. Renderers add their markup."""

from __future__ import annotations

import math

from recplug.leaderboard.model import MARKS, TIE_MARK, Cell, Row, Trained

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


#: how each renderer writes a stop reason (others as they are, underscores as spaces)
STOP_REASONS = {"budget": "budget", "early_stopping": "early"}


def count(value: float | None) -> str:
    """An epoch count: "12", a mean over seeds "12.5", "—" when unknown."""
    if value is None:
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def trained(info: Trained) -> str:
    """``"8 (5) early"``: epochs run, (best epoch), why it stopped; "—" when unreported."""
    if not info:
        return "—"
    text = count(info.epochs_run)
    if info.best_epoch is not None:
        text += f" ({count(info.best_epoch)})"
    reasons = "/".join(STOP_REASONS.get(r, r.replace("_", " ")) for r in info.stopped)
    return f"{text} {reasons}" if reasons else text


def label(row: Row) -> str:
    """The row's label, with the tie mark when ties decided most of its top-K cuts."""
    return f"{row.label} {TIE_MARK}" if row.tie_flagged else row.label
