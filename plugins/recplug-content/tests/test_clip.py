"""The clip model on a tiny randomly initialised CLIP built in-process (nothing downloaded)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("PIL")

from conftest import TINY_CLIP, with_items  # noqa: E402
from recplug.contract import FitOptions  # noqa: E402
from recplug.testing import make_batch, parametrize_models, tiny_train  # noqa: E402
from recplug_content.clip import ClipContent  # noqa: E402
from recplug_content.encoders import ImageWarning  # noqa: E402


@pytest.fixture
def images(tmp_path):
    from PIL import Image

    n = tiny_train().n_items
    paths = []
    for i in range(n):
        path = tmp_path / f"{i}.png"
        Image.new("RGB", (36, 28), ((i * 37) % 256, (i * 91) % 256, 128)).save(path)
        paths.append(str(path))
    paths[1] = str(tmp_path / "broken.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    paths[2] = None
    return paths


@parametrize_models((ClipContent, {"encoder": TINY_CLIP, "modality": "text", "profile": "mean"}),
                    (ClipContent, {"encoder": TINY_CLIP, "modality": "text", "profile": "adapter",
                                   "factors": 4, "epochs": 2, "batch_size": 64}))
def test_conformance(model_check, kit_with_items, tiny_clip):
    model_check()


def test_images_and_texts_share_one_space_and_broken_images_are_counted(tiny_clip, images):
    train = with_items(tiny_train(), images=images)
    with pytest.warns(ImageWarning, match="1 item image"):
        both = ClipContent(encoder=tiny_clip, modality="both", profile="mean").fit(train, FitOptions())
    image_only = ClipContent(encoder=tiny_clip, modality="image", profile="mean")
    with pytest.warns(ImageWarning):
        image_only.fit(train, FitOptions())
    text_only = ClipContent(encoder=tiny_clip, modality="text", profile="mean").fit(train, FitOptions())
    b, i, t = (m.module_.content.numpy() for m in (both, image_only, text_only))
    assert b.shape == (train.n_items, 16)
    assert np.allclose(np.linalg.norm(b[:-1], axis=1), 1, atol=1e-5)
    assert np.allclose(i[1], 0) and np.allclose(i[2], 0)      # broken and absent images
    assert np.allclose(b[1], t[1], atol=1e-6)                 # ... fall back to the text
    mixed = (i[0] + t[0]) / np.linalg.norm(i[0] + t[0])
    assert np.allclose(b[0], mixed, atol=1e-5)
    scores = both.score(make_batch([0], [[0, 3]], train.n_items)).numpy()[0]
    assert np.allclose(scores, b @ b[[0, 3]].mean(axis=0), atol=1e-5)
