"""The catalogue of published results (``catalogue.toml`` beside this file) as entries.

An :class:`Entry` is one published configuration: model, dataset, protocol, the published
metric values, where they come from, and the recplug configuration meant to reach them.
:meth:`Entry.availability` says whether this installation can run it (the model is
installed, the split exists) without loading any data.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recplug.errors import ConfigError

CATALOGUE = Path(__file__).with_name("catalogue.toml")
PROTOCOLS = ("full", "sampled", "rating")
AVAILABLE = "available"


@dataclass(frozen=True)
class Entry:
    """One published result. ``published``: metric name ("NDCG@10", "RMSE") -> value."""

    id: str
    model: str
    dataset: str
    task: str
    split: str
    protocol: str
    published: dict[str, float]
    source: str
    url: str
    seeds: tuple[int, ...] = (0,)
    split_params: dict[str, Any] = field(default_factory=dict)
    negatives: int | None = None
    set: dict[str, Any] = field(default_factory=dict)
    epochs: int | None = None
    patience: int = 5
    refit: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    cost: str = ""
    notes: str = ""
    decimals: int = 4  #: the published values' precision (Surprise: 3); a value stands for ± half a unit

    @property
    def protocol_label(self) -> str:
        """``"loo, full ranking"``, ``"loo, 100 sampled negatives"``, ``"kfold (5), rating"``."""
        split = self.split + (f" ({self.split_params['folds']})" if "folds" in self.split_params else "")
        if self.protocol == "sampled":
            return f"{split}, {self.negatives} sampled negatives"
        return f"{split}, {'full ranking' if self.protocol == 'full' else 'rating'}"

    def availability(self) -> str:
        """``"available"``, or why this installation cannot run the entry:
        ``"model not available (...)"`` or ``"split not available (...)"``."""
        from recplug.discovery import load_model_class
        from recplug.errors import PluginError
        from recplug.splits import SPLITS

        if self.split not in SPLITS:
            return f"split not available ({self.split})"
        try:
            load_model_class(self.model)
        except PluginError as exc:
            return f"model not available ({type(exc).__name__}: {str(exc)[:120]})"
        return AVAILABLE


def _entry(raw: dict[str, Any], where: str) -> Entry:
    try:
        entry = Entry(**{**raw, "seeds": tuple(raw.get("seeds", (0,))),
                         "published": {str(k): float(v) for k, v in raw["published"].items()}})
    except (TypeError, KeyError, ValueError) as exc:
        raise ConfigError(f"{where}: malformed entry {raw.get('id', '?')!r} ({exc})") from None
    if entry.protocol not in PROTOCOLS:
        raise ConfigError(f"{where}: entry {entry.id}: protocol must be one of {', '.join(PROTOCOLS)}, "
                          f"got {entry.protocol!r}")
    if (entry.protocol == "sampled") != (entry.negatives is not None):
        raise ConfigError(f"{where}: entry {entry.id}: negatives goes with protocol 'sampled' only")
    if (entry.protocol == "rating") != (entry.task == "rating"):
        raise ConfigError(f"{where}: entry {entry.id}: protocol 'rating' goes with task 'rating'")
    return entry


def load_catalogue(path: str | Path | None = None) -> dict[str, Entry]:
    """Every entry of the catalogue file (default :data:`CATALOGUE`), by id, in file order."""
    path = Path(CATALOGUE if path is None else path)
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    entries: dict[str, Entry] = {}
    for item in raw.get("entry", []):
        entry = _entry(item, str(path))
        if entry.id in entries:
            raise ConfigError(f"{path}: entry id {entry.id!r} appears twice")
        entries[entry.id] = entry
    return entries


def get_entry(entry_id: str, catalogue: dict[str, Entry] | None = None) -> Entry:
    """The entry ``entry_id``; ConfigError listing the ids when unknown."""
    catalogue = load_catalogue() if catalogue is None else catalogue
    if entry_id not in catalogue:
        raise ConfigError(f"entry {entry_id!r} is not in the catalogue; known: {', '.join(catalogue)} "
                          "(see `recplug reproduce --list`)")
    return catalogue[entry_id]
