"""The cold-items split: a seeded fraction of the items held out entirely."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.errors import ConfigError, SplitError
from recplug.splits import SPLITS, check_split, make_split
from recplug.testing.data import tiny_interactions


@pytest.fixture
def data():
    return tiny_interactions(seed=5, n_users=60, n_items=40)


def items_of(part):
    return set(np.unique(part.items).tolist())


def test_held_out_items_never_reach_train_and_every_target_is_cold(data):
    split = make_split(data, "cold-items", seed=1, fraction=0.3)
    train, valid, test = items_of(split.train), items_of(split.validation), items_of(split.test)
    assert not train & valid and not train & test and not valid & test
    assert len(split.train) + len(split.validation) + len(split.test) == len(data)
    s = split.summary
    interacted = len(np.unique(data.items))
    assert s["valid_items_held_out"] + s["test_items_held_out"] == round(0.3 * interacted)
    assert s["valid_items_held_out"] == round(0.3 * interacted) // 2
    assert s["cold_test_targets"] == s["test_targets"] > 0
    assert s["cold_valid_targets"] == s["valid_targets"] > 0
    assert set(split.test_targets.items.tolist()) == test
    # every held-out row is a target of its user: nothing is dropped
    assert len(split.test_targets) == len({(u, i) for u, i in zip(split.test.users, split.test.items)})


def test_the_catalogue_is_the_whole_vocabulary(data):
    split = make_split(data, "cold-items", seed=0)
    assert split.train.n_items == split.test_history().n_items == data.n_items
    assert split.summary["cold_items"] >= split.summary["test_items_held_out"]


def test_seeded_and_recorded(data):
    a, b = make_split(data, "cold-items", seed=3), make_split(data, "cold-items", seed=3)
    assert items_of(a.test) == items_of(b.test)
    assert items_of(make_split(data, "cold-items", seed=4).test) != items_of(a.test)
    assert a.params == {"seed": 3, "fraction": 0.2} and a.name == "cold-items"


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, True, "0.2", float("nan")])
def test_bad_fraction_names_the_parameter(data, fraction):
    with pytest.raises(ConfigError, match="fraction must be a number in"):
        check_split("cold-items", {"fraction": fraction})
    with pytest.raises(SplitError, match="fraction"):
        make_split(data, "cold-items", fraction=fraction)


def test_too_few_items_is_refused_with_the_counts(data):
    with pytest.raises(SplitError, match="holds out 1; it needs at least 2"):
        make_split(data, "cold-items", fraction=0.03)
    with pytest.raises(ConfigError, match="no parameter 'ratios'"):
        check_split("cold-items", {"ratios": (0.8, 0.1, 0.1)})
    assert "cold-items" in SPLITS


def test_collaborative_fallbacks_on_cold_items(data):
    """pop and ease give never-trained items exactly 0: below every trained item for pop."""
    from recplug.contract import FitOptions, TrainData
    from recplug.discovery import load_model_class
    from recplug.testing import make_batch

    split = make_split(data, "cold-items", seed=1, fraction=0.3)
    train = TrainData(split.train)
    cold = np.flatnonzero(np.bincount(split.train.items, minlength=data.n_items) == 0)
    batch = make_batch([0, 1], [split.train.items[split.train.users == u].tolist() for u in (0, 1)],
                       data.n_items)
    for name in ("pop", "ease", "itemknn"):
        cls, _ = load_model_class(name)
        model = cls()
        model.fit(train, FitOptions())
        scores = model.score(batch)
        scores = scores.cpu().numpy() if hasattr(scores, "cpu") else np.asarray(scores)
        assert np.all(scores[:, cold] == 0), name
    pop = load_model_class("pop")[0]()
    pop.fit(train, FitOptions())
    scores = np.asarray(pop.score(batch))
    warm = np.setdiff1d(np.arange(data.n_items), cold)
    assert scores[:, warm].min() > 0
