"""Stored runs as plain tables, for analysis outside recplug.

:func:`runs_frame`: one row per run (identity, status, timings, tags as ``tag:<key>``,
every metric as a column). :func:`per_user_frame`: one row per (run, evaluated user) with
that user's metrics (``user`` is the user index of the run's dataset). :func:`export_runs`
writes both, as ``runs.<fmt>`` and ``per_user.<fmt>`` in one folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from recplug.errors import ConfigError
from recplug.store.spec import RunRecord

FORMATS = ("parquet", "csv")


def runs_frame(records: Iterable[RunRecord], tags: dict[int, dict[str, str]] | None = None):
    """A pandas DataFrame with one row per run (columns: id, model, dataset, split,
    split_params, protocol, ties, seed, hyperparameters, training as JSON text, status,
    error, started_at, finished_at, fit_seconds, eval_seconds, peak_memory_bytes, then
    ``tag:<key>`` and the metrics)."""
    import pandas as pd

    rows = []
    for record in records:
        spec = record.spec
        row: dict[str, Any] = {
            "id": record.id, "model": spec.model, "plugin_version": spec.plugin_version,
            "dataset": spec.dataset, "dataset_fingerprint": spec.dataset_fingerprint,
            "split": spec.split, "split_params": json.dumps(spec.split_params, sort_keys=True),
            "protocol": spec.protocol, "ties": spec.ties, "seed": spec.seed,
            "hyperparameters": json.dumps(spec.hyperparameters, sort_keys=True),
            "training": json.dumps(spec.training, sort_keys=True), "status": record.status,
            "error": record.error, "started_at": record.started_at, "finished_at": record.finished_at,
            "fit_seconds": record.fit_seconds, "eval_seconds": record.eval_seconds,
            "peak_memory_bytes": record.peak_memory_bytes}
        for key, value in (tags or {}).get(record.id, {}).items():
            row[f"tag:{key}"] = value
        row.update(record.metrics)
        rows.append(row)
    return pd.DataFrame(rows)


def per_user_frame(records: Iterable[RunRecord]):
    """A pandas DataFrame with one row per (run, user): ``run_id``, ``user`` (index), then
    that user's value of each per-user metric of the run."""
    import numpy as np
    import pandas as pd

    parts = []
    for record in records:
        users, arrays = record.per_user()
        if not len(users):
            continue
        part = {"run_id": np.full(len(users), record.id, dtype=np.int64), "user": users.astype(np.int64)}
        part.update({name: values for name, values in sorted(arrays.items())})
        parts.append(pd.DataFrame(part))
    if not parts:
        return pd.DataFrame({"run_id": pd.Series(dtype="int64"), "user": pd.Series(dtype="int64")})
    return pd.concat(parts, ignore_index=True, sort=False)


def export_runs(records: list[RunRecord], folder: str | Path, format: str = "parquet", *,
                tags: dict[int, dict[str, str]] | None = None) -> list[Path]:
    """Write ``runs.<format>`` and ``per_user.<format>`` into ``folder`` (created); returns
    the two paths. ``format`` is ``parquet`` or ``csv``."""
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    out = Path(folder).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out {out} is a file; pass a folder for runs.{format} and per_user.{format}")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in (("runs", runs_frame(records, tags)), ("per_user", per_user_frame(records))):
        path = out / f"{name}.{format}"
        if format == "parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        paths.append(path)
    return paths
