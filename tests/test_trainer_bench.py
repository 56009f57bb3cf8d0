"""The training benchmark runs end to end on small data (timings are not asserted)."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.bench.common import BenchRow
from recplug.bench.straight import numpy_negatives
from recplug.bench.train import ml1m_shaped, run
from recplug.errors import ConfigError


def test_ml1m_shaped_data_has_distinct_pairs_and_min_counts():
    data = ml1m_shaped(n_users=50, n_items=200, interactions=3000, seed=1)
    per_user = np.diff(data.seq_indptr)
    assert data.n_users == 50 and data.n_items == 200
    assert per_user.min() >= 20 and per_user.max() <= 100
    assert data.csr.nnz == len(data)  # no duplicated pairs
    assert 2400 < len(data) <= 3000  # the cap at n_items // 2 per user trims the tail
    again = ml1m_shaped(n_users=50, n_items=200, interactions=3000, seed=1)
    np.testing.assert_array_equal(data.seq_items, again.seq_items)


def test_numpy_negatives_avoid_positives():
    rng = np.random.default_rng(0)
    dense = rng.random((20, 30)) < 0.5
    users = np.repeat(np.arange(20), 50)
    negatives = numpy_negatives(dense, users, rng)
    assert not dense[users, negatives].any()


@pytest.mark.parametrize("model", ["bpr", "sasrec", "item2vec"])
def test_run_returns_one_row(model):
    data = ml1m_shaped(n_users=40, n_items=120, interactions=1200, seed=2)
    rows = run(model, repeats=1, data=data, params={"max_len": 20} if model == "sasrec" else None)
    assert len(rows) == 1 and isinstance(rows[0], BenchRow)
    row = rows[0]
    assert row.kernel == f"{model} epoch" and row.ours_s > 0 and row.alternative_s > 0
    assert row.target == {"bpr": 2.0, "sasrec": 1.0, "item2vec": 2.0}[model]


@pytest.mark.parametrize("window", [2, None])
def test_item2vec_alternative_trains_on_ours_pairs(window):
    """The straightforward Item2Vec loops give the pairs of training.sequences.skipgram_pairs."""
    from recplug.bench.straight.item2vec import popularity_negatives, python_pairs
    from recplug.training.sequences import skipgram_pairs

    data = ml1m_shaped(n_users=30, n_items=100, interactions=700, seed=4)
    users, centers, contexts = python_pairs(data, window, np.ones(data.n_items), np.random.default_rng(0))
    expected = skipgram_pairs(data.seq_indptr, data.seq_items, window)
    np.testing.assert_array_equal(centers, expected[0])
    np.testing.assert_array_equal(contexts, expected[1])
    dense = data.csr.toarray() > 0
    q = data.item_user_counts() / data.item_user_counts().sum()
    negatives = popularity_negatives(dense, np.array(users), 3, q, np.random.default_rng(0))
    assert negatives.shape == (len(users), 3) and not dense[np.array(users)[:, None], negatives].any()


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(ConfigError, match=r"\(bert4rec, bpr, .*lightgcn.*sasrec\), got 'nosuchmodel'"):
        run("nosuchmodel", data=ml1m_shaped(n_users=30, n_items=100, interactions=700))
