"""Model files: JSON header + arrays, no arbitrary pickle, refusal of files made for another
model or another item count (the round trip itself is the kit's save_load check)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from recplug.contract import RECPLUG_API
from recplug.errors import ModelError
from recplug.models.baselines.ease import EASE
from recplug.models.baselines.itemknn import ItemKNN
from recplug.models.baselines.pop import Popularity
from recplug.models.mf.bpr import BPR
from recplug.models.sequential.sasrec import SASRec
from recplug.testing import tiny_train
from recplug.testing.generated import options

MODELS = [(Popularity, {}), (ItemKNN, {"k": 5}), (EASE, {"l2": 10.0}), (BPR, {"factors": 4, "epochs": 1}),
          (SASRec, {"hidden": 8, "max_len": 5, "epochs": 1})]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every built-in model fitted on the kit's tiny data and saved: {class: path}."""
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for cls, params in MODELS:
        path = folder / cls.__name__
        cls(**params).fit(tiny_train(), options()).save(path)
        paths[cls] = path
    return paths


def _header(cls, path):
    if cls in (BPR, SASRec):
        return json.loads(torch.load(path, weights_only=True)["header"])
    with np.load(path, allow_pickle=False) as data:  # no object arrays: loads without pickle
        return json.loads(str(data["header"]))


@pytest.mark.parametrize("cls,params", MODELS, ids=lambda x: getattr(x, "__name__", ""))
def test_header_names_class_hyperparameters_api_and_shapes(saved, cls, params):
    header = _header(cls, saved[cls])
    assert header["model"] == f"{cls.__module__}:{cls.__qualname__}"
    assert header["recplug_api"] == RECPLUG_API
    assert header["params"] == cls(**params).get_params()
    train = tiny_train()
    assert header["shapes"] == {"n_users": train.n_users, "n_items": train.n_items}
    assert cls.load(saved[cls], n_items=train.n_items).get_params() == header["params"]


@pytest.mark.parametrize("cls", [cls for cls, _ in MODELS], ids=lambda c: c.__name__)
def test_another_models_file_is_refused_naming_file_and_model(saved, cls):
    other = EASE if cls is not EASE else BPR
    with pytest.raises(ModelError, match=rf"{saved[other]} holds a .*:{other.__name__} model, not .*:{cls.__name__}"):
        cls.load(saved[other])


@pytest.mark.parametrize("cls", [cls for cls, _ in MODELS], ids=lambda c: c.__name__)
def test_another_item_count_is_refused(saved, cls):
    n_items = tiny_train().n_items
    with pytest.raises(ModelError, match=rf"{saved[cls]} was fitted on {n_items} items, but {n_items + 1} were expected"):
        cls.load(saved[cls], n_items=n_items + 1)


def test_missing_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        Popularity.load(tmp_path / "nothing")
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    for cls in (Popularity, BPR):
        with pytest.raises(ModelError, match=rf"{text} is not a recplug model file"):
            cls.load(text)


class _Payload:
    """An arbitrary object: a model file must never unpickle it."""


def test_torch_files_are_read_without_arbitrary_pickle(saved, tmp_path):
    data = torch.load(saved[BPR], weights_only=True)
    data["weights"]["extra"] = _Payload()
    path = tmp_path / "tampered"
    torch.save(data, path)
    with pytest.raises(ModelError, match="is not a recplug model file"):
        BPR.load(path)


def test_what_prepare_derives_is_not_kept_after_fit():
    model = SASRec(hidden=8, max_len=5, epochs=1).fit(tiny_train(), options())
    assert not [name for name in vars(model) if name.startswith("_")]
    assert {"module_", "device_", "shapes_", "train_result_"} <= set(vars(model))


@pytest.mark.parametrize("cls,params", MODELS, ids=lambda x: getattr(x, "__name__", ""))
def test_saving_an_unfitted_model_says_so(cls, params, tmp_path):
    with pytest.raises(ModelError, match=rf"{cls.__name__}.save was called before fit"):
        cls(**params).save(tmp_path / "m")
