"""The torch metrics path (CUDA scores, ``force_torch``) equals the C++ kernel bit for bit (issue #20, item 7).

Both follow the README's "Metrics" definitions: a row's distinct targets, each hit at
most once; -1 slots and repeated ids never hit; rows without targets get 0.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from recplug import kernels
from recplug.errors import EvaluationError
from recplug.evaluation import EvalConfig, evaluate
from recplug.evaluation.ranking_torch import first_occurrences, metrics_torch, running_sums
from recplug.vocabulary import METRICS


def random_lists(seed: int, n_rows: int, width: int, n_items: int, max_targets: int):
    """Top lists with repeated ids and -1 padding, and targets with repeats, empty rows and more than K."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, n_items, size=(n_rows, width))
    repeat = rng.random((n_rows, width)) < 0.2                   # copy an earlier slot of the row
    source = (rng.random((n_rows, width)) * np.arange(width)).astype(np.int64)
    ids = np.where(repeat, np.take_along_axis(ids, source, 1), ids)
    padded_from = rng.integers(0, width + 1, size=n_rows)       # rows shortened by -1 padding
    padded_from[rng.random(n_rows) < 0.6] = width
    ids[np.arange(width)[None, :] >= padded_from[:, None]] = -1
    sizes = rng.integers(0, max_targets + 1, size=n_rows)
    sizes[::7] = 0                                               # rows without targets
    indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    items = rng.integers(0, n_items, size=int(indptr[-1])).astype(np.int32)  # repeats inside a row
    return ids.astype(np.int32), (indptr, items)


@pytest.mark.parametrize("seed,n_rows,width,n_items,max_targets,ks", [
    (0, 400, 20, 30, 40, (1, 3, 5, 10, 20)),     # small catalogue: many repeats, many targets > K
    (1, 300, 50, 500, 80, (5, 10, 20, 50)),      # target sets > 64 (the kernel's binary-search path)
    (2, 500, 10, 12, 6, (1, 2, 10)),
    (3, 200, 7, 1000, 3, (7, 4)),                # unsorted ks
])
def test_torch_metrics_equal_kernel_metrics(seed, n_rows, width, n_items, max_targets, ks):
    ids, targets = random_lists(seed, n_rows, width, n_items, max_targets)
    expected = kernels.ranking_metrics(ids, targets, ks)
    got = metrics_torch(torch.from_numpy(ids).long(), targets, n_items, ks)
    assert set(got) == set(METRICS)
    for name in METRICS:
        assert got[name].dtype == torch.float64 and got[name].shape == (len(ks), n_rows)
        np.testing.assert_array_equal(got[name].numpy(), expected[name], err_msg=name)
    assert float(got["recall"].max()) <= 1.0 and float(got["precision"].max()) <= 1.0


def test_hand_computed_metrics_with_a_repeated_id_padding_and_repeated_targets():
    ids = torch.tensor([[3, 3, 5, -1, 7],      # 3 listed twice, one empty slot
                        [1, 2, 3, 4, 5],       # no targets
                        [-1, -1, -1, -1, -1]])  # nothing listed
    indptr = np.array([0, 4, 4, 6], dtype=np.int64)
    items = np.array([7, 3, 9, 3, 2, 2], dtype=np.int32)  # row 0: T = {3, 7, 9}; row 2: T = {2}
    got = metrics_torch(ids, (indptr, items), 10, (2, 5))
    d = lambda rank: 1 / math.log2(rank + 1)  # noqa: E731
    row0 = {  # K = 2: one hit (rank 1); K = 5: hits at ranks 1 and 5
        "hr": (1.0, 1.0), "recall": (1 / 3, 2 / 3), "precision": (1 / 2, 2 / 5), "mrr": (1.0, 1.0),
        "ndcg": (d(1) / (d(1) + d(2)), (d(1) + d(5)) / (d(1) + d(2) + d(3))),
        "map": ((1 / 1) / 2, (1 / 1 + 2 / 5) / 3),
    }
    for name, values in row0.items():
        assert got[name][:, 0].tolist() == pytest.approx(values, rel=1e-12), name
        assert got[name][:, 1].tolist() == [0.0, 0.0] and got[name][:, 2].tolist() == [0.0, 0.0], name


def test_first_occurrences_marks_the_earliest_copy():
    ids = torch.tensor([[4, 2, 4, -1, 2, -1, 9]])
    assert first_occurrences(ids).tolist() == [[True, True, False, True, False, False, True]]


def test_running_sums_add_left_to_right():
    values = torch.tensor([[1e16, 1.0, -1e16, 1.0]], dtype=torch.float64)[:, :, None]
    # left to right: 1e16, 1e16 (+1 lost), 0, 1; a pairwise order would give 0 or 2 at the end
    assert running_sums(values)[0, :, 0].tolist() == [1e16, 1e16, 0.0, 1.0]


@pytest.mark.parametrize("ks,ids,message", [
    ((0,), [[1, 2]], "ks must be"), ((3,), [[1, 2]], "ks must be"), ((), [[1, 2]], "ks must be"),
    ((2,), [[1, -2]], "ids must be"), ((2,), [[1, 10]], "ids must be"),
])
def test_bad_inputs_are_rejected_with_the_argument_named(ks, ids, message):
    with pytest.raises(EvaluationError, match=message):
        metrics_torch(torch.tensor(ids), (np.array([0, 1]), np.array([1], dtype=np.int32)), 10, ks)


def test_target_ids_outside_the_catalogue_are_rejected():
    with pytest.raises(EvaluationError, match="target ids must be in"):
        metrics_torch(torch.tensor([[1, 2]]), (np.array([0, 1]), np.array([10], dtype=np.int32)), 10, (2,))


class TableModel:
    """Scores read from a fixed table (rows users, columns items)."""

    def __init__(self, table: np.ndarray):
        self.table = table

    def score(self, batch):
        return self.table[batch.users]


@pytest.mark.parametrize("ties", ["random", "pessimistic", "optimistic"])
def test_force_torch_evaluation_equals_kernel_evaluation_exactly(ties):
    from recplug.splits import make_split
    from recplug.testing.data import tiny_interactions

    split = make_split(tiny_interactions(), "loo")
    table = np.random.default_rng(4).integers(0, 3, size=(split.train.n_users, split.train.n_items))
    table = table.astype(np.float32)
    config = dict(ks=(1, 5, 10), ties=ties)
    kernel = evaluate(TableModel(table), split, "test", EvalConfig(**config))
    via_torch = evaluate(TableModel(table), split, "test", EvalConfig(**config, force_torch=True))
    for name in kernel.per_user:
        np.testing.assert_array_equal(kernel.per_user[name], via_torch.per_user[name], err_msg=name)
    assert kernel.summary == via_torch.summary
