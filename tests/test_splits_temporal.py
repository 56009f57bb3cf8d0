"""temporal and temporal-user splits on hand-made timelines."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.data import Interactions
from recplug.data.synthetic import generate
from recplug.errors import SplitError
from recplug.splits import make_split
from recplug.splits.temporal_user import part_sizes


def target_pairs(inter, targets):
    return sorted((inter.user_vocab.ids[u].item(), inter.item_vocab.ids[i].item())
                  for u in targets.users() for i in targets.of(u))


def timeline():
    """Train t < 7, validation window 7..8, test window 9..10 (valid_from=0.4, test_from=0.65:
    the 7th and 11th of the 16 sorted timestamps)."""
    rows = [
        # t, user, item
        (1, "a", 1), (2, "a", 2), (3, "b", 1), (4, "b", 3), (5, "c", 2), (6, "a", 3),
        (7, "b", 4),   # valid: item 4 never seen before the window -> cold, dropped
        (7, "b", 2),   # valid: new for b, seen in train -> target
        (8, "d", 1),   # valid: d has no train history -> dropped
        (8, "b", 1),   # valid: b already had item 1 -> repeat
        (9, "a", 4),   # test: item 4 seen (by b) in the validation window -> target
        (9, "b", 3),   # test: repeat
        (10, "a", 2),  # test: repeat
        (10, "c", 1),  # test: target
        (10, "c", 3),  # test: target (second of c's window -> dropped by target=next)
        (10, "e", 9),  # test: e unknown, item 9 unknown
    ]
    t, u, i = zip(*rows)
    return Interactions.from_arrays(list(u), list(i), list(t))


def test_temporal_targets_and_counts():
    data = timeline()
    split = make_split(data, "temporal", valid_from=0.4, test_from=0.65)
    assert split.summary["valid_from_time"] == 7 and split.summary["test_from_time"] == 9
    assert len(split.train) == 6 and len(split.validation) == 4
    assert split.train.timestamps.max() < split.validation.timestamps.min()
    assert target_pairs(data, split.valid_targets) == [("b", 2)]
    assert target_pairs(data, split.test_targets) == [("a", 4), ("c", 1), ("c", 3)]
    s = split.summary
    assert (s["valid_cold_item_dropped"], s["valid_no_history_users"], s["valid_repeat_dropped"]) == (1, 1, 1)
    assert (s["test_cold_item_dropped"], s["test_no_history_users"], s["test_repeat_dropped"]) == (0, 1, 2)
    assert s["cold_test_targets"] == 1  # item 4: known from validation, cold for a model fitted on train
    assert split.params == {"seed": 0, "valid_from": 0.4, "test_from": 0.65, "target": "all"}


def test_temporal_next_keeps_first_new_item():
    split = make_split(timeline(), "temporal", valid_from=0.4, test_from=0.65, target="next")
    assert target_pairs(timeline(), split.test_targets) == [("a", 4), ("c", 1)]


def test_temporal_ties_stay_on_one_side():
    times = [1, 2, 3, 3, 3, 3, 4, 5, 6, 7]
    data = Interactions.from_arrays(["u", "v"] * 5, list(range(9)) + [0], times)
    split = make_split(data, "temporal", valid_from=0.3, test_from=0.9)
    assert split.train.timestamps.tolist() == [1, 2]
    assert split.validation.timestamps.min() == 3


def test_temporal_refusals():
    with pytest.raises(SplitError, match="needs timestamps"):
        make_split(Interactions.from_arrays([1, 2], [1, 2]), "temporal")
    data = timeline()
    for params in ({"valid_from": 0.9, "test_from": 0.8}, {"valid_from": 0, "test_from": 0.5},
                   {"valid_from": "x"}):
        with pytest.raises(SplitError, match="valid_from"):
            make_split(data, "temporal", **params)
    with pytest.raises(SplitError, match="target must be 'all' or 'next'"):
        make_split(data, "temporal", target="last")
    same_time = Interactions.from_arrays([1, 2, 3], [1, 2, 3], [5, 5, 5])
    with pytest.raises(SplitError, match="train is empty"):
        make_split(same_time, "temporal")


def test_temporal_on_generated_data_is_chronological():
    data = generate(300, 200, 20_000, seed=4, drift=0.2)
    split = make_split(data, "temporal")
    test_start = split.summary["test_from_time"]
    assert split.train.timestamps.max() < split.validation.timestamps.min()
    assert split.validation.timestamps.max() < test_start
    assert split.summary["test_targets"] > 0 and split.summary["valid_targets"] > 0


@pytest.mark.parametrize("n, expected", [
    (1, (1, 0, 0)), (2, (1, 0, 1)), (3, (1, 1, 1)), (9, (7, 1, 1)), (10, (8, 1, 1)), (25, (21, 2, 2)),
])
def test_temporal_user_part_sizes_follow_recbole(n, expected):
    sizes = part_sizes(np.array([n]), (0.8, 0.1, 0.1))
    assert tuple(int(s[0]) for s in sizes) == expected


def test_temporal_user_is_per_user_chronological_and_says_it_leaks():
    data = generate(100, 80, 3000, seed=5)
    split = make_split(data, "temporal-user")
    assert split.summary["leaks_across_users"] is True
    assert "leaks across users" in split.params["note"]
    last_train = np.full(data.n_users, -1)
    np.maximum.at(last_train, split.train.users, split.train.timestamps)
    first_valid = np.full(data.n_users, np.iinfo(np.int64).max)
    np.minimum.at(first_valid, split.validation.users, split.validation.timestamps)
    assert (last_train <= first_valid).all()
    counts = np.bincount(data.users, minlength=data.n_users)
    sizes = part_sizes(counts, (0.8, 0.1, 0.1))
    assert np.array_equal(np.bincount(split.train.users, minlength=data.n_users), sizes[0])
