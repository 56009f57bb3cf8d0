"""The store's schema as a list of forward migrations, applied in order.

``MIGRATIONS[i]`` takes a database at version ``i`` to version ``i + 1`` and records
the new version in the one-row table ``schema_version``: an SQL script (statements
separated by ``;``) or a function of the connection, run in one transaction with the
others, with foreign keys off (a table rebuild must not cascade). Never edit a released
migration: append a new one.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Callable

#: version 1: runs, their metrics and their per-user arrays.
V1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    config_key TEXT NOT NULL,
    model TEXT NOT NULL,
    plugin_dist TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    hyperparameters TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    split TEXT NOT NULL,
    split_params TEXT NOT NULL,
    seed INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    ties TEXT NOT NULL,
    ks TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    error TEXT,
    started_at REAL NOT NULL,
    finished_at REAL,
    env TEXT NOT NULL,
    fit_seconds REAL,
    eval_seconds REAL,
    peak_memory_bytes INTEGER,
    split_summary TEXT
);
CREATE INDEX runs_config_key ON runs (config_key, status);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE per_user (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    dtype TEXT NOT NULL,
    length INTEGER NOT NULL,
    codec TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
);
INSERT INTO schema_version (version) VALUES (1);
"""

#: version 2: the owner of a running run (for ``mark_interrupted``) and a filter index.
V2 = """
ALTER TABLE runs ADD COLUMN owner_host TEXT;
ALTER TABLE runs ADD COLUMN owner_pid INTEGER;
ALTER TABLE runs ADD COLUMN owner_token TEXT;
CREATE INDEX runs_filter ON runs (dataset, split, protocol, status);
UPDATE schema_version SET version = 2;
"""

#: version 3: status 'interrupted' (the CHECK constraint needs a rebuild of runs, ids
#: kept), the training settings (part of the identity), what training did, a heartbeat.
#: Old models are qualified ("dist:name"); old interrupted runs get their own status.
#: ``runs_v3`` is created by :func:`V3` from version 2's own ``runs`` DDL, with the new
#: CHECK and these columns; the script then copies the rows over and swaps the tables.
V3_CHECK = ("CHECK (status IN ('running', 'done', 'failed'))",
            "CHECK (status IN ('running', 'done', 'failed', 'interrupted'))")
V3_COLUMNS = ("training TEXT NOT NULL DEFAULT '{}'", "training_info TEXT NOT NULL DEFAULT '{}'",
              "heartbeat_at REAL")
V3_SQL = """
INSERT INTO runs_v3 (id, config_key, model, plugin_dist, plugin_version, hyperparameters, dataset,
    dataset_fingerprint, split, split_params, seed, protocol, ties, ks, status, error, started_at,
    finished_at, env, fit_seconds, eval_seconds, peak_memory_bytes, split_summary, owner_host,
    owner_pid, owner_token)
SELECT id, config_key,
    CASE WHEN instr(model, ':') = 0 THEN plugin_dist || ':' || model ELSE model END,
    plugin_dist, plugin_version, hyperparameters, dataset, dataset_fingerprint, split,
    split_params, seed, protocol, ties, ks,
    CASE WHEN status = 'failed' AND error = 'interrupted' THEN 'interrupted' ELSE status END,
    error, started_at, finished_at, env, fit_seconds, eval_seconds, peak_memory_bytes,
    split_summary, owner_host, owner_pid, owner_token
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v3 RENAME TO runs;
CREATE INDEX runs_config_key ON runs (config_key, status);
CREATE INDEX runs_filter ON runs (dataset, split, protocol, status);
UPDATE schema_version SET version = 3
"""


def _rekey(conn: sqlite3.Connection) -> None:
    """Recompute every run's config_key from the version-3 :class:`RunSpec` (training ``{}``)."""
    from recplug.errors import ConfigError
    from recplug.store.spec import RunSpec

    rows = conn.execute("SELECT id, model, plugin_dist, plugin_version, hyperparameters, dataset, "
                        "dataset_fingerprint, split, split_params, seed, protocol, ties, ks "
                        "FROM runs").fetchall()
    keys = []
    for (run_id, model, dist, version, hyper, dataset, fingerprint, split, split_params, seed,
         protocol, ties, ks) in rows:
        try:
            spec = RunSpec(model=model, plugin_dist=dist, plugin_version=version,
                           hyperparameters=json.loads(hyper), dataset=dataset,
                           dataset_fingerprint=fingerprint, split=split,
                           split_params=json.loads(split_params), seed=seed, protocol=protocol,
                           ties=ties, ks=tuple(json.loads(ks)))
        except (ValueError, ConfigError):  # a damaged row keeps its key; reading it says why
            continue
        keys.append((spec.config_key(), run_id))
    conn.executemany("UPDATE runs SET config_key = ? WHERE id = ?", keys)


def V3(conn: sqlite3.Connection) -> None:
    """Version 2 -> 3: ``runs_v3``, :data:`V3_SQL`, then every config key recomputed."""
    (ddl,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone()
    old_check, new_check = V3_CHECK
    if not ddl.startswith("CREATE TABLE runs (") or old_check not in ddl:
        raise sqlite3.DatabaseError(f"malformed runs table of a version-2 store: {ddl[:200]}")
    conn.execute(ddl.replace("CREATE TABLE runs (", "CREATE TABLE runs_v3 (", 1).replace(old_check, new_check))
    for column in V3_COLUMNS:
        conn.execute(f"ALTER TABLE runs_v3 ADD COLUMN {column}")
    for statement in statements(V3_SQL):
        conn.execute(statement)
    _rekey(conn)


#: version 4: run tags, free ``key -> value`` labels on a run (the study a tuned run belongs
#: to, the reproduce entry it measures); never part of a run's identity.
V4 = """
CREATE TABLE run_tags (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX run_tags_key ON run_tags (key, value);
UPDATE schema_version SET version = 4
"""

Migration = str | Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = [V1, V2, V3, V4]
LATEST = len(MIGRATIONS)


def apply(conn: sqlite3.Connection, migration: Migration) -> None:
    """Run one migration on ``conn`` (inside the caller's transaction)."""
    if callable(migration):
        migration(conn)
        return
    for statement in statements(migration):
        conn.execute(statement)


def statements(script: str) -> list[str]:
    """The statements of a migration script (no ``;`` inside the statements themselves)."""
    return [part.strip() for part in script.split(";") if part.strip()]


def compat_views(version: int) -> list[str]:
    """TEMP views that show an older store as the latest schema does, for a store opened
    read-only (never migrated). Version 1/2: a ``runs`` view with qualified models, status
    'interrupted', training ``{}`` (old config keys are kept: such runs are not resumed
    either way). Versions 1-3: an empty ``run_tags``."""
    views = []
    if version < 3:
        owner = ("owner_host, owner_pid, owner_token" if version >= 2
                 else "NULL AS owner_host, NULL AS owner_pid, NULL AS owner_token")
        views.append(
            "CREATE TEMP VIEW IF NOT EXISTS runs AS SELECT id, config_key, "
            "CASE WHEN instr(model, ':') = 0 THEN plugin_dist || ':' || model ELSE model END AS model, "
            "plugin_dist, plugin_version, hyperparameters, dataset, dataset_fingerprint, split, "
            "split_params, seed, protocol, ties, ks, "
            "CASE WHEN status = 'failed' AND error = 'interrupted' THEN 'interrupted' ELSE status END "
            "AS status, error, started_at, finished_at, env, fit_seconds, eval_seconds, "
            f"peak_memory_bytes, split_summary, {owner}, '{{}}' AS training, '{{}}' AS training_info, "
            "NULL AS heartbeat_at FROM main.runs")
    if version < 4:
        views.append("CREATE TEMP VIEW IF NOT EXISTS run_tags AS SELECT 0 AS run_id, '' AS key, "
                     "'' AS value WHERE 0")
    return views
