"""A loaded dataset and :func:`load_dataset`, the one way in from files or registry names."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from recplug.data import filters, registry
from recplug.data.interactions import Interactions
from recplug.errors import ConfigError, DataError, DatasetNotFoundError

if TYPE_CHECKING:
    from recplug.data.items import ItemTable, RawItems
    from recplug.data.loaders import Table


@dataclass(frozen=True)
class DataOptions:
    """How to read and filter a dataset (the keyword arguments of :func:`load_dataset`).

    :meth:`check` validates them without touching any file; :meth:`canonical` is what
    shapes the interactions (everything but ``offline`` and the item options), part of the
    dataset fingerprint. The item metadata changes the fingerprint through the vocabulary
    only (its unseen items); its content has its own, :meth:`ItemTable.fingerprint`.

    ``items``: ``None`` attaches the metadata file found next to the interactions
    (:func:`recplug.data.items.find_item_file`), a path attaches that file, ``False``
    attaches none. ``item_format``/``item_columns`` steer its reader.
    """

    format: str | None = None
    columns: Mapping[str, Any] | None = None
    min_rating: float | None = None
    kcore: int | None = None
    offline: bool = False
    items: str | Path | bool | None = None
    item_format: str | None = None
    item_columns: Mapping[str, Any] | None = None

    def check(self) -> "DataOptions":
        """Raise ConfigError naming the argument when a value is out of range; returns self."""
        if self.format is not None:
            from recplug.data.loaders import FORMATS

            if self.format not in FORMATS:
                raise ConfigError(f"format {self.format!r} is unknown; use one of: {', '.join(FORMATS)}")
        if self.columns is not None:
            from recplug.data.loaders import check_columns

            check_columns(self.columns)
        if self.min_rating is not None and (isinstance(self.min_rating, bool) or not isinstance(
                self.min_rating, (int, float)) or not math.isfinite(self.min_rating)):
            raise ConfigError(f"min_rating must be a finite number, got {self.min_rating!r}")
        if self.kcore is not None and (isinstance(self.kcore, bool) or not isinstance(self.kcore, int)
                                       or self.kcore < 1):
            raise ConfigError(f"kcore must be an integer >= 1, got {self.kcore!r}")
        if self.items is not None and not isinstance(self.items, (str, Path)) and self.items is not False:
            raise ConfigError(f"items must be a metadata file path, None (found next to the "
                              f"interactions) or False (none), got {self.items!r}")
        if self.item_format is not None:
            from recplug.data.items import ITEM_FORMATS

            if self.item_format not in ITEM_FORMATS:
                raise ConfigError(f"item_format {self.item_format!r} is unknown; use one of: "
                                  f"{', '.join(ITEM_FORMATS)}")
        if self.item_columns is not None:
            from recplug.data.items import check_item_columns

            check_item_columns(self.item_columns)
        return self

    def canonical(self) -> dict[str, Any]:
        """The options that change the loaded rows, without the unset ones (JSON-ready)."""
        shaping = {k: v for k, v in asdict(self).items() if k not in _NOT_SHAPING and v is not None}
        if "columns" in shaping:
            shaping["columns"] = dict(sorted(dict(shaping["columns"]).items()))
        return shaping

    def load_kwargs(self) -> dict[str, Any]:
        return asdict(self)


_NOT_SHAPING = ("offline", "items", "item_format", "item_columns")


@dataclass(frozen=True)
class Dataset:
    """Interactions plus where they came from and what the loader did.

    ``interactions`` holds all rows in stable chronological order. ``predefined`` is set
    for pre-split sources: ``{"train": mask, "test": mask}``, boolean masks over the
    rows (LightGCN folders: the train rows come first, then the test rows). ``report``
    counts what happened: rows read, duplicates, rows removed by each filter, ...
    ``items`` is the item side information (:class:`~recplug.data.items.ItemTable`, one row
    per item index) when a metadata file was attached, else None; its items that no
    interaction mentions are in the vocabulary too (``report["unseen_items"]``).
    """

    name: str
    interactions: Interactions
    source: str
    predefined: dict[str, np.ndarray] | None = None
    report: dict[str, int | float | str] = field(default_factory=dict)
    options: DataOptions = field(default_factory=DataOptions)  #: how it was read and filtered
    items: ItemTable | None = None

    def __post_init__(self) -> None:
        if self.items is not None and self.items.n_items != self.interactions.n_items:
            raise DataError(f"{self.name}: the item table has {self.items.n_items} rows, the "
                            f"item vocabulary {self.interactions.n_items}")
        if self.predefined is not None:
            n = len(self.interactions)
            for part in ("train", "test"):
                mask = self.predefined.get(part)
                if mask is None or mask.dtype != bool or mask.shape != (n,):
                    raise DataError(f"{self.name}: predefined[{part!r}] must be a bool mask over the "
                                    f"{n} rows")
            if (self.predefined["train"] & self.predefined["test"]).any():
                raise DataError(f"{self.name}: a row cannot be in both predefined train and test")
            for mask in self.predefined.values():
                mask.flags.writeable = False

    def fingerprint(self) -> str:
        """The interactions' fingerprint, combined with the data options when any shaped them
        (hex, 16 chars): the same file read with another ``columns`` or ``kcore`` differs."""
        base = self.interactions.fingerprint()
        shaping = self.options.canonical()
        if not shaping:
            return base
        text = base + json.dumps(shaping, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_dataset(name_or_path: str | Path, *, format: str | None = None,
                 columns: Mapping[str, Any] | None = None, min_rating: float | None = None,
                 kcore: int | None = None, offline: bool = False,
                 items: str | Path | bool | None = None, item_format: str | None = None,
                 item_columns: Mapping[str, Any] | None = None) -> Dataset:
    """Load a file, a folder, or a registered dataset by name.

    An existing path wins over a registry name. A name is looked up in
    ``RECPLUG_DATA_DIR``, then in the cache, then downloaded (unless ``offline``).
    ``format``/``columns`` steer the reader (see :mod:`recplug.data.loaders`).
    ``min_rating`` keeps rows rated >= it (implicit positives); ``kcore`` then keeps the
    largest sub-table where every user and item has >= ``kcore`` rows. ``items`` attaches
    item side information (see :class:`DataOptions`; by default the metadata file next to
    the interactions, such as ``u.item`` or ``<name>.item``). Bad option values raise
    ConfigError before any file is read (:meth:`DataOptions.check`).
    """
    from recplug.data import loaders  # pandas is imported on first load, not on import

    options = DataOptions(format, columns, min_rating, kcore, offline, items, item_format,
                          item_columns).check()
    path, name = _resolve(name_or_path, offline)
    table = loaders.read_table(path, format=format, columns=columns)
    raw_items = loaders.read_item_metadata(path, items, format=item_format, columns=item_columns)
    return build_dataset(table, name=name, min_rating=min_rating, kcore=kcore, options=options,
                         items=raw_items)


def build_dataset(table: Table, *, name: str, min_rating: float | None = None,
                  kcore: int | None = None, options: DataOptions | None = None,
                  items: RawItems | None = None) -> Dataset:
    """Sort a :class:`~recplug.data.loaders.Table` chronologically, filter it, attach the
    item metadata ``items`` (unseen items join the vocabulary unless ``kcore`` is set:
    they have no rows), and wrap it."""
    report: dict[str, Any] = dict(table.report)
    order = (np.argsort(table.timestamps, kind="stable") if table.timestamps is not None
             else np.arange(len(table)))
    take = lambda a: None if a is None else a[order]  # noqa: E731
    data = Interactions.from_arrays(table.users[order], table.items[order],
                                    take(table.timestamps), take(table.ratings), name=name)
    part = take(table.part)
    keep = np.ones(len(data), dtype=bool)
    if min_rating is not None:
        keep &= filters.min_rating_mask(data, float(min_rating))
        report["min_rating"] = float(min_rating)
        report["rows_below_min_rating"] = int((~keep).sum())
    if kcore is not None:
        before = int(keep.sum())
        keep, rounds = filters.kcore_mask(data, kcore, keep)
        report.update(kcore=int(kcore), kcore_rounds=rounds,
                      rows_removed_by_kcore=before - int(keep.sum()))
    if not keep.all():
        if not keep.any():
            raise DataError(f"{name}: the filters removed every row (min_rating={min_rating}, "
                            f"kcore={kcore}); relax them")
        data = filters.compact(data.with_rows(keep))
        part = None if part is None else part[keep]
    predefined = None
    if part is not None:
        predefined = {"train": part == 0, "test": part == 1}
        report["train_rows"] = int(predefined["train"].sum())
        report["test_rows"] = int(predefined["test"].sum())
    item_table = None
    if items is not None:
        data, item_table = _attach_items(data, items, file_ids=table.items, add_unseen=kcore is None)
        report.update(items_source=item_table.source, items_format=item_table.format,
                      **{k: v for k, v in item_table.report.items() if k not in ("items_source",)})
    report.update(users=data.n_users, items=data.n_items, interactions=len(data),
                  duplicates=int(data.n_duplicates))
    return Dataset(name=name, interactions=data, source=table.source, predefined=predefined,
                   report=report, options=options or DataOptions(min_rating=min_rating, kcore=kcore),
                   items=item_table)


def _attach_items(data: Interactions, raw: RawItems, *, file_ids: np.ndarray,
                  add_unseen: bool) -> tuple[Interactions, ItemTable]:
    """``data`` with the unseen metadata items appended to its item vocabulary (same rows,
    same indices for the items it had), and the aligned item table."""
    from recplug.data.interactions import Vocabulary
    from recplug.data.items import align_items

    ids, table, _ = align_items(raw, data.item_vocab.ids, file_ids=np.unique(file_ids),
                                add_unseen=add_unseen)
    if len(ids) != data.n_items:
        data = Interactions(data.users, data.items, data.user_vocab, Vocabulary(ids),
                            data.timestamps, data.ratings, name=data.name)
    return data, table


def check_source(name_or_path: str | Path, *, offline: bool = False) -> None:
    """DatasetNotFoundError now, without reading or downloading anything, when
    ``name_or_path`` is neither an existing path nor a registered name, or is a registered
    name with no local copy while offline (``offline`` or ``RECPLUG_OFFLINE``)."""
    import os

    if Path(name_or_path).expanduser().exists():
        return
    spec = _registered(str(name_or_path))
    offline = offline or os.environ.get("RECPLUG_OFFLINE", "") not in ("", "0")
    if offline and registry.find_local(spec) is None:
        raise DatasetNotFoundError(f"dataset {spec.name!r} is not available locally and recplug "
                                   f"is offline; {registry.placement_hint(spec)}")


def _registered(key: str) -> registry.DatasetSpec:
    if key not in registry.REGISTRY:
        raise DatasetNotFoundError(
            f"{key!r} is neither an existing file or folder nor a registered dataset "
            f"({', '.join(registry.REGISTRY)}); check the path or the name")
    return registry.REGISTRY[key]


def _resolve(name_or_path: str | Path, offline: bool) -> tuple[Path, str]:
    """``(path to read, dataset name)`` for a path or a registry name."""
    from recplug.data import loaders

    path = Path(name_or_path).expanduser()
    if path.exists():
        return path, loaders.dataset_name(path)
    spec = _registered(str(name_or_path))
    local = registry.locate_in_data_dirs(spec)
    if local is not None:
        return local, spec.name
    from recplug.data.download import fetch

    folder = fetch(spec, offline=offline)
    found = spec.load_path(folder)
    assert found is not None  # fetch only returns folders holding a layout
    return found, spec.name
