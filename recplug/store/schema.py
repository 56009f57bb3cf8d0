"""The store's schema as a list of forward migrations, applied in order.

``MIGRATIONS[i]`` takes a database at version ``i`` to version ``i + 1`` and records
the new version in the one-row table ``schema_version`` (statements separated by ``;``,
run in one transaction with the others). Never edit a released migration: append
a new one.
"""

from __future__ import annotations

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

MIGRATIONS: list[str] = [V1, V2]
LATEST = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The statements of a migration script (no ``;`` inside the statements themselves)."""
    return [part.strip() for part in script.split(";") if part.strip()]
