"""Readers for the interaction file formats recplug understands (DESIGN.md §3).

Every reader returns a :class:`Table`: the raw columns in *file order* (no sorting, no
filtering), plus what it noticed. :func:`read_table` picks the reader from ``format`` or,
when that is ``None``, from the file name and its first line (:func:`detect_format`).

Formats (``FORMATS`` maps each to a one-line description):

- ``grouplens-tab``: MovieLens ``u.data`` -- ``user<TAB>item<TAB>rating<TAB>timestamp``.
- ``grouplens-dat``: MovieLens ``ratings.dat`` -- ``user::item::rating::timestamp``.
- ``grouplens-csv``: MovieLens ``ratings.csv`` -- header ``userId,movieId,rating,timestamp``.
- ``atomic``: RecBole atomic ``.inter`` -- tab-separated, typed header ``name:type``
  (``token``, ``token_seq``, ``float``, ``float_seq``); fields ``user_id``, ``item_id``,
  ``rating``, ``timestamp`` unless ``columns`` names others.
- ``lines``: one user per line, ``user item item ...`` (SASRec/S3-Rec sequence files, one
  LightGCN file). The line order *is* the chronological order: there are no timestamps,
  and rows keep the file order, which DESIGN.md makes the tie-break. Temporal splits
  therefore refuse such data; ``loo``, ``ratio`` and ``temporal-user`` use the order.
- ``lightgcn``: a folder with ``train.txt`` and ``test.txt`` in the ``lines`` format; rows
  are the train rows then the test rows, and :attr:`Table.part` marks which is which.
- ``csv``/``tsv``/``parquet``: generic tables with a header; ``columns`` maps the roles
  ``user``, ``item``, ``timestamp``, ``rating`` to column names (or, without a header,
  to 0-based column positions). Roles that ``columns`` does not name are recognised by
  their usual names (``user_id``, ``userId``, ``item_id``, ``movieId``, ``timestamp``,
  ``rating``, ...), so ``columns={"user": "uid", "item": "iid"}`` still finds ``rating``.

Ids that are all canonical integers become int64 raw ids, others stay strings.
Timestamps that are all integral become int64, other numbers float64; date strings
(generic tables only) become int64 seconds since the epoch (UTC).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from recplug.errors import ConfigError, DataError

FORMATS: dict[str, str] = {
    "grouplens-tab": "MovieLens u.data: user<TAB>item<TAB>rating<TAB>timestamp, no header",
    "grouplens-dat": "MovieLens ratings.dat: user::item::rating::timestamp, no header",
    "grouplens-csv": "MovieLens ratings.csv: header userId,movieId,rating,timestamp",
    "atomic": "RecBole atomic .inter: tab-separated with a typed header field:type",
    "lines": "one user per line: 'user item item ...' in chronological order, no timestamps",
    "lightgcn": "folder with train.txt and test.txt in the 'lines' format (pre-split)",
    "csv": "comma-separated table with a header; roles mapped by `columns`",
    "tsv": "tab-separated table with a header; roles mapped by `columns`",
    "parquet": "Parquet table; roles mapped by `columns` (needs pyarrow)",
}

ROLES = ("user", "item", "timestamp", "rating")

#: Header names recognised for each role in generic tables (compared case-insensitively).
_ROLE_NAMES = {
    "user": ("user", "user_id", "userid", "uid", "user_id:token", "customer_id", "session_id"),
    "item": ("item", "item_id", "itemid", "iid", "movieid", "movie_id", "item_id:token",
             "product_id", "business_id"),
    "timestamp": ("timestamp", "time", "ts", "datetime", "date", "unix_time", "timestamp:float"),
    "rating": ("rating", "ratings", "score", "stars", "rating:float"),
}

_GENERIC_STEMS = {"u", "ratings", "train", "test", "data", "interactions", "inter"}


@dataclass
class Table:
    """Raw interaction columns in file order, before any sorting or filtering.

    ``part`` (int8, 0 = train, 1 = test) is set only by pre-split sources.
    """

    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray | None
    ratings: np.ndarray | None
    format: str
    source: str
    part: np.ndarray | None = None
    report: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.users)


# ---- public entry points ------------------------------------------------------------
def detect_format(path: Path) -> tuple[str, Path]:
    """``(format, file_or_folder_to_read)`` for ``path``, from its name and first line.

    A folder is a LightGCN pre-split folder when it holds ``train.txt`` and ``test.txt``;
    otherwise it must hold exactly one recognised interaction file.
    """
    path = Path(path)
    if path.is_dir():
        if (path / "train.txt").is_file() and (path / "test.txt").is_file():
            return "lightgcn", path
        found = _interaction_files(path)
        if len(found) == 1:
            return detect_format(found[0])
        if not found:
            raise DataError(
                f"{path}: no interaction file found in this folder (looked for u.data, ratings.dat, "
                "ratings.csv, *.inter, train.txt+test.txt, *.txt, *.csv, *.tsv, *.parquet); "
                "pass the file itself")
        names = ", ".join(sorted(p.name for p in found))
        raise DataError(f"{path}: several interaction files in this folder ({names}); "
                        "pass the one to load as the path")
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder")
    name = path.name.lower()
    suffix = path.suffix.lower()
    if name == "u.data" or suffix == ".data":
        return "grouplens-tab", path
    if suffix == ".dat":
        return "grouplens-dat", path
    if suffix == ".inter":
        return "atomic", path
    if suffix in (".parquet", ".pq"):
        return "parquet", path
    first = _first_line(path)
    if suffix == ".csv":
        header = [h.strip().strip('"') for h in first.split(",")]
        if header[:2] == ["userId", "movieId"]:
            return "grouplens-csv", path
        return "csv", path
    if suffix == ".tsv":
        return "tsv", path
    if "::" in first:
        return "grouplens-dat", path
    fields = first.split("\t")
    if len(fields) == 4 and all(_is_number(f) for f in fields):
        return "grouplens-tab", path
    if "," in first and " " not in first.strip():
        return "csv", path
    if "\t" in first:
        return "tsv", path
    return "lines", path


def read_table(path: str | Path, *, format: str | None = None,
               columns: Mapping[str, Any] | None = None) -> Table:
    """Read ``path`` (file or folder) into a :class:`Table` in file order.

    ``format`` is one of :data:`FORMATS` (``None`` detects it); ``columns`` maps roles
    (``user``, ``item``, ``timestamp``, ``rating``) to column names for ``atomic``,
    ``csv``, ``tsv`` and ``parquet``.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if format is None:
        format, path = detect_format(path)
    elif format not in FORMATS:
        raise DataError(f"unknown format {format!r}; use one of: {', '.join(FORMATS)}")
    elif format == "lightgcn" and not path.is_dir():
        raise DataError(f"{path}: the lightgcn format needs the folder holding train.txt and test.txt")
    elif format != "lightgcn" and path.is_dir():
        detected, path = detect_format(path)
        if detected == "lightgcn":
            raise DataError(f"{path}: a folder with train.txt and test.txt is lightgcn data; "
                            f"drop format={format!r} or pass one file")
    if columns is not None:
        columns = check_columns(columns)
        if format not in ("atomic", "csv", "tsv", "parquet"):
            raise DataError(f"{path}: `columns` only applies to the atomic, csv, tsv and parquet "
                            f"formats, not {format!r}; drop it")
    reader = _READERS[format]
    table = reader(path, columns) if format in ("atomic", "csv", "tsv", "parquet") else reader(path)
    table.report.setdefault("format", format)
    table.report.setdefault("rows_read", len(table))
    return table


def read_item_metadata(path: Path, items: str | Path | bool | None, *, format: str | None = None,
                       columns: Mapping[str, Any] | None = None):
    """The item metadata for the interactions at ``path`` (:class:`recplug.data.items.RawItems`)
    or None: ``items=None`` reads the file found next to them, if any
    (:func:`~recplug.data.items.find_item_file`), a path reads that file, False reads none."""
    from recplug.data.items import find_item_file, read_items

    if items is False:
        return None
    if items is None or items is True:
        found = find_item_file(Path(path))
        if found is None:
            if items is True:
                raise DataError(f"{path}: no item metadata file next to the interactions (looked for "
                                "u.item, movies.dat, movies.csv, <name>.item, meta_<name>.json, "
                                "items.csv/tsv/parquet); pass its path")
            return None
        return read_items(found, format=format, columns=columns)
    return read_items(Path(items), format=format, columns=columns)


def dataset_name(path: Path) -> str:
    """A short name for a dataset read from ``path``: the file stem, or the folder's name
    for generic file names (``ml-100k/u.data`` -> ``ml-100k``)."""
    path = Path(path)
    if path.is_dir():
        return path.resolve().name
    stem = path.name.split(".")[0]
    if stem.lower() in _GENERIC_STEMS:
        return path.resolve().parent.name or stem
    return stem


# ---- GroupLens ----------------------------------------------------------------------
def _read_grouplens_tab(path: Path) -> Table:
    frame = _read_csv(path, sep="\t", header=None, expect=4,
                      hint="each line must be user<TAB>item<TAB>rating<TAB>timestamp")
    return _grouplens_table(frame, path, "grouplens-tab", first_line=1)


def _read_grouplens_dat(path: Path) -> Table:
    raw = _read_bytes(path)
    # '::' is a multi-character separator, which only pandas' slow python engine accepts.
    # Ids and numbers never contain a tab, so swapping the separator keeps the C engine.
    if b"\t" in raw:
        line = raw[: raw.index(b"\t")].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: unexpected tab character; ratings.dat lines must "
                        "be user::item::rating::timestamp")
    frame = _read_csv(io.BytesIO(raw.replace(b"::", b"\t")), sep="\t", header=None, expect=4,
                      hint="each line must be user::item::rating::timestamp", name=path)
    return _grouplens_table(frame, path, "grouplens-dat", first_line=1)


def _read_grouplens_csv(path: Path) -> Table:
    frame = _read_csv(path, sep=",", header=0, expect=None,
                      hint="the file needs the header userId,movieId,rating,timestamp")
    missing = [c for c in ("userId", "movieId", "rating", "timestamp") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}, line 1: header lacks {', '.join(missing)} (found "
                        f"{', '.join(map(str, frame.columns))}); a MovieLens ratings.csv starts "
                        "with userId,movieId,rating,timestamp -- for other tables use format='csv' "
                        "with a columns mapping")
    frame = frame[["userId", "movieId", "rating", "timestamp"]]
    frame.columns = range(4)
    return _grouplens_table(frame, path, "grouplens-csv", first_line=2)


def _grouplens_table(frame: pd.DataFrame, path: Path, fmt: str, first_line: int) -> Table:
    users = _ids(frame[0], path, "user id", first_line, integers=True)
    items = _ids(frame[1], path, "item id", first_line, integers=True)
    ratings = _numbers(frame[2], path, "rating", first_line).astype(np.float32)
    timestamps = _timestamps(frame[3], path, "timestamp", first_line, dates=False)
    return Table(users, items, timestamps, ratings, fmt, str(path))


# ---- RecBole atomic -----------------------------------------------------------------
_ATOMIC_TYPES = ("token", "token_seq", "float", "float_seq")


def _read_atomic(path: Path, columns: Mapping[str, Any] | None) -> Table:
    header_line = _first_line(path, skip_blank=False)
    header = header_line.rstrip("\r\n").split("\t")
    names, types = [], {}
    for position, spec in enumerate(header, 1):
        name, sep, kind = spec.strip().rpartition(":")
        if not sep or not name or kind not in _ATOMIC_TYPES:
            raise DataError(f"{path}, line 1, field {position}: {spec!r} is not name:type with type "
                            f"in {', '.join(_ATOMIC_TYPES)}; a RecBole .inter header looks like "
                            "user_id:token<TAB>item_id:token<TAB>rating:float<TAB>timestamp:float")
        names.append(name)
        types[name] = kind
    roles = {"user": "user_id", "item": "item_id", "timestamp": "timestamp", "rating": "rating"}
    if columns:
        roles.update(columns)
    for role in ("user", "item"):
        if roles[role] not in types:
            raise DataError(f"{path}, line 1: no field {roles[role]!r} for the {role} (fields: "
                            f"{', '.join(names)}); pass columns={{'{role}': '<field name>'}}")
    wanted = {role: roles[role] for role in ROLES if roles[role] in types}
    expected_type = {"user": "token", "item": "token", "timestamp": "float", "rating": "float"}
    for role, name in wanted.items():
        if types[name] != expected_type[role]:
            raise DataError(f"{path}, line 1: field {name!r} ({role}) has type {types[name]!r}, "
                            f"expected {expected_type[role]!r}")
    frame = _read_csv(path, sep="\t", header=None, skiprows=1, names=names, dtype=str,
                      expect=len(names), hint="each line needs one value per header field",
                      quoting=3)
    users = _token_ids(frame[wanted["user"]], path, "user", 2)
    items = _token_ids(frame[wanted["item"]], path, "item", 2)
    ratings = (_numbers(frame[wanted["rating"]], path, "rating", 2).astype(np.float32)
               if "rating" in wanted else None)
    timestamps = (_timestamps(frame[wanted["timestamp"]], path, "timestamp", 2, dates=False)
                  if "timestamp" in wanted else None)
    return Table(users, items, timestamps, ratings, "atomic", str(path))


# ---- per-user lines and LightGCN folders ----------------------------------------------
def _read_lines(path: Path) -> Table:
    users_per_line: list[str] = []
    counts: list[int] = []
    items: list[str] = []
    without_items = 0
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                tokens = line.split()
                if not tokens:
                    continue
                if len(tokens) == 1:
                    without_items += 1
                    continue
                users_per_line.append(tokens[0])
                counts.append(len(tokens) - 1)
                items.extend(tokens[1:])
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "convert the file to UTF-8") from None
    if not items:
        raise DataError(f"{path}: no interactions found; each line must be 'user item item ...'")
    users = np.repeat(_canonical_ints(np.asarray(users_per_line, dtype=object)), counts)
    table = Table(users, _canonical_ints(np.asarray(items, dtype=object)), None, None, "lines",
                  str(path))
    table.report["lines_without_items"] = without_items
    return table


def _read_lightgcn(folder: Path) -> Table:
    train = _read_lines(folder / "train.txt")
    test = _read_lines(folder / "test.txt")
    users = np.concatenate([train.users.astype(object), test.users.astype(object)])
    items = np.concatenate([train.items.astype(object), test.items.astype(object)])
    users, items = _canonical_ints(users), _canonical_ints(items)
    part = np.concatenate([np.zeros(len(train), np.int8), np.ones(len(test), np.int8)])
    table = Table(users, items, None, None, "lightgcn", str(folder), part=part)
    table.report.update(train_rows=len(train), test_rows=len(test),
                        lines_without_items=(train.report["lines_without_items"]
                                             + test.report["lines_without_items"]))
    return table


# ---- generic tables -----------------------------------------------------------------
def _read_generic(sep: str, fmt: str):
    def read(path: Path, columns: Mapping[str, Any] | None) -> Table:
        positional = bool(columns) and all(isinstance(v, int) for v in columns.values())
        frame = _read_csv(path, sep=sep, header=None if positional else 0, expect=None,
                          hint=f"each line needs the same number of {'tab' if sep == chr(9) else 'comma'}-"
                               "separated fields as the header")
        return _generic_table(frame, path, fmt, columns, first_line=1 if positional else 2)

    return read


def _read_parquet(path: Path, columns: Mapping[str, Any] | None) -> Table:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow; install it with "
                        "pip install 'recplug[parquet]'") from None
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for broken files
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    return _generic_table(frame, path, "parquet", columns, first_line=None)


def _generic_table(frame: pd.DataFrame, path: Path, fmt: str, columns: Mapping[str, Any] | None,
                   first_line: int | None) -> Table:
    mapping = _guess_columns(frame, path, given=columns or {})
    header = ", ".join(map(str, frame.columns))
    for role, column in mapping.items():
        if column not in frame.columns:
            raise DataError(f"{path}: no column {column!r} for the {role} (columns: {header}); "
                            "fix the columns mapping")
    users = _ids(frame[mapping["user"]], path, "user id", first_line, integers=False)
    items = _ids(frame[mapping["item"]], path, "item id", first_line, integers=False)
    ratings = (_numbers(frame[mapping["rating"]], path, "rating", first_line).astype(np.float32)
               if "rating" in mapping else None)
    timestamps = (_timestamps(frame[mapping["timestamp"]], path, "timestamp", first_line, dates=True)
                  if "timestamp" in mapping else None)
    table = Table(users, items, timestamps, ratings, fmt, str(path))
    table.report["columns"] = ", ".join(f"{r}={c}" for r, c in mapping.items())
    return table


def _guess_columns(frame: pd.DataFrame, path: Path, given: Mapping[str, Any]) -> dict[str, Any]:
    """The ``given`` roles, plus the other roles recognised by their usual header names
    (a column already given to a role is never guessed for another). Positional
    ``given`` columns (a file without header) are taken as they are."""
    mapping = dict(given)
    if given and all(isinstance(v, int) for v in given.values()):
        return mapping
    taken = {str(c).lower() for c in given.values()}
    lowered = {str(c).lower(): c for c in frame.columns if str(c).lower() not in taken}
    for role, names in _ROLE_NAMES.items():
        if role in mapping:
            continue
        for name in names:
            if name in lowered:
                mapping[role] = lowered[name]
                break
    if "user" not in mapping or "item" not in mapping:
        header = ", ".join(map(str, frame.columns))
        raise DataError(f"{path}: cannot tell which columns hold users and items (columns: {header}); "
                        "pass columns={'user': ..., 'item': ...} (command line: --columns "
                        "user=COL,item=COL; timestamp and rating columns are then still recognised "
                        "by name, or give them too: timestamp=COL,rating=COL)")
    return mapping


def check_columns(columns: Mapping[str, Any]) -> dict[str, Any]:
    """``columns`` as a dict when it maps known roles (at least ``user`` and ``item``) to
    column names or to 0-based positions (not a mix); ConfigError naming ``columns`` otherwise."""
    example = "e.g. columns={'user': 'uid', 'item': 'iid', 'timestamp': 'ts'}"
    unknown = [k for k in columns if k not in ROLES]
    if unknown:
        raise ConfigError(f"columns: unknown role(s) {', '.join(map(repr, unknown))}; use "
                          f"{', '.join(ROLES)} ({example})")
    if "user" not in columns or "item" not in columns:
        raise ConfigError(f"columns must name at least the 'user' and 'item' columns, got "
                          f"{dict(columns)!r} ({example})")
    kinds = {isinstance(v, int) and not isinstance(v, bool) for v in columns.values()}
    if len(kinds) > 1 or not all(isinstance(v, (str, int)) for v in columns.values()):
        raise ConfigError(f"columns values must be all column names or all 0-based positions, got "
                          f"{dict(columns)!r}")
    return dict(columns)


# ---- column conversion --------------------------------------------------------------
def _read_csv(source: Any, *, sep: str, header: int | None, expect: int | None, hint: str,
              name: Path | None = None, **kwargs: Any) -> pd.DataFrame:
    label = name or source
    try:
        frame = pd.read_csv(source, sep=sep, header=header, engine="c", encoding="utf-8",
                            skip_blank_lines=True, low_memory=False, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{label}: the file is empty") from None
    except pd.errors.ParserError as exc:
        detail = str(exc).replace("Error tokenizing data. C error: ", "").strip()
        raise DataError(f"{label}: malformed ({detail}); {hint}") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{label}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "convert the file to UTF-8") from None
    except ValueError as exc:  # dtype conversion failures
        raise DataError(f"{label}: malformed ({exc}); {hint}") from None
    if expect is not None and frame.shape[1] != expect:
        raise DataError(f"{label}: expected {expect} fields per line, found {frame.shape[1]}; {hint}")
    if len(frame) == 0:
        raise DataError(f"{label}: no interactions found; {hint}")
    return frame


def _where(path: Path, first_line: int | None, row: int) -> str:
    if first_line is None:
        return f"{path}, row {row + 1}"
    return f"{path}, line {_line_number(path, first_line, row)}"


def _line_number(path: Path, first_line: int, row: int) -> int:
    """The 1-based line of data row ``row`` (blank lines skipped, as the parser does)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            seen = -1
            for number, line in enumerate(handle, 1):
                if number < first_line or not line.strip():
                    continue
                seen += 1
                if seen == row:
                    return number
    except OSError:
        pass
    return first_line + row


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _ids(column: pd.Series, path: Path, what: str, first_line: int | None, *,
         integers: bool) -> np.ndarray:
    """Raw ids: int64 when numeric, else strings. ``integers`` demands integer ids."""
    missing = column.isna().to_numpy()
    if missing.any():
        raise DataError(f"{_where(path, first_line, _first_bad(missing))}: missing {what}; "
                        "every line needs a user and an item")
    values = column.to_numpy()
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64)
    if np.issubdtype(values.dtype, np.floating):
        integral = np.floor(values) == values
        if integral.all():
            return values.astype(np.int64)
        bad = _first_bad(~integral)
        raise DataError(f"{_where(path, first_line, bad)}: {what} {values[bad]!r} is not an integer; "
                        "ids must be integers or strings -- fix or remove that line")
    if integers:
        numeric = pd.to_numeric(column, errors="coerce").to_numpy()
        bad = _first_bad(np.isnan(numeric)) if np.isnan(numeric).any() else 0
        raise DataError(f"{_where(path, first_line, bad)}: {what} {values[bad]!r} is not an integer; "
                        "GroupLens files hold integer ids")
    return _canonical_ints(values.astype(str).astype(object))


def _token_ids(column: pd.Series, path: Path, what: str, first_line: int) -> np.ndarray:
    missing = column.isna().to_numpy()
    if missing.any():
        raise DataError(f"{_where(path, first_line, _first_bad(missing))}: missing {what} token; "
                        "every line needs one value per header field")
    return _canonical_ints(column.to_numpy(dtype=object))


def _canonical_ints(tokens: np.ndarray) -> np.ndarray:
    """int64 array when every token is a canonical integer ("7", not "07" or "7.0"), else
    the tokens as Python strings (so "07" and "7" stay different ids)."""
    if tokens.dtype != object:
        return tokens
    try:
        ints = tokens.astype(np.int64)
    except (ValueError, OverflowError, TypeError):
        return tokens.astype(str).astype(object)
    if np.array_equal(ints.astype(str).astype(object), tokens.astype(str).astype(object)):
        return ints
    return tokens.astype(str).astype(object)


def _numbers(column: pd.Series, path: Path, what: str, first_line: int | None) -> np.ndarray:
    missing = column.isna().to_numpy()
    if missing.any():
        raise DataError(f"{_where(path, first_line, _first_bad(missing))}: missing {what}; "
                        "every line needs all its fields")
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = _first_bad(bad)
        raise DataError(f"{_where(path, first_line, row)}: {what} {column.iloc[row]!r} is not a "
                        "finite number -- fix or remove that line")
    return values


def _timestamps(column: pd.Series, path: Path, what: str, first_line: int | None, *,
                dates: bool) -> np.ndarray:
    missing = column.isna().to_numpy()
    if missing.any():
        raise DataError(f"{_where(path, first_line, _first_bad(missing))}: missing {what}; "
                        "every line needs all its fields")
    if dates and (column.dtype == object or pd.api.types.is_string_dtype(column.dtype)):
        numeric = pd.to_numeric(column, errors="coerce")
        if numeric.isna().any():
            parsed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
            bad = parsed.isna().to_numpy()
            if bad.any():
                row = _first_bad(bad)
                raise DataError(f"{_where(path, first_line, row)}: {what} {column.iloc[row]!r} is "
                                "neither a number nor a date -- fix or remove that line")
            return _epoch_seconds(parsed)
    if dates and pd.api.types.is_datetime64_any_dtype(column.dtype):
        return _epoch_seconds(pd.to_datetime(column, utc=True))
    values = _numbers(column, path, what, first_line)
    if (np.floor(values) == values).all() and np.abs(values).max() < 2.0**62:
        return values.astype(np.int64)
    return values


def _epoch_seconds(parsed: pd.Series) -> np.ndarray:
    """UTC datetimes (any resolution) -> int64 whole seconds since the epoch."""
    delta = parsed - pd.Timestamp("1970-01-01", tz="UTC")
    return (delta // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


# ---- small helpers ------------------------------------------------------------------
def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None


def _first_line(path: Path, *, skip_blank: bool = True) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.strip() or not skip_blank:
                    return line.rstrip("\r\n")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    raise DataError(f"{path}: the file is empty")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _interaction_files(folder: Path) -> list[Path]:
    preferred = [folder / n for n in ("u.data", "ratings.dat", "ratings.csv")]
    found = [p for p in preferred if p.is_file()]
    if found:
        return found[:1]
    patterns = ("*.inter", "*.txt", "*.csv", "*.tsv", "*.parquet")
    found = [p for pattern in patterns for p in sorted(folder.glob(pattern)) if p.is_file()]
    inter = [p for p in found if p.suffix == ".inter"]
    return inter if inter else found


_READERS = {
    "grouplens-tab": _read_grouplens_tab,
    "grouplens-dat": _read_grouplens_dat,
    "grouplens-csv": _read_grouplens_csv,
    "atomic": _read_atomic,
    "lines": _read_lines,
    "lightgcn": _read_lightgcn,
    "csv": _read_generic(",", "csv"),
    "tsv": _read_generic("\t", "tsv"),
    "parquet": _read_parquet,
}
