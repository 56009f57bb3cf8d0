"""Item side information: titles, text, categorical tokens, numbers and image paths,
keyed by the item vocabulary (DESIGN.md §3).

:func:`read_items` reads a metadata file into :class:`RawItems` (file order);
:func:`align_items` lines it up with a dataset's item vocabulary as an :class:`ItemTable`
(row ``i`` describes item index ``i``), adding the metadata items that no interaction
mentions to the vocabulary (*known but unseen* items: rankable, never trained on).

Formats (``ITEM_FORMATS``):

- ``grouplens-item``: MovieLens 100K ``u.item`` -- ``id|title|release date|video release
  date|IMDb URL|19 genre flags`` (Latin-1); the genre names come from ``u.genre`` next to
  it, else the published list.
- ``grouplens-movies-dat``: MovieLens 1M ``movies.dat`` -- ``id::title::Genre|Genre`` (Latin-1).
- ``grouplens-movies-csv``: MovieLens ``movies.csv`` -- header ``movieId,title,genres``.
- ``atomic-item``: RecBole ``.item`` -- tab-separated with a typed header ``name:type``;
  ``token_seq`` fields named like text (``*title*``, ``*name*``, ``*desc*``, ``*text*``,
  ``*review*``, ``*summary*``) become text, other ``token``/``token_seq`` fields tokens,
  ``float`` numbers; ``float_seq`` fields are not used (the report names them).
- ``amazon-json``: Amazon review metadata, one JSON object per line (the 2014 dumps' Python
  literals too): ``asin``, ``title``, ``description``, ``brand``, ``categories``/``category``,
  ``price``, ``imUrl``/``imageURL``/``image``.
- ``items-csv``/``items-tsv``/``items-parquet``: a generic table. ``columns`` maps ``item``
  (required unless a column has a usual id name) and optionally ``title``, ``text``,
  ``tokens``, ``number``, ``image`` (one column name or a list) to columns; without a
  mapping every other column is used, its kind guessed (image-like names or file suffixes,
  numbers, values with ``|`` as tokens, else text). Token columns split on ``|``.

Bad metadata is never dropped silently: a missing id column, an id that is missing, a file
whose ids match no interaction raise :class:`~recplug.errors.DataError`; duplicated ids
(the first row wins), malformed JSON lines and local image files that do not exist are
counted in the report and announced with an :class:`ItemDataWarning`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from recplug.errors import ConfigError, DataError

ITEM_FORMATS: dict[str, str] = {
    "grouplens-item": "MovieLens 100K u.item: id|title|release date|video date|URL|19 genre flags",
    "grouplens-movies-dat": "MovieLens movies.dat: id::title::Genre|Genre",
    "grouplens-movies-csv": "MovieLens movies.csv: header movieId,title,genres",
    "atomic-item": "RecBole atomic .item: tab-separated with a typed header field:type",
    "amazon-json": "Amazon metadata: one JSON object per line (asin, title, categories, imUrl, ...)",
    "items-csv": "comma-separated item table with a header; fields mapped by `columns`",
    "items-tsv": "tab-separated item table with a header; fields mapped by `columns`",
    "items-parquet": "Parquet item table; fields mapped by `columns` (needs pyarrow)",
}

FIELD_KINDS = ("text", "tokens", "number", "image")
ITEM_ROLES = ("item",) + ("title",) + FIELD_KINDS
TOKEN_SEPARATOR = "|"

_ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                  "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                  "Romance", "Sci-Fi", "Thriller", "War", "Western")
_ID_NAMES = ("item_id", "item", "itemid", "iid", "movieid", "movie_id", "asin", "product_id",
             "business_id", "id")
_TEXT_HINTS = ("title", "name", "desc", "text", "review", "summary", "plot", "overview")
_IMAGE_HINTS = ("image", "img", "poster", "pic", "photo", "imurl", "thumbnail")
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp")


class ItemDataWarning(UserWarning):
    """Metadata rows or values that were counted and left out (duplicates, malformed lines,
    missing image files); the dataset report holds the counts."""


@dataclass(frozen=True)
class ItemField:
    """One column of item side information.

    ``values`` is an object array, one entry per row; ``None`` means missing. Entries are
    ``str`` (text, image path or URL), ``tuple[str, ...]`` (tokens) or ``float`` (number).
    """

    name: str
    kind: str
    values: np.ndarray

    def present(self) -> np.ndarray:
        """Boolean mask of the rows that have a value (an empty text or token list is missing)."""
        return np.fromiter((_has_value(v) for v in self.values), dtype=bool, count=len(self.values))


def _has_value(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float):
        return bool(np.isfinite(value))
    return len(value) > 0


@dataclass
class RawItems:
    """Item metadata as read, in file order (before alignment with any vocabulary)."""

    ids: np.ndarray
    fields: dict[str, ItemField]
    format: str
    source: str
    report: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


class ItemTable:
    """Item features aligned with an item vocabulary: row ``i`` describes item index ``i``.

    ``ids`` are the vocabulary's raw ids; ``fields`` maps a field name to its
    :class:`ItemField` (``n_items`` values, ``None`` where an item has none); ``has_metadata``
    marks the items the metadata file described; ``root`` is the folder relative image
    paths are resolved against.
    """

    def __init__(self, ids: np.ndarray, fields: Mapping[str, ItemField], has_metadata: np.ndarray,
                 *, source: str, format: str, root: str | None = None,
                 report: Mapping[str, Any] | None = None):
        self.ids = np.asarray(ids)
        self.fields = dict(fields)
        self.has_metadata = np.asarray(has_metadata, dtype=bool)
        self.source, self.format = source, format
        self.root = root
        self.report = dict(report or {})
        for f in self.fields.values():
            if len(f.values) != len(self.ids):
                raise DataError(f"{source}: item field {f.name!r} has {len(f.values)} values for "
                                f"{len(self.ids)} items")
        for array in (self.ids, self.has_metadata):
            array.flags.writeable = False

    @property
    def n_items(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return self.n_items

    def names(self, kind: str | None = None) -> list[str]:
        """Field names (of one ``kind`` when given), in file order."""
        return [n for n, f in self.fields.items() if kind is None or f.kind == kind]

    def coverage(self) -> dict[str, float]:
        """Fraction of the ``n_items`` items that have a value, per field."""
        n = max(self.n_items, 1)
        return {name: float(f.present().sum()) / n for name, f in self.fields.items()}

    def texts(self, fields: Sequence[str] | None = None, items: np.ndarray | None = None) -> list[str]:
        """One string per item (all items, or ``items``) joining its text and token fields:
        ``"Toy Story. release year: 1995. class: Animation, Children's, Comedy"``.
        ``fields`` picks and orders the fields (default: every text, tokens and number
        field in file order); an item with none of them gives ``""``."""
        names = list(fields) if fields is not None else [
            n for n, f in self.fields.items() if f.kind in ("text", "tokens", "number")]
        for name in names:
            if name not in self.fields:
                raise ConfigError(f"text_fields: no item field {name!r}; fields: {', '.join(self.fields)}")
            if self.fields[name].kind == "image":
                raise ConfigError(f"text_fields: {name!r} holds image paths, not text")
        rows = np.arange(self.n_items) if items is None else np.asarray(items)
        out = []
        for row in rows.tolist():
            parts = []
            for name in names:
                f = self.fields[name]
                value = f.values[row]
                if not _has_value(value):
                    continue
                if f.kind == "text":
                    parts.append(str(value) if _is_title(name) else f"{name}: {value}")
                elif f.kind == "tokens":
                    parts.append(f"{name}: {', '.join(value)}")
                else:
                    parts.append(f"{name}: {value:g}")
            out.append(". ".join(parts))
        return out

    def image_paths(self, field: str | None = None) -> list[str | None]:
        """Per item, the image path (relative ones resolved against ``root``) or URL, or None.
        ``field`` defaults to the first image field; every entry is None without one."""
        names = self.names("image")
        if field is None:
            if not names:
                return [None] * self.n_items
            field = names[0]
        if field not in names:
            raise ConfigError(f"image_field: no image field {field!r}; image fields: "
                              f"{', '.join(names) or 'none'}")
        return [_resolve_image(v, self.root) if _has_value(v) else None
                for v in self.fields[field].values.tolist()]

    def fingerprint(self) -> str:
        """SHA-256 over the ids and every field's name, kind and values (hex, 16 chars)."""
        h = hashlib.sha256(repr(self.ids.tolist()).encode())
        for name, f in self.fields.items():
            h.update(f"\0{name}\0{f.kind}\0".encode())
            h.update(repr(f.values.tolist()).encode())
        return h.hexdigest()[:16]


def _is_title(name: str) -> bool:
    return "title" in name.lower() or name.lower() in ("name", "item_name")


def _resolve_image(value: str, root: str | None) -> str:
    if "://" in value or root is None or Path(value).is_absolute():
        return value
    return str(Path(root) / value)


# ---- finding and reading ----------------------------------------------------------------
def find_item_file(interactions_path: Path) -> Path | None:
    """The item metadata file that sits next to an interaction file or folder, or None.

    Looked for, first match wins: ``u.item`` (next to ``u.data``), ``movies.dat``,
    ``movies.csv``, ``<stem>.item`` (next to ``<stem>.inter`` or any file), ``<folder>.item``,
    ``meta_<stem>.json``/``.jsonl``, ``items.csv``/``items.tsv``/``items.parquet``.
    """
    path = Path(interactions_path)
    folder = path if path.is_dir() else path.parent
    stem = path.name.split(".")[0] if path.is_file() else folder.name
    names = ["u.item", "movies.dat", "movies.csv", f"{stem}.item", f"{folder.name}.item",
             f"meta_{stem}.json", f"meta_{stem}.jsonl", "items.csv", "items.tsv", "items.parquet"]
    for name in names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def detect_item_format(path: Path) -> str:
    """The item format of ``path`` from its name (and, for JSON, nothing else)."""
    name = Path(path).name.lower()
    if name == "u.item":
        return "grouplens-item"
    if name.endswith(".item"):
        return "atomic-item"
    if name == "movies.dat":
        return "grouplens-movies-dat"
    if name == "movies.csv":
        return "grouplens-movies-csv"
    if name.endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz")):
        return "amazon-json"
    if name.endswith(".csv"):
        return "items-csv"
    if name.endswith(".tsv"):
        return "items-tsv"
    if name.endswith((".parquet", ".pq")):
        return "items-parquet"
    raise DataError(f"{path}: cannot tell the item metadata format from the name; pass "
                    f"item_format (one of {', '.join(ITEM_FORMATS)})")


def check_item_columns(columns: Mapping[str, Any]) -> dict[str, Any]:
    """``columns`` for a generic item table: roles of ``ITEM_ROLES`` to a column name (or a
    list of names for the field roles); ConfigError naming ``item_columns`` otherwise."""
    unknown = [k for k in columns if k not in ITEM_ROLES]
    if unknown:
        raise ConfigError(f"item_columns: unknown role(s) {', '.join(map(repr, unknown))}; use "
                          f"{', '.join(ITEM_ROLES)} (e.g. item_columns={{'item': 'asin', "
                          "'title': 'title', 'tokens': ['genres']}})")
    for role, value in columns.items():
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names) \
                or (role == "item" and len(names) != 1):
            raise ConfigError(f"item_columns[{role!r}] must be a column name"
                              f"{'' if role == 'item' else ' or a list of names'}, got {value!r}")
    return dict(columns)


def read_items(path: str | Path, *, format: str | None = None,
               columns: Mapping[str, Any] | None = None) -> RawItems:
    """Read an item metadata file (see the module docstring for the formats)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"{path}: no such item metadata file")
    if format is None:
        format = detect_item_format(path)
    elif format not in ITEM_FORMATS:
        raise ConfigError(f"item_format {format!r} is unknown; use one of: {', '.join(ITEM_FORMATS)}")
    if columns is not None:
        columns = check_item_columns(columns)
        if not format.startswith("items-"):
            raise ConfigError(f"item_columns only applies to the items-csv, items-tsv and "
                              f"items-parquet formats, not {format!r}; drop it")
    reader = _ITEM_READERS[format]
    raw = reader(path, columns) if format.startswith("items-") else reader(path)
    raw.report.setdefault("item_rows_read", len(raw))
    return _deduplicate(raw)


def _deduplicate(raw: RawItems) -> RawItems:
    from recplug.data.interactions import _factorize

    codes, uniques = _factorize(raw.ids)
    if len(uniques) == len(raw.ids):
        return raw
    first = np.zeros(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    first.sort()
    dropped = len(raw.ids) - len(first)
    example = raw.ids[np.setdiff1d(np.arange(len(raw.ids)), first)[0]]
    warnings.warn(ItemDataWarning(f"{raw.source}: {dropped} metadata row(s) repeat an item id "
                                  f"(e.g. {example!r}); the first row of each id is kept"), stacklevel=3)
    raw.report["duplicate_item_rows"] = int(dropped)
    fields = {n: ItemField(n, f.kind, f.values[first]) for n, f in raw.fields.items()}
    return RawItems(raw.ids[first], fields, raw.format, raw.source, raw.report)


def _object(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    text = " ".join(str(value).split())
    return text or None


def _tokens(value: Any, sep: str | None = TOKEN_SEPARATOR) -> tuple[str, ...] | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        parts = [str(v).strip() for v in value]
    else:
        parts = [p.strip() for p in (str(value).split(sep) if sep else str(value).split())]
    parts = [p for p in parts if p]
    return tuple(parts) or None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _item_ids(values: Sequence[Any], path: Path, first_line: int | None) -> np.ndarray:
    from recplug.data.loaders import _canonical_ints

    array = _object(values)
    for row, value in enumerate(array.tolist()):
        if value is None or (isinstance(value, float) and not np.isfinite(value)) or str(value).strip() == "":
            where = f"line {first_line + row}" if first_line is not None else f"row {row + 1}"
            raise DataError(f"{path}, {where}: missing item id; every metadata row needs one")
    if all(isinstance(v, (int, np.integer)) for v in array.tolist()):
        return array.astype(np.int64)
    return _canonical_ints(np.asarray([str(v).strip() for v in array.tolist()], dtype=object))


def _read_lines(path: Path, encoding: str) -> list[str]:
    try:
        return [line.rstrip("\r\n") for line in path.read_text(encoding=encoding).splitlines()]
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not {encoding} text ({exc.reason} at byte {exc.start})") from None


# ---- MovieLens ------------------------------------------------------------------------
def _split_title(title: str | None) -> tuple[str | None, float | None]:
    """``"Toy Story (1995)"`` -> ``("Toy Story", 1995.0)``."""
    if title is None:
        return None, None
    text = title.strip()
    if len(text) > 7 and text.endswith(")") and text[-6] == "(" and text[-5:-1].isdigit():
        return text[:-6].strip() or None, float(text[-5:-1])
    return text or None, None


def _read_u_item(path: Path) -> RawItems:
    genres = list(_ML100K_GENRES)
    genre_file = path.parent / "u.genre"
    if genre_file.is_file():
        pairs = [line.split("|") for line in _read_lines(genre_file, "latin-1") if line.strip()]
        named = sorted((int(i), name) for name, i in pairs)
        genres = [name for _, name in named]
    ids, titles, years, dates, urls, kinds = [], [], [], [], [], []
    for number, line in enumerate(_read_lines(path, "latin-1"), 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) != 5 + len(genres):
            raise DataError(f"{path}, line {number}: expected {5 + len(genres)} '|'-separated fields "
                            f"(id|title|release date|video date|URL|{len(genres)} genre flags), "
                            f"found {len(parts)}")
        title, year = _split_title(_text(parts[1]))
        flags = parts[5:]
        if any(f not in ("0", "1") for f in flags):
            raise DataError(f"{path}, line {number}: genre flags must be 0 or 1, got {flags!r}")
        ids.append(parts[0]); titles.append(title); years.append(year)
        dates.append(_text(parts[2])); urls.append(_text(parts[4]))
        kinds.append(tuple(g for g, f in zip(genres, flags) if f == "1") or None)
    fields = {"title": ItemField("title", "text", _object(titles)),
              "year": ItemField("year", "number", _object(years)),
              "genres": ItemField("genres", "tokens", _object(kinds)),
              "release_date": ItemField("release_date", "text", _object(dates)),
              "url": ItemField("url", "text", _object(urls))}
    return RawItems(_item_ids(ids, path, 1), fields, "grouplens-item", str(path))


def _read_movies_dat(path: Path) -> RawItems:
    ids, titles, years, kinds = [], [], [], []
    for number, line in enumerate(_read_lines(path, "latin-1"), 1):
        if not line.strip():
            continue
        parts = line.split("::")
        if len(parts) != 3:
            raise DataError(f"{path}, line {number}: expected id::title::genres, found "
                            f"{len(parts)} '::'-separated fields")
        title, year = _split_title(_text(parts[1]))
        ids.append(parts[0]); titles.append(title); years.append(year)
        kinds.append(_genres(parts[2]))
    return _movie_items(ids, titles, years, kinds, path, "grouplens-movies-dat", 1)


def _genres(text: str) -> tuple[str, ...] | None:
    tokens = _tokens(text)
    return None if tokens is None or tokens == ("(no genres listed)",) else tokens


def _read_movies_csv(path: Path) -> RawItems:
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("movieId", "title", "genres") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}, line 1: header lacks {', '.join(missing)} (found "
                        f"{', '.join(map(str, frame.columns))}); a MovieLens movies.csv starts with "
                        "movieId,title,genres -- for other tables use item_format='items-csv'")
    split = [_split_title(_text(t)) for t in frame["title"].tolist()]
    return _movie_items(frame["movieId"].tolist(), [s[0] for s in split], [s[1] for s in split],
                        [_genres(g) for g in frame["genres"].tolist()], path, "grouplens-movies-csv", 2)


def _movie_items(ids, titles, years, kinds, path: Path, fmt: str, first_line: int) -> RawItems:
    fields = {"title": ItemField("title", "text", _object(titles)),
              "year": ItemField("year", "number", _object(years)),
              "genres": ItemField("genres", "tokens", _object(kinds))}
    return RawItems(_item_ids(ids, path, first_line), fields, fmt, str(path))


# ---- RecBole atomic .item -------------------------------------------------------------
def _read_atomic_item(path: Path) -> RawItems:
    lines = _read_lines(path, "utf-8")
    if not lines:
        raise DataError(f"{path}: the file is empty")
    header = lines[0].split("\t")
    specs = []
    for position, spec in enumerate(header, 1):
        name, sep, kind = spec.strip().rpartition(":")
        if not sep or not name or kind not in ("token", "token_seq", "float", "float_seq"):
            raise DataError(f"{path}, line 1, field {position}: {spec!r} is not name:type with type "
                            "in token, token_seq, float, float_seq; a RecBole .item header looks like "
                            "item_id:token<TAB>movie_title:token_seq<TAB>class:token_seq")
        specs.append((name, kind))
    names = [n for n, _ in specs]
    if "item_id" not in names:
        raise DataError(f"{path}, line 1: no item_id field (fields: {', '.join(names)}); a RecBole "
                        ".item file keys its rows by item_id:token")
    columns: list[list[Any]] = [[] for _ in specs]
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != len(specs):
            raise DataError(f"{path}, line {number}: expected {len(specs)} tab-separated fields "
                            f"(one per header field), found {len(parts)}")
        for column, value in zip(columns, parts):
            column.append(value)
    id_column = names.index("item_id")
    fields: dict[str, ItemField] = {}
    unused = []
    for (name, kind), values in zip(specs, columns):
        if name == "item_id":
            continue
        if kind == "float_seq":
            unused.append(name)
        elif kind == "float":
            fields[name] = ItemField(name, "number", _object([_number(v) for v in values]))
        elif kind == "token_seq" and any(h in name.lower() for h in _TEXT_HINTS):
            fields[name] = ItemField(name, "text", _object([_text(v) for v in values]))
        elif kind == "token_seq":
            fields[name] = ItemField(name, "tokens", _object([_tokens(v, None) for v in values]))
        else:
            fields[name] = ItemField(name, "tokens", _object([_tokens(v, None) for v in values]))
    raw = RawItems(_item_ids(columns[id_column], path, 2), fields, "atomic-item", str(path))
    if unused:
        raw.report["item_fields_not_used"] = ", ".join(f"{n} (float_seq)" for n in unused)
    return raw


# ---- Amazon metadata ------------------------------------------------------------------
def _read_amazon_json(path: Path) -> RawItems:
    import gzip

    opener = gzip.open if path.name.endswith(".gz") else open
    records, malformed, first_bad = [], 0, None
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    try:  # the 2014 dumps are Python literals, not JSON
                        record = ast.literal_eval(line)
                    except (ValueError, SyntaxError, MemoryError, RecursionError):
                        record = None
                if not isinstance(record, dict):
                    malformed += 1
                    first_bad = first_bad or number
                    continue
                records.append((number, record))
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
    if not records:
        raise DataError(f"{path}: no JSON object found; Amazon metadata has one object per line")
    without_id = [n for n, r in records if not _text(r.get("asin"))]
    if without_id:
        raise DataError(f"{path}, line {without_id[0]}: no 'asin' (item id) in this record; "
                        f"{len(without_id)} record(s) lack one")
    def get(record: dict, *keys: str) -> Any:
        for key in keys:
            if record.get(key) not in (None, "", []):
                return record[key]
        return None

    def categories(value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        flat = [c for group in value for c in (group if isinstance(group, list) else [group])]
        return _tokens(list(dict.fromkeys(flat)))

    def description(value: Any) -> str | None:
        return _text(" ".join(map(str, value)) if isinstance(value, list) else value)

    def image(value: Any) -> str | None:
        return _text(value[0] if isinstance(value, list) and value else value)

    rows = [r for _, r in records]
    fields = {
        "title": ItemField("title", "text", _object([_text(get(r, "title")) for r in rows])),
        "brand": ItemField("brand", "text", _object([_text(get(r, "brand")) for r in rows])),
        "categories": ItemField("categories", "tokens", _object(
            [categories(get(r, "categories", "category")) for r in rows])),
        "description": ItemField("description", "text", _object(
            [description(get(r, "description")) for r in rows])),
        "price": ItemField("price", "number", _object(
            [_number(str(get(r, "price") or "").lstrip("$").replace(",", "")) for r in rows])),
        "image": ItemField("image", "image", _object(
            [image(get(r, "imUrl", "imageURLHighRes", "imageURL", "image")) for r in rows])),
    }
    raw = RawItems(_item_ids([r["asin"] for r in rows], path, None), fields, "amazon-json", str(path))
    if malformed:
        warnings.warn(ItemDataWarning(f"{path}: {malformed} line(s) are neither JSON nor a Python "
                                      f"dict literal (first: line {first_bad}); they are left out"),
                      stacklevel=3)
        raw.report["malformed_item_lines"] = malformed
    return raw


# ---- generic tables -------------------------------------------------------------------
def _read_generic(sep: str | None, fmt: str):
    def read(path: Path, columns: Mapping[str, Any] | None) -> RawItems:
        import pandas as pd

        try:
            if sep is None:
                frame = pd.read_parquet(path)
            else:
                frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""])
        except ImportError:
            raise DataError(f"{path}: reading Parquet needs pyarrow; pip install 'recplug[parquet]'") from None
        except Exception as exc:  # pandas/pyarrow raise many types for broken files
            raise DataError(f"{path}: not a readable item table ({exc})") from None
        return _generic_items(frame, path, fmt, columns or {})

    return read


def _generic_items(frame: Any, path: Path, fmt: str, columns: Mapping[str, Any]) -> RawItems:
    header = [str(c) for c in frame.columns]
    lowered = {h.lower(): h for h in header}
    id_column = columns.get("item")
    if id_column is None:
        id_column = next((lowered[n] for n in _ID_NAMES if n in lowered), None)
    if id_column is None or id_column not in header:
        raise DataError(f"{path}: no item id column{f' {id_column!r}' if id_column else ''} "
                        f"(columns: {', '.join(header)}); pass item_columns={{'item': '<column>'}}")
    roles: list[tuple[str, str]] = []  # (column, kind)
    if set(columns) - {"item"}:
        for role, value in columns.items():
            if role == "item":
                continue
            for name in [value] if isinstance(value, str) else value:
                if name not in header:
                    raise DataError(f"{path}: no column {name!r} for the {role} field (columns: "
                                    f"{', '.join(header)}); fix item_columns")
                roles.append((name, "text" if role == "title" else role))
    else:
        for name in header:
            if name != id_column:
                roles.append((name, _guess_kind(name, frame[name])))
    fields = {}
    for name, kind in roles:
        values = frame[name].tolist()
        convert = {"text": _text, "tokens": _tokens, "number": _number, "image": _text}[kind]
        fields[name] = ItemField(name, kind, _object([convert(v) for v in values]))
    first_line = None if fmt == "items-parquet" else 2
    raw = RawItems(_item_ids(frame[id_column].tolist(), path, first_line), fields, fmt, str(path))
    raw.report["item_columns"] = ", ".join(f"{n}={k}" for n, k in roles)
    return raw


def _guess_kind(name: str, column: Any) -> str:
    lower = name.lower()
    if any(h in lower for h in _IMAGE_HINTS):
        return "image"
    values = [v for v in column.tolist() if v is not None and not (isinstance(v, float) and np.isnan(v))]
    if values and all(str(v).lower().endswith(_IMAGE_SUFFIXES) for v in values):
        return "image"
    if values and all(_number(v) is not None for v in values):
        return "number"
    if values and sum(TOKEN_SEPARATOR in str(v) for v in values) >= len(values) / 2:
        return "tokens"
    return "text"


_ITEM_READERS = {
    "grouplens-item": _read_u_item,
    "grouplens-movies-dat": _read_movies_dat,
    "grouplens-movies-csv": _read_movies_csv,
    "atomic-item": _read_atomic_item,
    "amazon-json": _read_amazon_json,
    "items-csv": _read_generic(",", "items-csv"),
    "items-tsv": _read_generic("\t", "items-tsv"),
    "items-parquet": _read_generic(None, "items-parquet"),
}


# ---- alignment with the vocabulary -------------------------------------------------------
def align_items(raw: RawItems, item_ids: np.ndarray, *, file_ids: np.ndarray | None = None,
                add_unseen: bool = True) -> tuple[np.ndarray, ItemTable, dict[str, int]]:
    """Line ``raw`` up with the dataset's item raw ids ``item_ids`` (vocabulary order).

    ``file_ids`` are the item ids of the interaction file before any filter (default
    ``item_ids``): a metadata item among them that the filters removed stays removed
    (counted). Metadata items in neither are *unseen* and appended to the vocabulary
    (file order) when ``add_unseen``, else counted and left out. Returns the new vocabulary
    ids, the :class:`ItemTable` over them and the counts. DataError when no metadata id
    matches an interaction's item id (a wrong id column, or ids written differently).
    """
    from recplug.data.interactions import Vocabulary
    from recplug.data.loaders import _canonical_ints

    meta_ids = raw.ids
    vocab = Vocabulary(item_ids)
    in_file = Vocabulary(file_ids) if file_ids is not None else vocab
    position = vocab.lookup(meta_ids)
    in_raw_file = in_file.lookup(meta_ids) >= 0
    if not in_raw_file.any():
        sample_meta, sample_data = meta_ids[:3].tolist(), list(item_ids[:3].tolist())
        raise DataError(f"{raw.source}: none of its {len(meta_ids)} item ids matches an item of the "
                        f"interactions (metadata ids e.g. {sample_meta}, interaction ids e.g. "
                        f"{sample_data}); check that both files describe the same items and, for a "
                        "generic table, pass item_columns={'item': '<id column>'}")
    removed = in_raw_file & (position < 0)
    unseen = ~in_raw_file
    counts = {"metadata_items_removed_by_filters": int(removed.sum()),
              "unseen_items": int(unseen.sum()) if add_unseen else 0,
              "unseen_items_left_out": 0 if add_unseen else int(unseen.sum())}
    ids = np.asarray(item_ids)
    if add_unseen and unseen.any():
        extra = meta_ids[unseen]
        if ids.dtype != extra.dtype:
            ids = _canonical_ints(np.concatenate([ids.astype(object), extra.astype(object)]))
        else:
            ids = np.concatenate([ids, extra])
        position = np.where(unseen, len(item_ids) + np.cumsum(unseen) - 1, position)
    keep = position >= 0
    rows, targets = np.flatnonzero(keep), position[keep]
    fields = {}
    for name, f in raw.fields.items():
        values = np.empty(len(ids), dtype=object)
        values[:] = None
        values[targets] = f.values[rows]
        fields[name] = ItemField(name, f.kind, values)
    has = np.zeros(len(ids), dtype=bool)
    has[targets] = True
    counts["items_with_metadata"] = int(has.sum())
    counts["items_without_metadata"] = int((~has).sum())
    root = str(Path(raw.source).parent)
    missing = _drop_missing_images(fields, root, raw.source)
    if missing:
        counts["missing_image_files"] = missing
    table = ItemTable(ids, fields, has, source=raw.source, format=raw.format, root=root,
                      report={**raw.report, **counts})
    return ids, table, counts


def _drop_missing_images(fields: dict[str, ItemField], root: str, source: str) -> int:
    """Set local image paths that are not files to None (URLs are not checked); warns
    with the count and returns it."""
    missing, example = 0, None
    for f in fields.values():
        if f.kind != "image":
            continue
        for row, value in enumerate(f.values.tolist()):
            if value is None:
                continue
            resolved = _resolve_image(value, root)
            if "://" not in resolved and not Path(resolved).is_file():
                f.values[row] = None
                missing += 1
                example = example or value
    if missing:
        warnings.warn(ItemDataWarning(f"{source}: {missing} image path(s) are not readable files "
                                      f"(e.g. {example}); those items have no image"), stacklevel=4)
    return missing
