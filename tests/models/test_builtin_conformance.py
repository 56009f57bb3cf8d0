"""Every built-in model passes the conformance kit third-party plugins use, is registered,
and declares what the runner reads before any data loads."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from recplug.errors import ConfigError
from recplug.models.baselines.ease import EASE
from recplug.models.baselines.itemknn import ItemKNN
from recplug.models.baselines.pop import Popularity
from recplug.models.mf.bpr import BPR
from recplug.models.sequential.sasrec import SASRec
from recplug.testing import parametrize_models
from recplug.training.constraints import check_model_params, search_space

BUILT_IN = {"pop": Popularity, "itemknn": ItemKNN, "ease": EASE, "bpr": BPR, "sasrec": SASRec}


@parametrize_models(
    Popularity,
    (ItemKNN, {"k": 10}),
    (EASE, {"l2": 10.0}),
    (BPR, {"factors": 8, "batch_size": 64}),
    (SASRec, {"max_len": 10, "hidden": 16, "batch_size": 32}),
    (SASRec, {"max_len": 10, "hidden": 16, "batch_size": 32, "loss": "ce"}),
)
def test_conformance(model_check):
    model_check()


#: every built-in entry point, its family folder, whether it trains in epochs, its task
FAMILIES = {
    "pop": ("baselines", False, "ranking"), "itemknn": ("baselines", False, "ranking"),
    "ease": ("baselines", False, "ranking"), "bpr": ("mf", True, "ranking"),
    "sasrec": ("sequential", True, "ranking"), "gmf": ("ncf", True, "ranking"),
    "mlp": ("ncf", True, "ranking"), "neumf": ("ncf", True, "ranking"),
    "autoencoder": ("autoencoders", True, "ranking"), "autorec": ("autoencoders", True, "ranking"),
    "autorec-rating": ("autoencoders", True, "rating"), "cdae": ("autoencoders", True, "ranking"),
    "multdae": ("autoencoders", True, "ranking"), "multvae": ("autoencoders", True, "ranking"),
    "item2vec": ("embeddings", True, "ranking"), "baseline": ("rating", False, "rating"),
    "svd": ("rating", False, "rating"), "svdpp": ("rating", False, "rating"), "mf": ("rating", True, "rating"),
    "rnn": ("sequential", True, "ranking"), "seq2seq": ("sequential", True, "ranking"),
    "attn": ("sequential", True, "ranking"), "narm": ("sequential", True, "ranking"),
    "gru4rec": ("sequential", True, "ranking"), "bert4rec": ("sequential", True, "ranking"),
    "gcn": ("graph", True, "ranking"), "ngcf": ("graph", True, "ranking"), "lightgcn": ("graph", True, "ranking"),
}


def builtin_entry_points() -> dict[str, type]:
    return {ep.name: ep.load() for ep in entry_points(group="recplug.models")
            if ep.value.startswith("recplug.models.")}


def test_entry_points_name_the_family_modules():
    registered = builtin_entry_points()
    assert {name: registered[name] for name in BUILT_IN} == BUILT_IN
    assert set(registered) == set(FAMILIES), "a built-in model is registered but not listed here, or gone"
    for name, cls in registered.items():
        assert cls.__module__.split(".")[2] == FAMILIES[name][0], (name, cls.__module__)


def test_only_the_epoch_trained_models_are_iterative():
    found = {name: (cls.tags.iterative, cls.tags.task) for name, cls in builtin_entry_points().items()}
    assert found == {name: (iterative, task) for name, (_, iterative, task) in FAMILIES.items()}


@pytest.mark.parametrize("cls,params,message", [
    (BPR, {"lr": -1}, r"BPR: lr=-1 is not allowed; lr must be a real number > 0"),
    (BPR, {"factors": 2.5}, r"factors=2.5 is not allowed; factors must be an integer >= 1"),
    (ItemKNN, {"k": 0}, r"k=0 is not allowed"),
    (EASE, {"l2": 0.0}, r"l2=0.0 is not allowed; l2 must be a real number > 0"),
    (SASRec, {"loss": "mse"}, r"loss='mse' is not allowed; loss must be one of 'bce', 'ce'"),
    (SASRec, {"hidden": 10, "n_heads": 3}, r"hidden \(10\) must be divisible by n_heads \(3\)"),
])
def test_declared_constraints_reject_without_data(cls, params, message):
    with pytest.raises(ConfigError, match=message):
        check_model_params(cls, cls(**params).get_params())


def test_search_spaces_are_declared_where_they_make_sense():
    assert search_space(BPR)["lr"] == {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}
    assert search_space(SASRec)["loss"] == {"type": "categorical", "choices": ["bce", "ce"]}
    assert "epochs" not in search_space(BPR)  # a budget, not a hyperparameter worth searching
