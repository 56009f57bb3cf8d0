"""The plugin's own tests: recplug's conformance kit, one test per check, plus its behaviour."""

import numpy as np
import pytest

from recplug.contract import FitOptions
from recplug.data.interactions import Interactions
from recplug.contract import TrainData
from recplug.errors import ConfigError, DataError
from recplug.testing import make_batch, parametrize_models
from recplug_example.bare import RecentCount
from recplug_example.model import RecencyPopularity


@parametrize_models(RecencyPopularity, (RecencyPopularity, {"half_life": 2.0, "time_unit": 3600.0}),
                    RecentCount, (RecentCount, {"window": 5 * 86_400.0}))
def test_conformance(model_check):
    model_check()


def _train(items, timestamps):
    return TrainData(Interactions.from_arrays(np.zeros(len(items), dtype=int), items, timestamps))


def test_recent_interactions_weigh_more():
    # item "old" was consumed twice 20 days ago, item "new" once today
    day = 86_400
    train = _train(["old", "old", "new"], [0, 0, 20 * day])
    model = RecencyPopularity(half_life=10.0).fit(train, FitOptions())
    scores = model.score(make_batch([0], [[]], train.n_items))[0]
    old, new = train.interactions.item_vocab.lookup(["old", "new"])
    assert scores[new] == pytest.approx(1.0)
    assert scores[old] == pytest.approx(2 * 0.25)   # two half-lives: 2 x 1/4
    plain = RecencyPopularity(half_life=float("inf")).fit(train, FitOptions())
    assert plain.score(make_batch([0], [[]], train.n_items))[0][old] == pytest.approx(2.0)


def test_bad_hyperparameters_and_missing_timestamps_are_explained():
    train = _train(["a"], [0])
    with pytest.raises(ConfigError, match="half_life=0 is not allowed; half_life must be a real number > 0"):
        RecencyPopularity(half_life=0).fit(train, FitOptions())
    untimed = TrainData(Interactions.from_arrays([0], ["a"]))
    with pytest.raises(DataError, match="needs timestamps"):
        RecencyPopularity().fit(untimed, FitOptions())
