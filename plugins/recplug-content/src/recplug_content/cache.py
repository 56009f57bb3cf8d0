"""Item embeddings cached on disk, keyed by a fingerprint of the encoder and the data.

The key is the SHA-256 of a JSON description: the encoder's identity (its name and a
digest of its configuration and weight files), how it was run (fields, modality,
precision, encoding batch size) and the content it encoded (every item's text, every
image file's path, size and modification time). The same dataset with the same encoder
is encoded once; a changed title, another checkpoint or another precision gives another
file. Files live in ``RECPLUG_CONTENT_CACHE`` or ``<user cache dir>/recplug/content``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np


def cache_dir() -> Path:
    """Where embeddings are cached (created on first write)."""
    env = os.environ.get("RECPLUG_CONTENT_CACHE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("recplug")) / "content"


def fingerprint(description: dict[str, Any]) -> str:
    """Hex SHA-256 of a JSON-serialisable description (sorted keys)."""
    text = json.dumps(description, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def files_digest(root: Path) -> str:
    """Digest of a model folder: the bytes of its small files (configs, vocabularies) and
    the name, size and first/last MiB of its large ones (weights)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
        rel = str(path.relative_to(root)).encode()
        size = path.stat().st_size
        h.update(rel + b"\0" + str(size).encode())
        with open(path, "rb") as handle:
            if size <= 4 << 20:
                h.update(handle.read())
            else:
                h.update(handle.read(1 << 20))
                handle.seek(-(1 << 20), os.SEEK_END)
                h.update(handle.read())
    return h.hexdigest()


def cached(description: dict[str, Any], compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, bool]:
    """The float32 embeddings for ``description``: read from the cache, or computed by
    ``compute()`` and written (atomically). Returns ``(embeddings, was_cached)``."""
    key = fingerprint(description)
    folder = cache_dir()
    path = folder / f"{key}.npy"
    if path.is_file():
        try:
            return np.load(path, allow_pickle=False).astype(np.float32, copy=False), True
        except (OSError, ValueError):
            pass  # a damaged file is recomputed and replaced
    embeddings = np.ascontiguousarray(compute(), dtype=np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}.{os.getpid()}.tmp.npy"
    np.save(tmp, embeddings, allow_pickle=False)
    os.replace(tmp, path)
    (folder / f"{key}.json").write_text(json.dumps(
        {k: v for k, v in description.items() if k not in ("texts", "images")}, indent=1, default=str))
    return embeddings, False
