"""Shared fixtures: an isolated embedding cache, item tables for the kit's tiny data, and a
tiny randomly initialised CLIP model saved in-process (nothing is downloaded)."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def item_table(n_items: int, *, images: list | None = None, clusters: int = 4):
    """Texts that follow the kit's cluster layout (item i in cluster i * clusters // n)."""
    from recplug.data.items import ItemField, ItemTable

    ids = np.arange(n_items)
    words = ["comedy romance", "space war robots", "horror night ghosts", "cooking food kitchen"]
    titles = np.empty(n_items, dtype=object)
    titles[:] = [f"{words[i * clusters // n_items % len(words)]} story {i}" for i in ids]
    titles[-1] = None  # one item without any content
    fields = {"title": ItemField("title", "text", titles)}
    if images is not None:
        values = np.empty(n_items, dtype=object)
        values[:] = images
        fields["image"] = ItemField("image", "image", values)
    return ItemTable(ids, fields, np.ones(n_items, dtype=bool), source="test", format="test")


def with_items(train, **kwargs):
    from recplug.contract import TrainData

    return TrainData(train.interactions, items=item_table(train.n_items, **kwargs))


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory):
    """One embedding cache for the session (the tests' item tables are encoded once)."""
    folder = tmp_path_factory.mktemp("content-cache")
    previous = os.environ.get("RECPLUG_CONTENT_CACHE")
    os.environ["RECPLUG_CONTENT_CACHE"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["RECPLUG_CONTENT_CACHE"]
    else:
        os.environ["RECPLUG_CONTENT_CACHE"] = previous


@pytest.fixture
def embedding_cache(tmp_path, monkeypatch):
    """An empty cache of the test's own."""
    folder = tmp_path / "content-cache"
    monkeypatch.setenv("RECPLUG_CONTENT_CACHE", str(folder))
    return folder


@pytest.fixture
def kit_with_items(monkeypatch):
    """The conformance kit's tiny data, with an item table (the kit itself builds none)."""
    import recplug.testing.checks as checks
    from recplug.testing.data import tiny_train

    monkeypatch.setattr(checks, "tiny_train", lambda *a, **k: with_items(tiny_train(*a, **k)))


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table, which CLIP's BPE vocabulary uses."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return dict(zip(bs, map(chr, cs)))


#: where the tiny CLIP is saved: known at collection time, so tests can parametrize with it
TINY_CLIP = os.path.join(tempfile.mkdtemp(prefix="recplug-content-tests-"), "tiny-clip")


@pytest.fixture(scope="session")
def tiny_clip():
    """``TINY_CLIP``, a folder holding a randomly initialised CLIPModel (32-wide, 2 layers,
    16-d projections) and its processor, with a character-level BPE vocabulary."""
    pytest.importorskip("transformers")
    pytest.importorskip("PIL")
    from pathlib import Path

    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder = Path(TINY_CLIP)
    if (folder / "config.json").is_file():
        return str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = len(vocab), len(vocab) + 1
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    end = vocab["<|endoftext|>"]
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=77,
                         bos_token_id=vocab["<|startoftext|>"], eos_token_id=end, pad_token_id=end),
        vision_config=dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37,
                           num_hidden_layers=2, num_attention_heads=4),
        projection_dim=16)
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                     crop_size={"height": 32, "width": 32}),
                  tokenizer=tokenizer).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session", autouse=True)
def _remove_tiny_clip():
    yield
    import shutil

    shutil.rmtree(os.path.dirname(TINY_CLIP), ignore_errors=True)
