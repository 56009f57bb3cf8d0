"""evaluate_rating: RMSE/MAE/FCP by hand, clipping, fallback counting, refusals, the validator."""

from collections import defaultdict

import numpy as np
import pytest

from recplug.contract import Tags
from recplug.data.interactions import Interactions, Vocabulary
from recplug.data.targets import Targets
from recplug.errors import EvaluationError
from recplug.evaluation import RatingConfig, RatingValidator, evaluate_rating
from recplug.evaluation.rating import fcp
from recplug.splits import make_split
from recplug.splits.base import Split
from recplug.testing.data import tiny_interactions


class Table:
    """A rating model answering from a {(user, item): prediction} table (default 3.0)."""

    tags = Tags(task="rating", iterative=False)

    def __init__(self, table=None, default=3.0, dtype=np.float32):
        self.table, self.default, self.dtype = table or {}, default, dtype
        self.calls = []

    def predict(self, users, items):
        self.calls.append(len(users))
        return np.array([self.table.get((int(u), int(i)), self.default) for u, i in zip(users, items)],
                        dtype=self.dtype)


def part(users, items, ratings, n_users=4, n_items=5):
    return Interactions(np.array(users, np.int32), np.array(items, np.int32), Vocabulary(np.arange(n_users)),
                        Vocabulary(np.arange(n_items)), None, np.array(ratings, np.float32), name="hand")


def hand_split(test, valid=None, train=None):
    train = train or part([0, 0, 1, 1, 2], [0, 1, 1, 2, 3], [1, 5, 2, 4, 3])
    valid = valid or part([], [], [])
    return Split("hand", {}, train, valid, Targets.empty(4), Targets.empty(4), test=test)


def test_rmse_mae_and_per_user_errors_by_hand():
    # user 0: true 4, 2 predicted 3, 3 -> errors -1, +1; user 1: true 5 predicted 4 -> -1;
    # user 2: true 1 predicted 3 -> +2
    test = part([0, 0, 1, 2], [2, 3, 0, 0], [4, 2, 5, 1])
    model = Table({(1, 0): 4.0})
    result = evaluate_rating(model, hand_split(test))
    assert result.protocol == "rating" and result.which == "test"
    assert result.summary["RMSE"] == pytest.approx(np.sqrt((1 + 1 + 1 + 4) / 4))
    assert result.summary["MAE"] == pytest.approx((1 + 1 + 1 + 2) / 4)
    assert result.users.tolist() == [0, 1, 2]
    np.testing.assert_allclose(result.per_user["squared_error"], [1.0, 1.0, 4.0])
    np.testing.assert_allclose(result.per_user["absolute_error"], [1.0, 1.0, 2.0])
    assert result.info["n_ratings"] == 4


def test_fcp_by_hand():
    # user 0: ratings 5 > 3 > 1 predicted 4, 2, 3: pairs (5,3) c, (5,1) c, (3,1) d -> nc 2, nd 1
    # user 1: ratings 4 > 2 predicted 3, 3: a tie is discordant -> nd 1
    # user 2: one rating, no pair. Surprise: mean nc over users with nc > 0 = 2,
    # mean nd over users with nd > 0 = 1 -> FCP = 2 / 3
    users = np.array([0, 0, 0, 1, 1, 2])
    ratings = np.array([5, 3, 1, 4, 2, 3], np.float32)
    predictions = np.array([4, 2, 3, 3, 3, 1], np.float32)
    assert fcp(users, ratings, predictions) == pytest.approx(2 / 3)
    assert np.isnan(fcp(np.array([0]), np.array([3.0]), np.array([2.0])))


def surprise_fcp(users, ratings, predictions):
    """Surprise 1.1's accuracy.fcp, transcribed."""
    predictions_u = defaultdict(list)
    nc_u, nd_u = defaultdict(int), defaultdict(int)
    for u0, r0, est in zip(users, ratings, predictions):
        predictions_u[u0].append((r0, est))
    for u0, preds in predictions_u.items():
        for r0i, esti in preds:
            for r0j, estj in preds:
                if esti > estj and r0i > r0j:
                    nc_u[u0] += 1
                if esti >= estj and r0i < r0j:
                    nd_u[u0] += 1
    nc = np.mean(list(nc_u.values())) if nc_u else 0
    nd = np.mean(list(nd_u.values())) if nd_u else 0
    return nc / (nc + nd)


def test_fcp_equals_surprises_definition_on_random_predictions():
    rng = np.random.default_rng(0)
    users = rng.integers(0, 12, 300)
    ratings = rng.integers(1, 6, 300).astype(np.float32)
    predictions = np.round(rng.normal(3, 1, 300), 1).astype(np.float32)  # with ties
    assert fcp(users, ratings, predictions) == pytest.approx(surprise_fcp(users, ratings, predictions))


def test_predictions_are_clipped_to_the_training_rating_scale():
    test = part([0, 1], [2, 0], [5, 1])
    # train ratings span 1..5: 7.5 -> 5 (error 0), -2 -> 1 (error 0)
    result = evaluate_rating(Table({(0, 2): 7.5, (1, 0): -2.0}), hand_split(test))
    assert result.summary["RMSE"] == 0.0 and result.summary["MAE"] == 0.0
    assert result.info["rating_scale"] == [1.0, 5.0]
    narrow = part([0, 1], [0, 1], [2, 3])  # a 2..3 training scale clips 5 to 3
    result = evaluate_rating(Table({(0, 2): 5.0, (1, 0): 5.0}), hand_split(test, train=narrow))
    assert result.summary["MAE"] == pytest.approx(((5 - 3) + (3 - 1)) / 2)


def test_predictions_for_users_or_items_unseen_in_training_are_counted():
    # train: users 0, 1, 2 and items 0..3; user 3 and item 4 never appear
    test = part([0, 3, 1, 3, 2], [1, 0, 4, 4, 3], [4, 4, 4, 4, 4])
    result = evaluate_rating(Table(), hand_split(test))
    assert result.summary["fallback_predictions"] == 3
    assert result.info["fallback_predictions"] == 3
    # after a refit on more data the unseen ones are fewer
    wider = part([0, 3], [4, 0], [2, 3])
    assert evaluate_rating(Table(), hand_split(test), train=wider).summary["fallback_predictions"] == 3  # (0, 1), (1, 4), (2, 3)


class Ranker:
    tags = Tags()

    def predict(self, users, items):
        return np.zeros(len(users), np.float32)


class NoPredict:
    tags = Tags(task="rating")


@pytest.mark.parametrize("model, words", [(Ranker(), "tags.task='ranking'"), (NoPredict(), "no predict")])
def test_a_ranking_model_is_refused_in_one_line(model, words):
    with pytest.raises(EvaluationError, match="ranking model") as info:
        evaluate_rating(model, hand_split(part([0], [0], [3])))
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("bad, words", [(np.nan, "non-finite"), (np.inf, "non-finite")])
def test_non_finite_predictions_fail(bad, words):
    with pytest.raises(EvaluationError, match=words):
        evaluate_rating(Table({(0, 2): bad}), hand_split(part([0, 1], [2, 0], [5, 1])))


def test_wrong_dtype_and_shape_fail():
    with pytest.raises(EvaluationError, match="float32"):
        evaluate_rating(Table(dtype=np.float64), hand_split(part([0], [2], [5])))

    class Short(Table):
        def predict(self, users, items):
            return np.zeros(len(users) - 1, np.float32)

    with pytest.raises(EvaluationError, match="shape"):
        evaluate_rating(Short(), hand_split(part([0, 1], [2, 0], [5, 1])))


def test_results_do_not_depend_on_the_batch_size():
    split = make_split(tiny_interactions(), "kfold", seed=0)
    rng = np.random.default_rng(1)
    table = {(int(u), int(i)): float(rng.uniform(0, 6)) for u, i in zip(split.test.users, split.test.items)}
    small, large = Table(table), Table(table)
    a = evaluate_rating(small, split, config=RatingConfig(batch_size=7))
    b = evaluate_rating(large, split)
    assert a.summary == b.summary
    assert max(small.calls) == 7 and len(large.calls) == 1
    for key in a.per_user:
        np.testing.assert_array_equal(a.per_user[key], b.per_user[key])


def test_validator_reads_rmse_on_the_validation_rows_lower_is_better():
    split = make_split(tiny_interactions(), "kfold", seed=0)
    validator = RatingValidator(split)
    assert validator.metric == "RMSE" and validator.higher_is_better is False and validator.available
    value = validator(Table(default=4.0))
    expected = np.sqrt(np.mean((np.clip(4.0, 1, 5) - split.validation.ratings.astype(np.float64)) ** 2))
    assert value == pytest.approx(expected)
    assert validator.history == [value]
    assert RatingValidator(split, "mae").metric == "MAE"
    assert RatingValidator(split, "FCP").higher_is_better is True


def test_validator_is_unavailable_without_validation_and_refuses_ranking_metrics():
    split = make_split(tiny_interactions(), "kfold", seed=0, validation=0)
    assert not RatingValidator(split).available
    with pytest.raises(Exception, match="not a rating metric"):
        RatingValidator(split, "NDCG@10")


def test_validation_rows_are_never_test_rows():
    split = make_split(tiny_interactions(), "kfold", seed=3)
    seen = []

    class Spy(Table):
        def predict(self, users, items):
            seen.extend(zip(users.tolist(), items.tolist()))
            return super().predict(users, items)

    RatingValidator(split)(Spy())
    assert sorted(seen) == sorted(zip(split.validation.users.tolist(), split.validation.items.tolist()))


def test_rmse_mae_and_fcp_equal_surprises_accuracy_module():
    accuracy = pytest.importorskip("surprise.accuracy")  # the optional bench extra
    rng = np.random.default_rng(5)
    n = 400
    users, items = rng.integers(0, 30, n), rng.integers(0, 50, n)
    keep = np.unique(users * 50 + items, return_index=True)[1]  # distinct pairs
    users, items = users[keep], items[keep]
    ratings = rng.integers(1, 6, len(users)).astype(np.float32)
    test = part(users, items, ratings, n_users=30, n_items=50)
    train = part(np.arange(30), np.arange(30), np.where(np.arange(30) % 2, 5, 1), n_users=30, n_items=50)  # 1..5
    table = {(int(u), int(i)): float(np.clip(rng.normal(3, 1), 1, 5)) for u, i in zip(users, items)}
    result = evaluate_rating(Table(table), hand_split(test, train=train))
    predictions = [(int(u), int(i), float(r), float(np.float32(table[(int(u), int(i))])), {})
                   for u, i, r in zip(users, items, ratings)]
    assert result.summary["RMSE"] == pytest.approx(accuracy.rmse(predictions, verbose=False), rel=1e-6)
    assert result.summary["MAE"] == pytest.approx(accuracy.mae(predictions, verbose=False), rel=1e-6)
    assert result.summary["FCP"] == pytest.approx(accuracy.fcp(predictions, verbose=False))
