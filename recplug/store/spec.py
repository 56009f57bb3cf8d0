"""What identifies a run (:class:`RunSpec`) and a run read back from the store (:class:`RunRecord`)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import PurePath
from typing import Any, Callable

import numpy as np

from recplug.errors import ConfigError
from recplug.vocabulary import RATING_PROTOCOL

#: ``"full"`` or ``"sampled:<negatives>:<sampler>"`` (ranking), or ``"rating"`` (DESIGN.md §5).
PROTOCOL_PATTERN = re.compile(r"^(full|rating|sampled:[1-9][0-9]*:[A-Za-z_][A-Za-z0-9_-]*)$")


#: ``running`` (claimed, in progress), ``done``, ``failed`` (an error), ``interrupted``
#: (stopped before it finished: Ctrl-C, SIGTERM, a dead owner); only ``done`` runs are ranked.
RUN_STATUSES = ("running", "done", "failed", "interrupted")


def qualified_name(model: str, plugin_dist: str) -> str:
    """``"dist:name"``: ``model`` as given when it already names its distribution."""
    return model if ":" in model else f"{plugin_dist}:{model}"


def short_name(model: str) -> str:
    """The model name without its distribution: ``"recplug:pop"`` -> ``"pop"``."""
    return model.split(":", 1)[-1]


def _jsonable(value: Any) -> Any:
    """``json.dumps`` fallback: NumPy scalars/arrays, paths, sets; anything else is refused."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serialisable")


def canonical_json(value: Any, *, what: str = "value") -> str:
    """Canonical JSON text of ``value``: sorted keys, no spaces, UTF-8, no NaN/inf.

    Tuples become lists, NumPy scalars become Python numbers. ``what`` names the value
    in the :class:`~recplug.errors.ConfigError` raised for anything JSON cannot hold.
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False, default=_jsonable)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{what} must hold only JSON values (str, int, float, bool, None, lists, dicts "
            f"with str keys; no NaN/inf): {exc}") from None


def _normalised(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{what} must be a dict, got {type(value).__name__}")
    return json.loads(canonical_json(value, what=what))


@dataclass(frozen=True)
class RunSpec:
    """Everything that identifies one evaluation run; equal specs give equal numbers.

    ``hyperparameters`` and ``split_params`` are normalised to their JSON form at
    construction (tuples -> lists, NumPy scalars -> numbers), so a spec read back from the
    store equals the one written. ``protocol`` is ``"full"`` or ``"sampled:N:sampler"``
    (ranking) or ``"rating"``; ``ks`` are the cut-offs, stored sorted and unique (empty for
    rating runs, which rank nothing; their ``ties`` is ``"none"``).

    ``model`` is the qualified name ``"dist:name"``; a bare name is qualified with
    ``plugin_dist`` (``"pop"`` from ``"recplug"`` -> ``"recplug:pop"``), so both spellings
    are one configuration. ``training`` holds the training settings that can change a
    result (``refit``, ``max_epochs``, ``patience``, ``valid_metric``, ...), normalised
    like ``hyperparameters``; ``{}`` for runs stored before they were recorded.
    """

    model: str
    plugin_dist: str
    plugin_version: str
    hyperparameters: dict
    dataset: str
    dataset_fingerprint: str
    split: str
    split_params: dict
    seed: int
    protocol: str
    ties: str
    ks: tuple[int, ...]
    training: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("model", "plugin_dist", "plugin_version", "dataset", "dataset_fingerprint",
                     "split", "ties"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"RunSpec.{name} must be a non-empty string, got {value!r}")
        if not isinstance(self.protocol, str) or not PROTOCOL_PATTERN.match(self.protocol):
            raise ConfigError(
                f"RunSpec.protocol must be 'full', 'rating' or 'sampled:<negatives>:<sampler>' "
                f"(e.g. 'sampled:100:uniform'), got {self.protocol!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ConfigError(f"RunSpec.seed must be an integer, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))
        try:
            ks = tuple(sorted({int(k) for k in self.ks}))
        except (TypeError, ValueError):
            raise ConfigError(f"RunSpec.ks must be positive integers, got {self.ks!r}") from None
        rating = self.protocol == RATING_PROTOCOL
        if (not ks and not rating) or (ks and ks[0] < 1) or any(float(k) != int(k) for k in self.ks):
            raise ConfigError(f"RunSpec.ks must be positive integers, got {self.ks!r}")
        if rating and ks:
            raise ConfigError(f"RunSpec.ks must be empty for the rating protocol, got {self.ks!r}")
        object.__setattr__(self, "ks", ks)
        object.__setattr__(self, "hyperparameters",
                           _normalised(self.hyperparameters, "RunSpec.hyperparameters"))
        object.__setattr__(self, "split_params", _normalised(self.split_params, "RunSpec.split_params"))
        object.__setattr__(self, "training", _normalised(self.training, "RunSpec.training"))
        qualified = qualified_name(self.model, self.plugin_dist)
        if qualified.split(":", 1)[0] != self.plugin_dist or not short_name(qualified):
            raise ConfigError(f"RunSpec.model {self.model!r} must be 'name' or "
                              f"'{self.plugin_dist}:name' (plugin_dist is {self.plugin_dist!r})")
        object.__setattr__(self, "model", qualified)

    @property
    def short_model(self) -> str:
        """The model name without its distribution (``"pop"``)."""
        return short_name(self.model)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``ks`` as a list)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["ks"] = list(self.ks)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunSpec":
        """The spec of :meth:`to_dict`'s output; ``training`` may be absent (older dicts)."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data or f.name != "training"})

    def config_key(self) -> str:
        """SHA-256 (hex) of the canonical JSON of every field: equal keys = the same run."""
        return hashlib.sha256(canonical_json(self.to_dict()).encode("utf-8")).hexdigest()

    def __hash__(self) -> int:
        return hash(self.config_key())


PerUser = tuple[np.ndarray, dict[str, np.ndarray]]


@dataclass
class RunRecord:
    """One run read back from the store.

    ``metrics`` are the averages over evaluated users (e.g. ``{"NDCG@10": 0.071}``);
    times are seconds, ``peak_memory_bytes`` bytes, ``started_at``/``finished_at`` Unix
    seconds. The per-user arrays are loaded on first :meth:`per_user` call.
    """

    id: int
    spec: RunSpec
    status: str
    error: str | None
    started_at: float
    finished_at: float | None
    env: dict
    fit_seconds: float | None
    eval_seconds: float | None
    peak_memory_bytes: int | None
    metrics: dict[str, float]
    split_summary: dict
    #: what training did, ``{}`` when the model reported nothing: ``epochs_run``,
    #: ``best_epoch``, ``stopped`` ("budget", "early_stopping", ...), ``best_validation``,
    #: ``refit_epochs``.
    training_info: dict = field(default_factory=dict)
    _loader: Callable[[], PerUser] | None = field(default=None, repr=False, compare=False)
    _cache: PerUser | None = field(default=None, repr=False, compare=False)

    def per_user(self) -> PerUser:
        """``(users int32 [U], {metric: float32 [U]})``; empty when the run kept none."""
        if self._cache is None:
            if self._loader is None:
                self._cache = (np.empty(0, dtype=np.int32), {})
            else:
                self._cache = self._loader()
        return self._cache

    @property
    def config_key(self) -> str:
        return self.spec.config_key()

    @property
    def display_name(self) -> str:
        """The short model name ("pop"); the leaderboard shows ``spec.model`` ("dist:pop")
        only where two distributions' models share a short name among the rows shown."""
        return self.spec.short_model


def finite_float(value: Any, what: str) -> float:
    """``value`` as a finite float, or ConfigError naming ``what``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise ConfigError(f"{what} must be finite, got {out}")
    return out
