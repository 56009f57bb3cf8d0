"""Options shared by the commands: the data options, comma-separated lists, output
suffixes, library argument names shown as the flags that set them, and help that shows
flags as flags (no ``<bool>`` after an option that takes no value)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer
from typer.core import TyperCommand, TyperGroup

from recplug.data.dataset import DataOptions
from recplug.errors import ConfigError

FormatOption = Annotated[Optional[str], typer.Option(
    "--format", help="Force a file format: grouplens-tab, grouplens-dat, grouplens-csv, atomic, lines, "
                     "lightgcn, csv, tsv, parquet (default: detected).")]
ColumnsOption = Annotated[Optional[str], typer.Option(
    "--columns", help="Column roles for csv/tsv/parquet/atomic, e.g. user=uid,item=iid,timestamp=ts "
                      "(roles left out are still recognised by name).")]
MinRatingOption = Annotated[Optional[float], typer.Option(
    "--min-rating", help="Keep rows rated >= this (implicit positives).")]
KcoreOption = Annotated[Optional[int], typer.Option(
    "--kcore", help="Iterated k-core: every user and item keeps >= this many rows.")]
OfflineOption = Annotated[bool, typer.Option("--offline", help="Never download a registered dataset.")]

def _flags_as_flags(params: list) -> list:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""  # typer would show "<bool>" although a flag takes no value
    return params


class FlagCommand(TyperCommand):
    """A command whose help lists flags without a value placeholder."""

    def get_params(self, ctx):
        return _flags_as_flags(super().get_params(ctx))


class FlagGroup(TyperGroup):
    """A command group whose help lists flags without a value placeholder."""

    def get_params(self, ctx):
        return _flags_as_flags(super().get_params(ctx))


#: file suffix of ``--out`` -> leaderboard export format
OUT_FORMATS = {".md": "markdown", ".tex": "latex", ".html": "html", ".csv": "csv", ".json": "json"}

#: library argument names -> the flag that sets them (errors are shown with the flag)
FLAGS = {
    "ks": "--k", "k": "--k", "metrics": "--metrics", "ties": "--ties", "sampler": "--sampler",
    "negatives": "--negatives", "batch_size": "--batch-size", "threads": "--threads",
    "max_epochs": "--epochs", "patience": "--patience", "validation_metric": "--valid-metric",
    "device": "--device", "split": "--split", "format": "--format", "columns": "--columns",
    "min_rating": "--min-rating", "kcore": "--kcore", "seeds": "--seeds", "target": "--target",
    "task": "--task", "folds": "--folds",
}
_LEADING_NAME = re.compile(r"^([a-z_]+)\b")


@contextlib.contextmanager
def as_flags(flags: dict[str, str] = FLAGS) -> Iterator[None]:
    """Re-raise a ConfigError whose message starts with a library argument name
    (``max_epochs must be ...``) with the flag instead (``--epochs must be ...``)."""
    try:
        yield
    except ConfigError as exc:
        message = str(exc)
        match = _LEADING_NAME.match(message)
        if match and match.group(1) in flags:
            raise ConfigError(flags[match.group(1)] + message[match.end():]) from None
        raise


def parse_columns(text: str | None) -> dict[str, Any] | None:
    """``"user=a,item=b"`` -> ``{"user": "a", "item": "b"}`` (digits become positions)."""
    if text is None or not text.strip():
        return None
    mapping: dict[str, Any] = {}
    for part in text.split(","):
        role, sep, column = part.partition("=")
        if not sep or not role.strip() or not column.strip():
            raise ConfigError(f"--columns: {part!r} is not role=column; e.g. "
                              "--columns user=uid,item=iid,timestamp=ts")
        column = column.strip()
        mapping[role.strip()] = int(column) if column.isdigit() else column
    return mapping


def data_options(format: str | None, columns: str | None, min_rating: float | None,
                 kcore: int | None, offline: bool) -> DataOptions:
    """The data options of ``datasets info`` and ``eval``, checked (errors name the flag)."""
    with as_flags():
        return DataOptions(format=format, columns=parse_columns(columns), min_rating=min_rating,
                           kcore=kcore, offline=offline).check()


def parse_ints(text: str, option: str) -> tuple[int, ...]:
    """``"5,10"`` -> ``(5, 10)``; ConfigError naming ``option`` otherwise."""
    parts = [x.strip() for x in text.split(",") if x.strip()]
    try:
        values = tuple(int(x) for x in parts)
    except ValueError:
        raise ConfigError(f"{option} expects comma-separated integers, got {text!r} (e.g. {option} 5,10,20)") from None
    if not values:
        raise ConfigError(f"{option} expects comma-separated integers, got {text!r} (e.g. {option} 5,10,20)")
    return values


def parse_names(text: str) -> tuple[str, ...]:
    """``"hr, NDCG"`` -> ``("hr", "ndcg")``."""
    return tuple(m.strip().lower() for m in text.split(",") if m.strip())


def out_format(path: Path | None) -> str | None:
    """The export format for ``--out PATH`` from its suffix; ConfigError for another suffix."""
    if path is None:
        return None
    fmt = OUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(f"--out {path}: unknown suffix {path.suffix or '(none)'!r}; use "
                          f"{', '.join(OUT_FORMATS)}")
    return fmt
