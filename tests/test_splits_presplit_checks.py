"""presplit, the leakage checks (catching deliberately leaky splits), and make_split errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recplug.data import Dataset, Interactions, Targets, load_dataset
from recplug.data.synthetic import generate
from recplug.errors import LeakageError, SplitError
from recplug.splits import SPLITS, make_split
from recplug.splits.checks import (check_chronology, check_split, check_targets_not_in_history,
                                   distinct, member, overlap_pairs)


def target_pairs(inter, targets):
    return sorted((inter.user_vocab.ids[u].item(), inter.item_vocab.ids[i].item())
                  for u in targets.users() for i in targets.of(u))


def presplit_folder(tmp_path):
    folder = tmp_path / "ps"
    folder.mkdir()
    (folder / "train.txt").write_text("0 10 11 12 13\n1 10 11\n2 12 13 14\n")
    (folder / "test.txt").write_text("0 14 10\n1 12\n2 15 16\n")
    return folder


def test_presplit_moves_last_train_row_to_validation(tmp_path):
    ds = load_dataset(presplit_folder(tmp_path))
    split = make_split(ds, "presplit")
    data = ds.interactions
    assert target_pairs(data, split.valid_targets) == [(0, 13), (2, 14)]
    assert split.summary["validation_moved_from_train"] == 2
    # user 0's test item 10 is also in its train file: reported and dropped
    assert split.summary["train_test_overlap"] == 1
    assert target_pairs(data, split.test_targets) == [(0, 14), (1, 12), (2, 15), (2, 16)]
    # 14 is user 2's validation item but user 0's test item: fine, different users
    assert len(split.train) + len(split.validation) == ds.predefined["train"].sum()


def test_presplit_needs_predefined_parts():
    with pytest.raises(SplitError, match="ships its own train/test"):
        make_split(generate(10, 10, 100), "presplit")


def test_every_split_keeps_the_full_vocabulary():
    data = generate(60, 40, 2000, seed=1)
    ds = Dataset("syn", data, "memory")
    for method in ("loo", "temporal", "temporal-user", "ratio"):
        split = make_split(ds, method, seed=3)
        assert split.name == method
        assert split.train.item_vocab == data.item_vocab and split.train.user_vocab == data.user_vocab
        assert split.valid_targets.n_users == data.n_users
        # train and validation rows are disjoint parts of the data
        assert len(split.train) + len(split.validation) <= len(data)
        assert split.summary["cold_items"] == data.n_items - np.count_nonzero(
            split.train.item_interaction_counts())


def test_leaky_targets_are_caught():
    data = generate(50, 30, 1500, seed=2)
    split = make_split(data, "loo")
    u = int(split.train.users[0])
    i = int(split.train.items[0])
    leaky = Targets.from_pairs(np.array([u]), np.array([i]), data.n_users)
    with pytest.raises(LeakageError, match="1 test target.*already occur in the history"):
        check_split(dataclasses.replace(split, test_targets=leaky), data)
    with pytest.raises(LeakageError, match="validation target"):
        check_split(dataclasses.replace(split, valid_targets=leaky), data)
    # a validation row used as a test target is a leak too (test history = train + validation)
    v = Targets.from_pairs(split.validation.users[:1], split.validation.items[:1], data.n_users)
    with pytest.raises(LeakageError, match="test target"):
        check_targets_not_in_history(split.test_history(), v, split="loo", which="test")


def test_foreign_vocabulary_is_caught():
    data = generate(50, 30, 1500, seed=2)
    split = make_split(data, "loo")
    other = generate(50, 31, 1500, seed=2)
    with pytest.raises(LeakageError, match="vocabularies"):
        check_split(dataclasses.replace(split, train=other), data)


def test_future_in_train_is_caught():
    with pytest.raises(LeakageError, match="1 test-window interaction.*not later"):
        check_chronology(np.array([1, 5, 9]), np.array([9, 10]), split="temporal",
                         earlier_name="train", later_name="test-window")
    check_chronology(np.array([1, 5, 8]), np.array([9, 10]), split="temporal",
                     earlier_name="train", later_name="test-window")


def test_key_helpers():
    assert member(np.array([3, 1, 7]), np.array([7, 2, 3])).tolist() == [True, False, True]
    assert member(np.array([1]), np.array([], dtype=np.int64)).tolist() == [False]
    assert distinct(np.array([3, 1, 3, 2])).tolist() == [1, 2, 3]
    a = Interactions.from_arrays([1, 1, 2], [1, 2, 1])
    assert overlap_pairs(a, (np.array([0, 0]), np.array([1, 1])), a.n_items) == 1


def test_make_split_argument_errors():
    data = generate(20, 20, 400)
    with pytest.raises(SplitError,
                       match="unknown split 'cold'.*loo, temporal, temporal-user, ratio, presplit, kfold"):
        make_split(data, "cold")
    with pytest.raises(SplitError, match="no parameter 'ratios'.*valid parameters: none"):
        make_split(data, "loo", ratios=(0.8, 0.1, 0.1))
    with pytest.raises(SplitError, match="valid parameters: valid_from=0.8, test_from=0.9, target='all'"):
        make_split(data, "temporal", valid=0.5)
    with pytest.raises(SplitError, match="seed must be an integer"):
        make_split(data, "ratio", seed=1.5)
    with pytest.raises(SplitError, match="Dataset or Interactions"):
        make_split([1, 2], "loo")
    assert set(SPLITS) == {"loo", "temporal", "temporal-user", "ratio", "presplit", "kfold", "cold-items"}
