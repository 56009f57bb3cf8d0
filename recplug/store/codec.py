"""Compact storage of per-user arrays: little-endian bytes, zlib-compressed, with dtype and length."""

from __future__ import annotations

import zlib

import numpy as np

#: the dtypes the store writes (per-user metrics float32, user ids int32), little-endian.
DTYPES = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4")}
CODEC = "zlib"


def encode(array: np.ndarray, dtype: str) -> tuple[str, int, str, bytes]:
    """``(dtype, length, codec, blob)`` for a 1-d ``array`` cast to ``dtype`` ("float32"/"int32")."""
    data = np.ascontiguousarray(array, dtype=DTYPES[dtype]).ravel()
    return dtype, int(data.size), CODEC, zlib.compress(data.tobytes(), 6)


def decode(dtype: str, length: int, codec: str, blob: bytes) -> np.ndarray:
    """The array written by :func:`encode` (native byte order). ValueError if inconsistent."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}")
    if codec != CODEC:
        raise ValueError(f"unknown codec {codec!r}")
    raw = zlib.decompress(blob)
    expected = length * DTYPES[dtype].itemsize
    if len(raw) != expected:
        raise ValueError(f"{len(raw)} bytes for {length} {dtype} values (expected {expected})")
    return np.frombuffer(raw, dtype=DTYPES[dtype]).astype(dtype)
