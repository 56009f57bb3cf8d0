"""``clip``: item embeddings from a CLIP model (transformers), images and/or texts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from recplug_content._deps import require

require("transformers", "transformers", "clip", "clip")
require("PIL", "pillow", "clip", "clip")

from recplug_content.model import COMMON_CONSTRAINTS, ContentModel, Text  # noqa: E402
from recplug.training.constraints import Nullable, Options  # noqa: E402


class ClipContent(ContentModel):
    """Content model over CLIP embeddings of the items' images and texts.

    Hyperparameters: ``encoder`` (a folder saved with ``CLIPModel``/``CLIPProcessor``
    ``save_pretrained``, or a hub name such as ``openai/clip-vit-base-patch32``),
    ``modality`` (``text``, ``image`` or ``both``: the normalised mean of an item's image and
    text embeddings; an item with only one of them uses that one), ``image_field`` (the
    item table's image field; default its first), ``text_fields`` and the profile settings of
    :mod:`recplug_content.model`. Unreadable images are counted (one warning) and their
    items fall back to their text; items with neither get a zero embedding.
    """

    parameter_constraints = {"encoder": Text(), "modality": Options("both", "text", "image"),
                             "image_field": Nullable(Text()), **COMMON_CONSTRAINTS}

    def __init__(self, encoder: str = "openai/clip-vit-base-patch32", modality: str = "both",
                 image_field: str | None = None, profile: str = "adapter", half_life: float = 10.0,
                 factors: int = 64, lr: float = 1e-3, reg: float = 1e-4, batch_size: int = 1024,
                 epochs: int = 100, init_std: float = 0.1, eval_every: int = 5,
                 encode_batch_size: int = 32, text_fields: str | None = None):
        self.encoder = encoder
        self.modality = modality
        self.image_field = image_field
        self.profile = profile
        self.half_life = half_life
        self.factors = factors
        self.lr = lr
        self.reg = reg
        self.batch_size = batch_size
        self.epochs = epochs
        self.init_std = init_std
        self.eval_every = eval_every
        self.encode_batch_size = encode_batch_size
        self.text_fields = text_fields

    def embed(self, items: Any, device: Any) -> np.ndarray:
        from recplug_content import cache, encoders

        texts = items.texts(self.text_field_names()) if self.modality != "image" else [""] * items.n_items
        paths = items.image_paths(self.image_field) if self.modality != "text" else [None] * items.n_items
        description = {"kind": "clip", **encoders.identity(self.encoder), "modality": self.modality,
                       "precision": encoders.precision(device), "batch": int(self.encode_batch_size),
                       "fields": self.text_field_names(), "texts": cache.fingerprint({"t": texts}),
                       "images": cache.fingerprint({"i": [_file_stamp(p) for p in paths]})}

        def compute() -> np.ndarray:
            encoder = encoders.ClipEncoder(self.encoder, device, self.encode_batch_size)
            out = np.zeros((items.n_items, encoder.dim), dtype=np.float32)
            present = [i for i, t in enumerate(texts) if t]
            if present:
                out[present] = encoder.encode([texts[i] for i in present])
            if any(p is not None for p in paths):
                images, readable = encoder.encode_images(paths)
                out[readable] = out[readable] + images[readable]
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            return out / np.where(norms > 0, norms, 1.0)

        embeddings, _ = cache.cached(description, compute)
        return embeddings


def _file_stamp(path: str | None) -> Any:
    if path is None or "://" in path or not Path(path).is_file():
        return path
    stat = Path(path).stat()
    return [path, stat.st_size, stat.st_mtime_ns]
