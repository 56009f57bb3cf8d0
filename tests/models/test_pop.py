"""Popularity baseline."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.errors import ModelError
from recplug.models.baselines.pop import Popularity
from recplug.testing.generated import batch_of, clustered, hit_rate, make_train, options


def test_scores_are_distinct_users_per_item_for_everyone():
    # user 0 consumes item 1 twice: counted once
    train = make_train(np.array([0, 0, 0, 1, 2]), np.array([1, 1, 2, 1, 0]), 3, 4)
    model = Popularity().fit(train, options())
    scores = model.score(batch_of(train, np.array([2, 0])))
    assert scores.dtype == np.float32 and scores.shape == (2, 4)
    np.testing.assert_array_equal(scores, [[1, 2, 1, 0], [1, 2, 1, 0]])


def test_popularity_is_a_weak_but_real_baseline():
    gen = clustered(seed=3)
    hr = hit_rate(Popularity().fit(gen.train, options()), gen)
    assert 0.0 < hr < 0.5


def test_contract_errors_and_params():
    gen = clustered(seed=0, n_users=12, n_items=24, per_user=3)
    model = Popularity()
    with pytest.raises(ModelError, match="before fit"):
        model.score(batch_of(gen.train, gen.users))
    model.fit(gen.train, options())
    other = make_train(np.array([0]), np.array([0]), 1, 5)
    with pytest.raises(ModelError, match="fitted on 24 items"):
        model.score(batch_of(other, np.array([0])))
    assert model.get_params() == {} and isinstance(model.clone(), Popularity)
