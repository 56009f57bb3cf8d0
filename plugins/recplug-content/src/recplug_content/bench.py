"""Embedding throughput: how many items per second an encoder embeds (no cache involved).

:func:`bench_encode` is what ``recplug-content bench`` prints, and what a ``recplug bench
content`` subcommand can call. Texts are seeded synthetic titles of 4-12 words (the length
of movie titles with genres); images, when asked for, are seeded 224x224 RGB noise.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

KINDS = ("text", "clip")


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` seeded pseudo-titles of 4-12 words."""
    rng = np.random.default_rng(seed)
    words = ["love", "war", "night", "story", "space", "the", "of", "city", "dark", "comedy", "drama",
             "action", "return", "last", "king", "family", "secret", "island", "dream", "summer"]
    return [" ".join(rng.choice(words, size=int(rng.integers(4, 13)))) for _ in range(n)]


def bench_encode(kind: str = "text", encoder: str | None = None, *, n_items: int = 2000,
                 batch_size: int = 64, device: str = "auto", images: bool = False,
                 seed: int = 0) -> dict[str, Any]:
    """Time one encoder over ``n_items`` synthetic items, after one warm-up batch.

    Returns ``{"kind", "encoder", "device", "precision", "n_items", "batch_size", "dim",
    "seconds", "items_per_second"}``. ``device="auto"`` is CUDA when available, else the CPU.
    """
    import torch

    from recplug.errors import ConfigError
    from recplug_content import encoders

    if kind not in KINDS:
        raise ConfigError(f"kind {kind!r} is unknown; use one of: {', '.join(KINDS)}")
    if not isinstance(n_items, int) or n_items < 1 or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"n_items and batch_size must be integers >= 1, got {n_items!r}, {batch_size!r}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    texts = synthetic_texts(n_items, seed)
    if kind == "text":
        name = encoder or "all-MiniLM-L6-v2"
        model = encoders.SentenceEncoder(name, device, batch_size)
        run = lambda: model.encode(texts)  # noqa: E731
        model.encode(texts[:batch_size])
    else:
        name = encoder or "openai/clip-vit-base-patch32"
        model = encoders.ClipEncoder(name, device, batch_size)
        paths = _noise_images(n_items, seed) if images else None
        def run():  # noqa: E306
            out = model.encode(texts)
            return model.encode_images(paths)[0] if paths else out
        model.encode(texts[:batch_size])
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = run()
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"kind": kind, "encoder": name, "device": str(device), "precision": encoders.precision(device),
            "n_items": n_items, "batch_size": batch_size, "dim": int(out.shape[1]),
            "seconds": seconds, "items_per_second": n_items / seconds if seconds > 0 else float("inf")}


def _noise_images(n: int, seed: int) -> list[str]:
    import tempfile

    from PIL import Image

    folder = tempfile.mkdtemp(prefix="recplug-content-bench-")
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = f"{folder}/{i}.png"
        Image.fromarray(rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths
