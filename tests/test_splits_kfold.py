"""The kfold split: Surprise's KFold cut of seeded shuffled ratings, validation from the training fold."""

import numpy as np
import pytest

from recplug.data.interactions import Interactions
from recplug.errors import ConfigError, DataError, SplitError
from recplug.splits import check_split, make_split
from recplug.testing.data import tiny_interactions


def rated(n_rows=203, n_users=25, n_items=30, seed=3, ratings=True):
    """Rows whose timestamp is their row number (so a row is known by its timestamp)."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n_rows)
    items = rng.integers(0, n_items, n_rows)
    values = rng.integers(1, 6, n_rows).astype(np.float32) if ratings else None
    return Interactions.from_arrays(users, items, np.arange(n_rows), values, name="rated")


def rows(part: Interactions) -> set[int]:
    return set(part.timestamps.tolist())


def test_folds_are_disjoint_cover_every_rating_and_differ_in_size_by_at_most_one():
    data = rated()
    tests = [rows(make_split(data, "kfold", seed=4, folds=5, fold=f).test) for f in range(5)]
    assert sum(len(t) for t in tests) == len(data)
    assert set().union(*tests) == set(range(len(data)))
    assert sorted(len(t) for t in tests) == [40, 40, 41, 41, 41]  # 203 = 5 * 40 + 3


def test_train_validation_and_test_partition_the_rows_and_keep_their_ratings():
    data = rated()
    for fold in range(3):
        split = make_split(data, "kfold", seed=1, folds=3, fold=fold)
        train, valid, test = rows(split.train), rows(split.validation), rows(split.test)
        assert not (train & valid) and not (train & test) and not (valid & test)
        assert train | valid | test == set(range(len(data)))
        for part in (split.train, split.validation, split.test):
            np.testing.assert_array_equal(part.ratings, data.ratings[part.timestamps])
        assert rows(split.test_history()) == train | valid  # the whole training fold


def test_validation_is_a_seeded_tenth_of_the_training_fold_never_of_the_test_fold():
    data = rated()
    for fold in range(5):
        split = make_split(data, "kfold", seed=2, folds=5, fold=fold)
        training_fold = len(data) - len(split.test)
        assert len(split.validation) == round(0.1 * training_fold)
        assert not rows(split.validation) & rows(split.test)
    a = make_split(data, "kfold", seed=2, folds=5, fold=0)
    b = make_split(data, "kfold", seed=2, folds=5, fold=0, validation=0.25)
    assert len(b.validation) == round(0.25 * (len(data) - len(b.test)))
    assert rows(a.test) == rows(b.test)


def test_validation_zero_trains_on_the_whole_training_fold():
    data = rated()
    split = make_split(data, "kfold", seed=0, folds=4, fold=1, validation=0)
    assert len(split.validation) == 0
    assert rows(split.train) == set(range(len(data))) - rows(split.test)


def test_the_cut_is_seeded():
    data = rated()
    same = [rows(make_split(data, "kfold", seed=9, folds=5, fold=2).test) for _ in range(2)]
    assert same[0] == same[1]
    other = rows(make_split(data, "kfold", seed=10, folds=5, fold=2).test)
    assert other != same[0]
    valid = [rows(make_split(data, "kfold", seed=9, folds=5, fold=2).validation) for _ in range(2)]
    assert valid[0] == valid[1]


def test_params_are_recorded_and_the_summary_counts_the_parts():
    split = make_split(rated(), "kfold", seed=5, folds=4, fold=3)
    assert split.name == "kfold"
    assert split.params == {"seed": 5, "folds": 4, "fold": 3, "validation": 0.1}
    assert split.summary["test_interactions"] == len(split.test)
    assert split.summary["train_interactions"] == len(split.train)


def test_data_without_ratings_is_a_data_error_naming_the_dataset_and_the_rating_column():
    with pytest.raises(DataError, match=r"split 'kfold' needs ratings, but 'rated' has none.*columns rating=COL"):
        make_split(rated(ratings=False), "kfold", seed=0)


def test_non_finite_ratings_are_a_data_error():
    data = rated()
    values = data.ratings.copy()
    values[7] = np.nan
    bad = Interactions(data.users, data.items, data.user_vocab, data.item_vocab, data.timestamps,
                       values, name="rated")
    with pytest.raises(DataError, match="NaN or infinite"):
        make_split(bad, "kfold", seed=0)


@pytest.mark.parametrize("params, name", [
    ({"folds": 1}, "folds"), ({"folds": "5"}, "folds"), ({"folds": True}, "folds"),
    ({"folds": 5, "fold": 5}, "fold"), ({"fold": -1}, "fold"),
    ({"validation": 1.0}, "validation"), ({"validation": -0.1}, "validation"),
    ({"validation": "x"}, "validation"), ({"shuffle": True}, "shuffle"),
])
def test_bad_parameters_name_the_parameter(params, name):
    with pytest.raises(SplitError, match=name):
        make_split(rated(), "kfold", seed=0, **params)
    with pytest.raises(ConfigError, match=name):
        check_split("kfold", params)


def test_fewer_ratings_than_folds_is_refused():
    with pytest.raises(SplitError, match="cannot make 5 folds"):
        make_split(rated(n_rows=4), "kfold", seed=0, folds=5)


@pytest.mark.parametrize("method", ["ratio", "temporal", "loo"])
def test_other_splits_keep_the_ratings_of_their_held_out_rows(method):
    data = tiny_interactions()
    split = make_split(data, method, seed=0)
    by_time = dict(zip(data.timestamps.tolist(), data.ratings.tolist()))
    for part in (split.validation, split.rows("test")):
        assert part.ratings is not None and len(part) > 0
        assert part.ratings.tolist() == [by_time[t] for t in part.timestamps.tolist()]
    assert len(split.train) + len(split.validation) + len(split.test) <= len(data)
