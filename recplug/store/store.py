"""The SQLite results store (DESIGN.md §7).

One file holds every run: its :class:`~recplug.store.spec.RunSpec`, environment, timings,
metrics, what training did and per-user metric arrays. A process claims a configuration
(:meth:`ResultStore.claim`: a ``running`` run with its owner and a heartbeat) and finalises
it as ``done``, ``failed`` or ``interrupted``, each write in its own transaction, so a
sweep killed half-way keeps every run it finished and can resume, and two sweeps on one
store never run one configuration twice.

Concurrency: WAL journal (readers never block the writer), a busy timeout, and writes
retried with backoff while another process holds the lock. Several processes may write
to one store at once.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import math
import os
import random
import sqlite3
import threading
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numpy as np

from recplug.errors import ConfigError, StoreError
from recplug.store import codec
from recplug.store.claims import OWNER_GONE, Claim, describe, is_live
from recplug.store.owner import Owner
from recplug.store.schema import LATEST, MIGRATIONS, apply, compat_views
from recplug.store.spec import RUN_STATUSES, PerUser, RunRecord, RunSpec, canonical_json, finite_float

T = TypeVar("T")

USERS_KEY = "__users__"  #: name of the user-id array among a run's per-user arrays
DEFAULT_BUSY_SECONDS = 60.0
DEFAULT_STALE_SECONDS = 120.0  #: another host's claim without a heartbeat for this long is dead

_RUN_COLUMNS = (
    "id, model, plugin_dist, plugin_version, hyperparameters, dataset, dataset_fingerprint, "
    "split, split_params, seed, protocol, ties, ks, status, error, started_at, finished_at, "
    "env, fit_seconds, eval_seconds, peak_memory_bytes, split_summary, training, training_info")


def default_store_path() -> Path:
    """``<user data dir>/recplug/results.sqlite`` (platformdirs), where ``--db`` is not given."""
    import platformdirs

    return Path(platformdirs.user_data_dir("recplug")) / "results.sqlite"


def _is_locked(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _optional_number(value: Any, what: str, *, integer: bool = False) -> float | int | None:
    if value is None:
        return None
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise StoreError(f"{what} must be a number or None, got {value!r}") from None
    if integer and number != value:
        raise StoreError(f"{what} must be an integer, got {value!r}")
    if not math.isfinite(number) or number < 0:
        raise StoreError(f"{what} must be a finite number >= 0, got {value!r}")
    return number


class ResultStore:
    """All runs of one SQLite file. ``path=None`` -> :func:`default_store_path`.

    Use as a context manager, or call :meth:`close`. ``busy_timeout`` (seconds) is how
    long a write waits for another process's lock before giving up with a StoreError.

    ``readonly=True`` only reads: the file is opened with SQLite's ``mode=ro`` while a
    writer has it open (its ``-wal`` file exists), else as ``immutable`` (nothing is
    created beside it, and read-only storage works); it is never migrated, an older
    schema is read through a compatibility view, and every write raises StoreError.
    """

    def __init__(self, path: str | Path | None = None, *, busy_timeout: float = DEFAULT_BUSY_SECONDS,
                 readonly: bool = False):
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self._busy_timeout = float(busy_timeout)
        self._lock = threading.RLock()
        self._owner = Owner.current()
        self.readonly = bool(readonly)
        self._immutable = False
        self._compat_version = LATEST
        self._conn: sqlite3.Connection | None = None
        if self.path.is_dir():
            raise StoreError(f"results store {self.path} is a folder; pass the path of a file "
                             f"(e.g. --db {self.path / 'results.sqlite'})")
        if self.readonly:
            self._open_readonly()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise self._unwritable() from None
            raise StoreError(f"cannot create the folder of results store {self.path}: {exc}; "
                             f"pass --db with a writable path") from None
        # SQLite would open an unwritable file read-only without a word; the journal
        # files beside it need a writable folder too
        if not os.access(self.path.parent, os.W_OK) or (
                self.path.exists() and not os.access(self.path, os.W_OK)):
            raise self._unwritable()
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=self._busy_timeout,
                                         isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._error(exc, "opening") from None
        try:
            self._retry(self._configure, "opening")
            self._migrate()
        except BaseException:
            self.close()
            raise

    # -- connection plumbing ---------------------------------------------------------

    def _configure(self) -> None:
        conn = self._connection()
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not self.readonly:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            conn.execute("PRAGMA synchronous = NORMAL")

    def _open_readonly(self) -> None:
        """Connect read-only (see the class docstring); an old schema gets a view."""
        if not self.path.is_file():
            raise StoreError(f"no results store at {self.path}; run `recplug eval ...` first "
                             f"or pass --db")
        self._connect_readonly(immutable=not self._wal_path().exists())
        try:
            version = self._read(self._version, "reading the schema version")
            if version > LATEST:
                raise StoreError(
                    f"results store {self.path} has schema version {version}, newer than this "
                    f"recplug understands ({LATEST}); upgrade recplug or pass another --db")
            if version == 0:
                raise StoreError(f"results store {self.path} holds no runs yet (no schema); run "
                                 f"`recplug eval ...` first")
            self._compat_version = version
            if version < LATEST:
                self._retry(self._create_compat_views, "opening")
        except BaseException:
            self.close()
            raise

    def _create_compat_views(self) -> None:
        for view in compat_views(self._compat_version):
            self._connection().execute(view)

    def _wal_path(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    def _connect_readonly(self, *, immutable: bool) -> None:
        if self._conn is not None:
            self._conn.close()
        mode = "immutable=1" if immutable else "mode=ro"
        try:
            self._conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?{mode}", uri=True,
                                         timeout=self._busy_timeout, isolation_level=None,
                                         check_same_thread=False)
            self._immutable = immutable
            self._configure()
            self._conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            if not immutable and "unable to open" in str(exc).lower():
                # a -wal file but no way to create the -shm beside it: read-only storage,
                # where nobody can be writing; read the file as it is
                self._connect_readonly(immutable=True)
                return
            raise self._error(exc, "opening read-only") from None

    def _unwritable(self) -> StoreError:
        return StoreError(f"results store {self.path} is on read-only storage (or not writable by "
                          f"this user); pass --db with a writable path")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"results store {self.path} is closed; open a new ResultStore")
        return self._conn

    def _error(self, exc: sqlite3.Error, what: str) -> StoreError:
        text = str(exc)
        lowered = text.lower()
        if _is_locked(exc):
            return StoreError(
                f"results store {self.path} stayed locked by another process for more than "
                f"{self._busy_timeout:g} s while {what}; let the other recplug process finish, "
                f"or pass another --db")
        if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
            return StoreError(
                f"{self.path} is not a readable recplug results store ({text}); move the file "
                f"away (a new store is then created) or pass another --db "
                f"(`sqlite3 {self.path} .recover` may save its rows)")
        if not self.readonly and ("readonly" in lowered or "read-only" in lowered
                                  or "unable to open" in lowered):
            return self._unwritable()
        return StoreError(f"results store {self.path}: SQLite error while {what}: {text}")

    def _retry(self, fn: Callable[[], T], what: str) -> T:
        """Run ``fn`` under the lock; retry with backoff while the database is locked."""
        deadline = time.monotonic() + self._busy_timeout
        delay = 0.005
        while True:
            try:
                with self._lock:
                    return fn()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() > deadline:
                    raise self._error(exc, what) from None
            except sqlite3.Error as exc:
                raise self._error(exc, what) from None
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.25)

    def _write(self, fn: Callable[[sqlite3.Connection], T], what: str) -> T:
        """Run ``fn(conn)`` in one ``BEGIN IMMEDIATE`` transaction (retried while locked)."""
        if self.readonly:
            raise StoreError(f"results store {self.path} was opened read-only; {what} needs a "
                             f"writable store (open it without readonly=True)")

        def attempt() -> T:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        return self._retry(attempt, what)

    def _read(self, fn: Callable[[sqlite3.Connection], T], what: str) -> T:
        """``fn(conn)`` in one read transaction. An immutable read that a writer may have
        overlapped (a ``-wal`` file appeared) is redone through a ``mode=ro`` connection."""

        def attempt() -> T:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

        result = self._retry(attempt, what)
        if self._immutable and self._wal_path().exists():
            with self._lock:
                self._connect_readonly(immutable=False)
                if self._compat_version < LATEST:
                    self._create_compat_views()
            result = self._retry(attempt, what)
        return result

    # -- schema ----------------------------------------------------------------------

    def _version(self, conn: sqlite3.Connection) -> int:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table'")}
        if "schema_version" not in tables:
            other = sorted(tables - {"sqlite_sequence"})
            if other:
                raise StoreError(
                    f"{self.path} is an SQLite file but not a recplug results store (tables: "
                    f"{', '.join(other)}); pass another --db")
            return 0
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            raise StoreError(f"{self.path}: table schema_version is empty; the store is damaged, "
                             f"move it away or pass another --db")
        return int(row[0])

    def _migrate(self) -> None:
        def check(version: int) -> int:
            if version > LATEST:
                raise StoreError(
                    f"results store {self.path} has schema version {version}, newer than this "
                    f"recplug understands ({LATEST}); upgrade recplug or pass another --db")
            return version

        if check(self._read(self._version, "reading the schema version")) == LATEST:
            return

        def migrate(conn: sqlite3.Connection) -> None:
            version = check(self._version(conn))  # again, inside the lock: another process may have migrated
            for migration in MIGRATIONS[version:]:
                apply(conn, migration)
            problems = conn.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise StoreError(f"migrating results store {self.path} broke {len(problems)} "
                                 f"references; nothing was changed, please report this")

        conn = self._connection()
        conn.execute("PRAGMA foreign_keys = OFF")  # a table rebuild must not cascade deletes
        try:
            self._write(migrate, "migrating the schema")
        finally:
            conn.execute("PRAGMA foreign_keys = ON")

    @property
    def schema_version(self) -> int:
        return self._read(self._version, "reading the schema version")

    # -- writes ----------------------------------------------------------------------

    def _insert_running(self, conn: sqlite3.Connection, spec: RunSpec, env_json: str) -> int:
        owner, now = self._owner, time.time()
        cursor = conn.execute(
            "INSERT INTO runs (config_key, model, plugin_dist, plugin_version, hyperparameters, "
            "dataset, dataset_fingerprint, split, split_params, seed, protocol, ties, ks, training, "
            "status, started_at, heartbeat_at, env, owner_host, owner_pid, owner_token) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
            (spec.config_key(), spec.model, spec.plugin_dist, spec.plugin_version,
             canonical_json(spec.hyperparameters), spec.dataset, spec.dataset_fingerprint,
             spec.split, canonical_json(spec.split_params), spec.seed, spec.protocol, spec.ties,
             canonical_json(list(spec.ks)), canonical_json(spec.training), now, now, env_json,
             owner.host, owner.pid, owner.token))
        return int(cursor.lastrowid)

    def _checked_spec(self, spec: RunSpec, what: str) -> None:
        if not isinstance(spec, RunSpec):
            raise StoreError(f"{what} needs a RunSpec, got {type(spec).__name__}")

    def start_run(self, spec: RunSpec, env: dict) -> int:
        """Insert ``spec`` as a ``running`` run owned by this process, unconditionally (no
        claim: see :meth:`claim`); returns its id."""
        self._checked_spec(spec, "start_run")
        env_json = self._json(env, "env")
        return self._write(lambda conn: self._insert_running(conn, spec, env_json),
                           f"starting a run of {spec.model}")

    def claim(self, spec: RunSpec, env: dict, *, rerun: bool = False,
              stale_after: float = DEFAULT_STALE_SECONDS) -> Claim:
        """Claim ``spec``'s configuration for this process, in one transaction.

        ``Claim("done", id)``: a done run of it exists (ignored when ``rerun``);
        ``Claim("busy", id, "host pid N")``: another live process runs it (see
        :func:`~recplug.store.claims.is_live`; another host's claim is live while its
        heartbeat is younger than ``stale_after`` seconds); else the running runs of dead
        owners are marked ``interrupted`` and ``Claim("claimed", new_id)`` is this process's.
        """
        self._checked_spec(spec, "claim")
        env_json = self._json(env, "env")
        stale = finite_float(stale_after, "stale_after")
        key = spec.config_key()

        def take(conn: sqlite3.Connection) -> Claim:
            if not rerun:
                row = conn.execute("SELECT id FROM runs WHERE config_key = ? AND status = 'done' "
                                   "ORDER BY id DESC LIMIT 1", (key,)).fetchone()
                if row is not None:
                    return Claim("done", int(row[0]))
            now = time.time()
            dead = []
            for run_id, host, pid, token, beat in conn.execute(
                    "SELECT id, owner_host, owner_pid, owner_token, COALESCE(heartbeat_at, started_at) "
                    "FROM runs WHERE config_key = ? AND status = 'running' ORDER BY id", (key,)):
                if is_live(host, pid, token, beat, now, stale):
                    return Claim("busy", int(run_id), describe(host, pid))
                dead.append((now, run_id))
            conn.executemany("UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? "
                             "WHERE id = ?", [(OWNER_GONE, *row) for row in dead])
            run_id = self._insert_running(conn, spec, env_json)
            return Claim("claimed", run_id, describe(self._owner.host, self._owner.pid))

        return self._write(take, f"claiming a run of {spec.model}")

    def heartbeat(self, run_id: int) -> None:
        """Record that this process still works on ``run_id`` (``heartbeat_at`` = now)."""
        self._write(lambda conn: conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?",
                                              (time.time(), int(run_id))), f"heartbeat of run {run_id}")

    @contextlib.contextmanager
    def keep_alive(self, run_id: int, every: float = 15.0) -> Iterator[None]:
        """Send :meth:`heartbeat` for ``run_id`` every ``every`` seconds (a daemon thread)
        until the block ends. A failed heartbeat is skipped; the next one tries again."""
        period = finite_float(every, "every")
        if period <= 0:
            raise ConfigError(f"every must be > 0 seconds, got {every!r}")
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(period):
                try:
                    self.heartbeat(run_id)
                except StoreError:
                    continue

        thread = threading.Thread(target=beat, name=f"recplug-heartbeat-{run_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def finish_run(self, run_id: int, *, metrics: dict[str, float], users: np.ndarray | None,
                   per_user: dict[str, np.ndarray], fit_seconds: float | None,
                   eval_seconds: float | None, peak_memory_bytes: int | None,
                   split_summary: dict, training: dict | None = None) -> None:
        """Finalise ``run_id`` as ``done`` with its results, in one transaction.

        ``metrics``: name -> finite mean over users. ``users``: int [U] user indices (unique),
        ``per_user``: metric -> [U] values aligned with ``users`` (stored float32, zlib);
        ``users`` may be None only when ``per_user`` is empty. Seconds and bytes are >= 0 or None.
        ``training``: what training did (``RunRecord.training_info``), None = nothing reported.
        A run taken over because its owner looked dead may still be finished by that owner;
        a run failed or interrupted on purpose may not.
        """
        metric_rows = self._metric_rows(run_id, metrics)
        blobs = self._per_user_blobs(run_id, users, per_user)
        numbers = (_optional_number(fit_seconds, "fit_seconds"),
                   _optional_number(eval_seconds, "eval_seconds"),
                   _optional_number(peak_memory_bytes, "peak_memory_bytes", integer=True))
        summary_json = self._json(split_summary, "split_summary")
        training_json = self._json({} if training is None else training, "training")

        def finish(conn: sqlite3.Connection) -> None:
            status, error = self._status(conn, run_id)
            if status in ("done", "failed") or (status == "interrupted" and error != OWNER_GONE):
                raise StoreError(f"run {run_id} in {self.path} is already {status}; start a new run "
                                 f"to record new results")
            conn.execute(
                "UPDATE runs SET status = 'done', error = NULL, finished_at = ?, fit_seconds = ?, "
                "eval_seconds = ?, peak_memory_bytes = ?, split_summary = ?, training_info = ? "
                "WHERE id = ?", (time.time(), *numbers, summary_json, training_json, run_id))
            conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM per_user WHERE run_id = ?", (run_id,))
            conn.executemany("INSERT INTO metrics (run_id, name, value) VALUES (?, ?, ?)", metric_rows)
            conn.executemany(
                "INSERT INTO per_user (run_id, name, dtype, length, codec, data) VALUES (?, ?, ?, ?, ?, ?)",
                blobs)

        self._write(finish, f"finishing run {run_id}")

    def _end(self, run_id: int, status: str, message: str) -> None:
        def end(conn: sqlite3.Connection) -> None:
            current, _ = self._status(conn, run_id)
            if current == "done":
                raise StoreError(f"run {run_id} in {self.path} is already done; it cannot be "
                                 f"{status} now")
            conn.execute("UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                         (status, message, time.time(), int(run_id)))

        self._write(end, f"marking run {run_id} {status}")

    def fail_run(self, run_id: int, error: str) -> None:
        """Finalise ``run_id`` as ``failed`` with ``error`` (one line saying why)."""
        self._end(run_id, "failed", str(error) or "failed")

    def interrupt_run(self, run_id: int, reason: str = "interrupted") -> None:
        """Finalise ``run_id`` as ``interrupted`` (Ctrl-C, SIGTERM): never ranked, redone
        by the next claim of its configuration."""
        self._end(run_id, "interrupted", str(reason) or "interrupted")

    def mark_interrupted(self, *, stale_after: float | None = None) -> int:
        """Mark ``running`` runs whose process is gone as ``interrupted``.

        A run's owner is dead when its pid no longer exists on this host or was reused
        by another process. Runs owned by another host are only marked when their last
        heartbeat is older than ``stale_after`` seconds (if given). Runs from a version-1
        store carry no owner and count as dead. Returns how many runs were marked.
        """

        def mark(conn: sqlite3.Connection) -> int:
            now = time.time()
            dead = [(OWNER_GONE, now, run_id) for run_id, host, pid, token, beat in conn.execute(
                "SELECT id, owner_host, owner_pid, owner_token, COALESCE(heartbeat_at, started_at) "
                "FROM runs WHERE status = 'running'").fetchall()
                    if not is_live(host, pid, token, beat, now, stale_after)]
            conn.executemany("UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? "
                             "WHERE id = ?", dead)
            return len(dead)

        return self._write(mark, "marking interrupted runs")

    # -- tags ------------------------------------------------------------------------

    def tag_run(self, run_id: int, key: str, value: str) -> None:
        """Set tag ``key`` of ``run_id`` to ``value`` (replacing an older value of that key).

        Tags are free labels (``study=mf-grid``, ``reproduce=sasrec-beauty-full``); they are
        never part of a run's identity, so tagging does not change what counts as done."""
        key, value = _tag_key(key), _tag_value(value)

        def tag(conn: sqlite3.Connection) -> None:
            self._status(conn, run_id)
            conn.execute("INSERT INTO run_tags (run_id, key, value) VALUES (?, ?, ?) "
                         "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                         (int(run_id), key, value))

        self._write(tag, f"tagging run {run_id}")

    def untag_run(self, run_id: int, key: str) -> bool:
        """Remove tag ``key`` from ``run_id``; True if it had that tag."""
        key = _tag_key(key)

        def untag(conn: sqlite3.Connection) -> bool:
            self._status(conn, run_id)
            cursor = conn.execute("DELETE FROM run_tags WHERE run_id = ? AND key = ?", (int(run_id), key))
            return cursor.rowcount > 0

        return self._write(untag, f"untagging run {run_id}")

    def run_tags(self, run_id: int) -> dict[str, str]:
        """The tags of ``run_id`` (key -> value, keys sorted); StoreError if there is no such run."""

        def query(conn: sqlite3.Connection) -> dict[str, str]:
            self._status(conn, run_id)
            rows = conn.execute("SELECT key, value FROM run_tags WHERE run_id = ? ORDER BY key",
                                (int(run_id),)).fetchall()
            return {key: value for key, value in rows}

        return self._read(query, f"reading the tags of run {run_id}")

    def tags_of(self, run_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        """Tags of many runs at once: run id -> {key: value} (runs without tags map to {})."""
        ids = sorted({int(run_id) for run_id in run_ids})

        def query(conn: sqlite3.Connection) -> dict[int, dict[str, str]]:
            tags: dict[int, dict[str, str]] = {run_id: {} for run_id in ids}
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = conn.execute(f"SELECT run_id, key, value FROM run_tags WHERE run_id IN "
                                    f"({', '.join('?' * len(chunk))}) ORDER BY run_id, key", chunk)
                for run_id, key, value in rows:
                    tags[run_id][key] = value
            return tags

        return self._read(query, "reading run tags")

    def runs_tagged(self, key: str, value: str | None = None, *,
                    status: str | None = "done") -> list[RunRecord]:
        """Runs carrying tag ``key`` (with exactly ``value`` unless None), oldest first;
        ``status`` filters as in :meth:`runs` (None = any status)."""
        key = _tag_key(key)
        clauses = ["id IN (SELECT run_id FROM run_tags WHERE key = ?" +
                   (" AND value = ?)" if value is not None else ")")]
        params: list[Any] = [key] if value is None else [key, _tag_value(value)]
        if status is not None:
            _check_status(status)
            clauses.append("status = ?")
            params.append(status)
        return self._select(" AND ".join(clauses), tuple(params))

    # -- removal -----------------------------------------------------------------------

    def delete_runs(self, run_ids: Iterable[int]) -> list[int]:
        """Delete the given runs with their metrics, per-user arrays and tags, in one
        transaction; returns the ids deleted. StoreError (nothing deleted) if an id is
        unknown or a run is still ``running`` under a live owner."""
        ids = sorted({int(run_id) for run_id in run_ids})

        def delete(conn: sqlite3.Connection) -> list[int]:
            now = time.time()
            for run_id in ids:
                status, _ = self._status(conn, run_id)
                if status == "running":
                    host, pid, token, beat = conn.execute(
                        "SELECT owner_host, owner_pid, owner_token, COALESCE(heartbeat_at, started_at) "
                        "FROM runs WHERE id = ?", (run_id,)).fetchone()
                    if is_live(host, pid, token, beat, now, DEFAULT_STALE_SECONDS):
                        raise StoreError(f"run {run_id} in {self.path} is running ({describe(host, pid)}); "
                                         f"wait for it to finish or stop that process first")
            self._delete_ids(conn, ids)
            return ids

        return self._write(delete, "deleting runs")

    def prune(self, statuses: Iterable[str] = ("failed",)) -> list[int]:
        """Delete every run whose status is in ``statuses`` ("failed", "interrupted"; never
        "done" or "running"), in one transaction; returns the ids deleted."""
        chosen = sorted(set(statuses))
        for status in chosen:
            if status not in ("failed", "interrupted"):
                raise ConfigError(f"statuses may hold 'failed' and 'interrupted' only, got {status!r}; "
                                  f"remove done runs by id with delete_runs")

        def prune(conn: sqlite3.Connection) -> list[int]:
            marks = ", ".join("?" * len(chosen))
            ids = [int(run_id) for (run_id,) in conn.execute(
                f"SELECT id FROM runs WHERE status IN ({marks}) ORDER BY id", chosen)] if chosen else []
            self._delete_ids(conn, ids)
            return ids

        return self._write(prune, "pruning runs")

    @staticmethod
    def _delete_ids(conn: sqlite3.Connection, ids: list[int]) -> None:
        for table, column in (("run_tags", "run_id"), ("per_user", "run_id"), ("metrics", "run_id"),
                              ("runs", "id")):
            conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", [(run_id,) for run_id in ids])

    # -- reads -----------------------------------------------------------------------

    def find_done(self, spec: RunSpec) -> RunRecord | None:
        """The latest ``done`` run of exactly ``spec`` (same config key), or None."""
        records = self._select("config_key = ? AND status = 'done'", (spec.config_key(),),
                               order="id DESC", limit=1)
        return records[0] if records else None

    def run(self, run_id: int) -> RunRecord:
        """One run by id; StoreError if there is none."""
        records = self._select("id = ?", (int(run_id),))
        if not records:
            raise StoreError(f"results store {self.path} has no run {run_id}")
        return records[0]

    def runs(self, *, dataset: str | None = None, split: str | None = None,
             protocol: str | None = None, status: str | None = "done",
             model: str | None = None) -> list[RunRecord]:
        """Runs matching every given filter (None = any), oldest first. ``model`` is a
        qualified name ("recplug:pop") or a bare one ("pop": that name from any distribution)."""
        if status is not None:
            _check_status(status)
        clauses, params = [], []
        model_column = "model" if model is None or ":" in model else "substr(model, instr(model, ':') + 1)"
        for column, value in (("dataset", dataset), ("split", split), ("protocol", protocol),
                              ("status", status), (model_column, model)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return self._select(" AND ".join(clauses) or "1", tuple(params))

    def summary(self) -> list[dict[str, Any]]:
        """What the store holds: one row per (dataset, split, protocol, status) with a run count."""

        def query(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT dataset, split, protocol, status, COUNT(*) FROM runs "
                "GROUP BY dataset, split, protocol, status ORDER BY dataset, split, protocol, status")
            keys = ("dataset", "split", "protocol", "status", "runs")
            return [dict(zip(keys, row)) for row in rows]

        return self._read(query, "summarising")

    def integrity_check(self) -> list[str]:
        """Problems SQLite's ``PRAGMA integrity_check`` finds (empty list = healthy)."""
        rows = self._read(lambda conn: conn.execute("PRAGMA integrity_check").fetchall(),
                          "checking integrity")
        messages = [str(row[0]) for row in rows]
        return [] if messages == ["ok"] else messages

    def close(self) -> None:
        """Close the connection (idempotent). Loaded records still load per-user arrays."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.path)!r})"

    # -- helpers ---------------------------------------------------------------------

    def _json(self, value: Any, what: str) -> str:
        if not isinstance(value, dict):
            raise StoreError(f"{what} must be a dict, got {type(value).__name__}")
        try:
            return canonical_json(value, what=what)
        except ConfigError as exc:
            raise StoreError(str(exc)) from None

    def _status(self, conn: sqlite3.Connection, run_id: int) -> tuple[str, str | None]:
        row = conn.execute("SELECT status, error FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise StoreError(f"results store {self.path} has no run {run_id}")
        return row[0], row[1]

    @staticmethod
    def _metric_rows(run_id: int, metrics: dict[str, float]) -> list[tuple[int, str, float]]:
        if not isinstance(metrics, dict):
            raise StoreError(f"run {run_id}: metrics must be a dict name -> number")
        rows = []
        for name, value in metrics.items():
            if not isinstance(name, str) or not name:
                raise StoreError(f"run {run_id}: metric names must be non-empty strings, got {name!r}")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise StoreError(f"run {run_id}: metric {name} must be a number, got {value!r}") from None
            if not math.isfinite(number):
                raise StoreError(f"run {run_id}: metric {name} must be finite, got {number}")
            rows.append((int(run_id), name, number))
        return rows

    @staticmethod
    def _per_user_blobs(run_id: int, users: np.ndarray | None,
                        per_user: dict[str, np.ndarray]) -> list[tuple]:
        if not isinstance(per_user, dict):
            raise StoreError(f"run {run_id}: per_user must be a dict metric -> array")
        if users is None:
            if per_user:
                raise StoreError(f"run {run_id}: per_user arrays need the matching users array")
            return []
        ids = np.asarray(users)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise StoreError(f"run {run_id}: users must be a 1-d integer array, got dtype "
                             f"{ids.dtype} shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() > np.iinfo(np.int32).max):
            raise StoreError(f"run {run_id}: user indices must lie in [0, 2**31), got "
                             f"[{ids.min()}, {ids.max()}]")
        if np.unique(ids).size != ids.size:
            raise StoreError(f"run {run_id}: users must be unique (one value per user)")
        blobs = [(int(run_id), USERS_KEY, *codec.encode(ids, "int32"))]
        for name, values in per_user.items():
            if not isinstance(name, str) or not name or name == USERS_KEY:
                raise StoreError(f"run {run_id}: invalid per-user metric name {name!r}")
            array = np.asarray(values, dtype=np.float64)
            if array.shape != ids.shape:
                raise StoreError(f"run {run_id}: per_user[{name!r}] has shape {array.shape}, "
                                 f"users has {ids.shape}; give one value per user")
            if not np.isfinite(array).all():
                raise StoreError(f"run {run_id}: per_user[{name!r}] holds NaN or infinite values")
            blobs.append((int(run_id), name, *codec.encode(array, "float32")))
        return blobs

    def _select(self, where: str, params: tuple, *, order: str = "id", limit: int | None = None
                ) -> list[RunRecord]:
        sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"

        def query(conn: sqlite3.Connection) -> tuple[list, list]:
            rows = conn.execute(sql, params).fetchall()
            metric_rows = conn.execute(
                f"SELECT run_id, name, value FROM metrics WHERE run_id IN "
                f"(SELECT id FROM runs WHERE {where}) ORDER BY run_id, name", params).fetchall()
            return rows, metric_rows

        rows, metric_rows = self._read(query, "reading runs")
        metrics: dict[int, dict[str, float]] = {}
        for run_id, name, value in metric_rows:
            metrics.setdefault(run_id, {})[name] = float(value)
        return [self._record(row, metrics.get(row[0], {})) for row in rows]

    def _record(self, row: tuple, metrics: dict[str, float]) -> RunRecord:
        (run_id, model, plugin_dist, plugin_version, hyperparameters, dataset, fingerprint, split,
         split_params, seed, protocol, ties, ks, status, error, started_at, finished_at, env,
         fit_seconds, eval_seconds, peak_memory, split_summary, training, training_info) = row
        try:
            spec = RunSpec(model=model, plugin_dist=plugin_dist, plugin_version=plugin_version,
                           hyperparameters=json.loads(hyperparameters), dataset=dataset,
                           dataset_fingerprint=fingerprint, split=split,
                           split_params=json.loads(split_params), seed=seed, protocol=protocol,
                           ties=ties, ks=tuple(json.loads(ks)), training=json.loads(training))
            env_dict = json.loads(env)
            summary = json.loads(split_summary) if split_summary else {}
            info = json.loads(training_info) if training_info else {}
        except (ValueError, ConfigError) as exc:
            raise StoreError(f"run {run_id} in {self.path} is damaged ({exc}); delete it or pass "
                             f"another --db") from None
        return RunRecord(
            id=run_id, spec=spec, status=status, error=error, started_at=started_at,
            finished_at=finished_at, env=env_dict, fit_seconds=fit_seconds, eval_seconds=eval_seconds,
            peak_memory_bytes=peak_memory, metrics=metrics, split_summary=summary,
            training_info=info, _loader=functools.partial(self._load_per_user, run_id))

    def _load_per_user(self, run_id: int) -> PerUser:
        """Decode a run's per-user arrays; opens the file read-only if the store was closed."""
        query = "SELECT name, dtype, length, codec, data FROM per_user WHERE run_id = ?"
        if self._conn is not None:
            rows = self._read(lambda conn: conn.execute(query, (run_id,)).fetchall(),
                              f"reading per-user arrays of run {run_id}")
        else:
            try:
                mode = "mode=ro" if self._wal_path().exists() else "immutable=1"
                conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?{mode}", uri=True,
                                       timeout=self._busy_timeout)
                try:
                    rows = conn.execute(query, (run_id,)).fetchall()
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                raise self._error(exc, f"reading per-user arrays of run {run_id}") from None
        return _decode_per_user(self.path, run_id, rows)


def _check_status(status: str) -> None:
    if status not in RUN_STATUSES:
        raise ConfigError(f"status must be one of {', '.join(RUN_STATUSES)} or None, got {status!r}")


def _tag_key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip() or key != key.strip():
        raise ConfigError(f"key must be a non-empty string without surrounding spaces, got {key!r}")
    return key


def _tag_value(value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"value must be a string, got {type(value).__name__} {value!r}")
    return value


def _decode_per_user(path: Path, run_id: int, rows: Iterable[tuple]) -> PerUser:
    arrays = {}
    for name, dtype, length, codec_name, data in rows:
        try:
            arrays[name] = codec.decode(dtype, int(length), codec_name, bytes(data))
        except (ValueError, zlib.error) as exc:
            raise StoreError(f"per-user array {name!r} of run {run_id} in {path} is damaged "
                             f"({exc}); delete the run or pass another --db") from None
    users = arrays.pop(USERS_KEY, np.empty(0, dtype=np.int32))
    for name, values in arrays.items():
        if values.shape != users.shape:
            raise StoreError(f"per-user array {name!r} of run {run_id} in {path} has "
                             f"{values.size} values for {users.size} users; the run is damaged")
    return users, arrays
