"""loo and ratio splits on hand-made data."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.data import Interactions
from recplug.data.synthetic import generate
from recplug.errors import SplitError
from recplug.splits import make_split


def raw(inter: Interactions, part: Interactions):
    """(user, item) raw-id pairs of a part, in row order."""
    return list(zip(inter.user_vocab.ids[part.users].tolist(), inter.item_vocab.ids[part.items].tolist()))


def target_pairs(inter: Interactions, targets):
    return sorted((inter.user_vocab.ids[u].item(), inter.item_vocab.ids[i].item())
                  for u in targets.users() for i in targets.of(u))


def test_loo_last_is_test_second_last_is_validation():
    #            user a: 5 rows          user b: 2 rows   user c: re-consumes at the end
    users = ["a"] * 5 + ["b"] * 2 + ["c"] * 4
    items = [1, 2, 3, 4, 5] + [1, 2] + [7, 8, 9, 7]
    times = [5, 1, 2, 3, 4] + [1, 2] + [1, 2, 3, 4]
    data = Interactions.from_arrays(users, items, times)
    split = make_split(data, "loo")
    assert target_pairs(data, split.test_targets) == [("a", 1)]  # c's last item 7 is in its history
    assert target_pairs(data, split.valid_targets) == [("a", 5), ("c", 9)]
    assert sorted(raw(data, split.validation)) == [("a", 5), ("c", 9)]
    assert sorted(raw(data, split.train)) == sorted([("a", 2), ("a", 3), ("a", 4), ("b", 1), ("b", 2),
                                                     ("c", 7), ("c", 8)])
    assert split.summary["users_train_only"] == 1
    assert split.summary["test_repeat_dropped"] == 1
    assert split.params == {"seed": 0}
    assert split.train.item_vocab is data.item_vocab  # full vocabulary kept


def test_loo_without_timestamps_uses_row_order():
    data = Interactions.from_arrays(["u"] * 4, [4, 3, 2, 1])
    split = make_split(data, "loo")
    assert target_pairs(data, split.test_targets) == [("u", 1)]
    assert target_pairs(data, split.valid_targets) == [("u", 2)]
    # history at test time keeps the sequence order: train then validation
    indptr, items = split.test_history().sequences()
    assert data.item_vocab.ids[items].tolist() == [4, 3, 2]


def test_loo_counts_cold_items_and_refuses_tiny_data():
    data = Interactions.from_arrays(["u"] * 3 + ["v"] * 3, [1, 2, 3, 1, 2, 4], [1, 2, 3, 1, 2, 3])
    split = make_split(data, "loo")
    assert split.summary["cold_items"] == 3  # only item 1 is in train
    assert split.summary["cold_test_targets"] == 2
    assert split.summary["cold_valid_targets"] == 2
    with pytest.raises(SplitError, match="no test targets"):
        make_split(Interactions.from_arrays(["u", "u"], [1, 2]), "loo")


def test_ratio_sizes_determinism_and_seeds():
    data = generate(100, 50, 2000, seed=0)
    a = make_split(data, "ratio", seed=1)
    b = make_split(data, "ratio", seed=1)
    c = make_split(data, "ratio", seed=2)
    assert (len(a.train), len(a.validation)) == (1600, 200)
    assert a.summary["test_targets"] <= 200
    assert np.array_equal(a.train.items, b.train.items) and np.array_equal(a.test_targets.items,
                                                                          b.test_targets.items)
    assert not np.array_equal(a.train.items, c.train.items)
    assert a.params == {"seed": 1, "ratios": (0.8, 0.1, 0.1)}
    assert (np.diff(a.train.timestamps) >= 0).all()


def test_ratio_custom_and_invalid_ratios():
    data = generate(50, 30, 1000, seed=0)
    split = make_split(data, "ratio", ratios=(0.7, 0.0, 0.3))
    assert len(split.validation) == 0 and len(split.valid_targets) == 0
    assert len(split.train) == 700
    for bad in ((0.5, 0.5), (0.8, 0.1, 0.2), (0.9, 0.1, 0.0), "abc", (-0.1, 0.6, 0.5)):
        with pytest.raises(SplitError, match="ratios"):
            make_split(data, "ratio", ratios=bad)


def test_ratio_drops_duplicates_split_across_parts():
    data = Interactions.from_arrays(["u"] * 10, [1] * 10, list(range(10)))
    with pytest.raises(SplitError, match="no test targets"):
        make_split(data, "ratio")
