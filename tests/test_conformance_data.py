"""The kit's tiny data and batch builder: shapes, layout and the structure the checks rely on."""

import numpy as np
import pytest

from recplug.contract import PAD
from recplug.errors import ConfigError
from recplug.testing import make_batch, tiny_interactions, tiny_train, train_batch


def test_tiny_interactions_have_the_documented_shape():
    data = tiny_interactions()
    assert (data.n_users, data.n_items) == (30, 40)
    per_user = np.bincount(data.users, minlength=30)
    assert per_user[-1] == 0 and per_user[-2] == 1 and per_user[:-2].min() >= 4 and per_user.max() <= 12
    assert np.bincount(data.items, minlength=40)[-1] == 0          # one cold item
    assert (np.diff(data.timestamps) >= 0).all()                     # chronological
    assert data.ratings.dtype == np.float32 and set(np.unique(data.ratings)) <= {1, 2, 3, 4, 5}


def test_tiny_interactions_are_deterministic_per_seed():
    a, b, c = tiny_interactions(3), tiny_interactions(3), tiny_interactions(4)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_tiny_interactions_have_learnable_order():
    """Most consecutive pairs of a user's sequence are i -> i + 1 inside a cluster."""
    train = tiny_train()
    pairs = [(a, b) for u in range(train.n_users) for a, b in zip(train.sequence(u)[:-1], train.sequence(u)[1:])]
    forward = sum(b == a + 1 for a, b in pairs)
    assert forward / len(pairs) > 0.5


def test_tiny_interactions_reject_impossible_sizes():
    with pytest.raises(ConfigError, match="n_users >= 3"):
        tiny_interactions(n_users=2)


def test_make_batch_layout_is_oldest_first_pad_at_the_end():
    batch = make_batch([4, 7], [[3, 1, 2], [5]], n_items=10)
    assert batch.histories.dtype == np.int32 and batch.lengths.dtype == np.int32
    assert batch.histories.tolist() == [[3, 1, 2], [5, PAD, PAD]]
    assert batch.lengths.tolist() == [3, 1] and batch.users.tolist() == [4, 7]
    empty = make_batch([1, 2], [[], []], n_items=10)
    assert empty.histories.shape == (2, 0) and empty.lengths.tolist() == [0, 0]
    with pytest.raises(ConfigError, match="2 users but 1 histories"):
        make_batch([1, 2], [[]], n_items=10)


def test_train_batch_uses_the_training_sequences():
    train = tiny_train()
    batch = train_batch(train)
    assert len(batch) == 29                                 # every user with a history
    row = batch.histories[0, :batch.lengths[0]]
    assert np.array_equal(row, train.sequence(int(batch.users[0])))
