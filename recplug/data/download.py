"""Download registry datasets into the cache, safely.

- A file is streamed to a temporary ``.part`` file next to its destination, hashed on the
  way, checked against the published SHA-256/MD5 where known, and only then renamed into
  place (atomic on one file system). Nothing half-downloaded is ever used.
- Where no checksum is published, the SHA-256 seen at the first download is recorded in
  ``<cache>/checksums.json`` and later downloads must match it.
- Archives are unpacked into a staging folder; members with absolute paths, ``..``
  components, links or device files are refused (path traversal).
- The unpacked dataset folder is renamed into ``<cache>/<name>`` in one step, after the
  SHA-256 of every file recplug loads is recorded; each later use re-hashes those files
  and refuses a folder that changed (:func:`verify_cached`).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from recplug.data.registry import DatasetSpec, RemoteFile, cache_dir, placement_hint
from recplug.errors import DataError, DatasetNotFoundError

CHECKSUMS = "checksums.json"
_CHUNK = 1 << 20


class NetworkError(Exception):
    """The download could not reach or read the URL (internal; becomes DatasetNotFoundError)."""


# ---- hashing and the checksum record --------------------------------------------------
def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_record(root: Path) -> dict[str, Any]:
    """The checksum record in ``root`` (``{}`` when absent)."""
    path = root / CHECKSUMS
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable checksum record ({exc}); delete it and the dataset "
                        "folders next to it to download again") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}: the checksum record must be a JSON object; delete it")
    return record


def _write_record(root: Path, record: dict[str, Any]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".checksums.", suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
    os.replace(tmp, root / CHECKSUMS)


def verify_cached(spec: DatasetSpec, folder: Path, root: Path | None = None) -> None:
    """Check the files of a cached dataset against the SHA-256 recorded at download.

    A folder without a record (files placed there by hand) is recorded now, so later
    changes are caught.
    """
    root = root or folder.parent
    record = read_record(root)
    entry = record.get(spec.name, {})
    files = {f: str(folder / f) for layout in spec.layouts for f in layout if (folder / f).is_file()}
    known = entry.get("files", {})
    if not known:
        entry["files"] = {f: sha256_of(Path(p)) for f, p in files.items()}
        entry.setdefault("note", "recorded from files found in the cache, not from a download")
        record[spec.name] = entry
        _write_record(root, record)
        return
    for name, expected in known.items():
        path = folder / name
        if not path.is_file():
            raise DataError(f"{path}: missing from the cached dataset {spec.name!r}; delete "
                            f"{folder} to download it again")
        actual = sha256_of(path)
        if actual != expected:
            raise DataError(f"{path}: changed since it was downloaded (SHA-256 {actual[:12]}... "
                            f"!= recorded {expected[:12]}...); delete {folder} to download it again")


# ---- download -------------------------------------------------------------------------
def download(url: str, dest: Path, *, sha256: str | None = None, md5: str | None = None,
             timeout: float = 30.0, progress: bool = True) -> str:
    """Fetch ``url`` into ``dest`` atomically; returns the file's SHA-256 (hex).

    Raises :class:`DataError` on a checksum mismatch (nothing is left behind) and
    :class:`NetworkError` when the URL cannot be read.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest, md5_digest = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
                    total = int(response.headers.get("Content-Length") or 0) or None
                    with _Progress(dest.name, total, progress) as advance:
                        for chunk in iter(lambda: response.read(_CHUNK), b""):
                            out.write(chunk)
                            digest.update(chunk)
                            md5_digest.update(chunk)
                            advance(len(chunk))
                    if total is not None and out.tell() != total:
                        raise NetworkError(f"connection closed after {out.tell()} of {total} bytes")
            except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError,
                    ValueError) as exc:
                reason = getattr(exc, "reason", None) or exc
                raise NetworkError(str(reason)) from None
        actual = digest.hexdigest()
        if sha256 and actual != sha256.lower():
            raise DataError(f"{url}: SHA-256 mismatch (got {actual}, expected {sha256}); the "
                            "download is corrupt or the file changed upstream -- nothing was kept")
        if md5 and md5_digest.hexdigest() != md5.lower():
            raise DataError(f"{url}: MD5 mismatch (got {md5_digest.hexdigest()}, expected {md5}); "
                            "the download is corrupt or the file changed upstream -- nothing was kept")
        os.replace(tmp, dest)
        return actual
    finally:
        tmp.unlink(missing_ok=True)


class _Progress:
    """A rich progress bar on stderr (``enabled=False``: a no-op)."""

    def __init__(self, label: str, total: int | None, enabled: bool):
        self.label, self.total, self.enabled = label, total, enabled
        self._bar: Any = None

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                   TimeRemainingColumn, TransferSpeedColumn)

        self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                             TransferSpeedColumn(), TimeRemainingColumn(),
                             console=Console(stderr=True), transient=True)
        self._bar.start()
        task = self._bar.add_task(f"downloading {self.label}", total=self.total)
        return lambda n: self._bar.advance(task, n)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


# ---- archives -------------------------------------------------------------------------
def _safe_member(name: str, archive: Path) -> PurePosixPath:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DataError(f"{archive}: refusing to extract {name!r} (absolute path or '..' -- "
                        "path traversal); the archive is unsafe")
    return path


def extract(archive: Path, dest: Path, kind: str) -> None:
    """Unpack ``archive`` (``"zip"`` or ``"tar"``) into ``dest``, refusing unsafe members."""
    dest.mkdir(parents=True, exist_ok=True)
    if kind == "zip":
        try:
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _safe_member(info.filename, archive)
                    if stat.S_ISLNK(info.external_attr >> 16):
                        raise DataError(f"{archive}: refusing to extract the link {info.filename!r}")
                zf.extractall(dest)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{archive}: not a valid zip archive ({exc})") from None
    elif kind == "tar":
        try:
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for member in members:
                    _safe_member(member.name, archive)
                    if not (member.isfile() or member.isdir()):
                        raise DataError(f"{archive}: refusing to extract {member.name!r} (links and "
                                        "special files are not allowed)")
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
                    tf.extractall(dest, members=members, filter="data")
                else:  # pragma: no cover - members were checked above
                    tf.extractall(dest, members=members)
        except tarfile.TarError as exc:
            raise DataError(f"{archive}: not a valid tar archive ({exc})") from None
    else:
        raise DataError(f"unknown archive kind {kind!r} (use 'zip' or 'tar')")


# ---- fetching a registry dataset ------------------------------------------------------
def fetch(spec: DatasetSpec, *, root: Path | None = None, offline: bool = False,
          progress: bool = True, timeout: float = 30.0) -> Path:
    """The cached folder of ``spec`` under ``root`` (default :func:`cache_dir`), downloading
    it first when absent. Offline or unreachable -> :class:`DatasetNotFoundError`."""
    root = root or cache_dir()
    folder = root / spec.name
    if folder.is_dir() and spec.load_path(folder) is not None:
        verify_cached(spec, folder, root)
        return folder
    if folder.exists():
        raise DataError(f"{folder} exists but does not hold {' + '.join(spec.expected_files)}; "
                        "delete it so the dataset can be downloaded again")
    if offline or os.environ.get("RECPLUG_OFFLINE", "") not in ("", "0"):
        raise DatasetNotFoundError(f"dataset {spec.name!r} is not available locally and recplug "
                                   f"is offline; {placement_hint(spec)}")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{spec.name}.staging-"))
    try:
        record = read_record(root)
        entry = record.get(spec.name, {})
        sources = dict(entry.get("sources", {}))
        data = staging / "data"
        data.mkdir()
        for remote in spec.remote:
            _fetch_one(spec, remote, staging, data, sources, progress, timeout)
        if spec.load_path(data) is None:
            raise DataError(f"dataset {spec.name!r}: the download does not contain "
                            f"{' + '.join(spec.expected_files)}; the registry entry or the upstream "
                            f"files changed -- {placement_hint(spec)}")
        files = {f: sha256_of(data / f) for layout in spec.layouts for f in layout
                 if (data / f).is_file()}
        record = read_record(root)
        record[spec.name] = {"sources": sources, "files": files}
        _write_record(root, record)
        try:
            os.replace(data, folder)
        except OSError:
            if not (folder.is_dir() and spec.load_path(folder) is not None):
                raise
            # another process finished first: its copy is verified below
        verify_cached(spec, folder, root)
        return folder
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch_one(spec: DatasetSpec, remote: RemoteFile, staging: Path, data: Path,
               sources: dict[str, str], progress: bool, timeout: float) -> None:
    target = (staging / remote.filename) if remote.archive else (data / remote.filename)
    try:
        actual = download(remote.url, target, sha256=remote.sha256, md5=remote.md5,
                          timeout=timeout, progress=progress)
    except NetworkError as exc:
        raise DatasetNotFoundError(f"dataset {spec.name!r} is not available locally and "
                                   f"{remote.url} could not be downloaded ({exc}); "
                                   f"{placement_hint(spec)}") from None
    recorded = sources.get(remote.url)
    if recorded and recorded != actual:
        raise DataError(f"{remote.url}: SHA-256 {actual} differs from the one recorded at the first "
                        f"download ({recorded}); the file changed upstream or the download is "
                        f"corrupt. If the change is expected, remove the {spec.name!r} entry from "
                        f"{staging.parent / CHECKSUMS}")
    sources[remote.url] = actual
    if remote.archive:
        unpacked = staging / "unpacked"
        extract(target, unpacked, remote.archive)
        source = unpacked / remote.root if remote.root else unpacked
        if not source.is_dir():
            raise DataError(f"{remote.url}: the archive has no folder {remote.root!r}; "
                            f"{placement_hint(spec)}")
        for item in source.iterdir():
            os.replace(item, data / item.name)
        shutil.rmtree(unpacked, ignore_errors=True)
        target.unlink(missing_ok=True)
