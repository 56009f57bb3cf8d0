"""The per-fit negative sampler: exclusion, popularity weights, determinism, equality with the kernel."""

import numpy as np
import pytest
import scipy.sparse as sp

from recplug import kernels
from recplug.errors import ConfigError, KernelInputError
from recplug.training.negatives import NegativeSampler


def csr_of(rows, n_items):
    users = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    items = np.concatenate([np.asarray(r, dtype=np.int64) for r in rows]) if rows else np.zeros(0, int)
    m = sp.csr_matrix((np.ones(len(items), np.float32), (users, items)), shape=(len(rows), n_items))
    m.indices = m.indices.astype(np.int32)
    return m


def random_csr(seed=0, n_users=40, n_items=30, density=0.2):
    m = sp.random(n_users, n_items, density=density, format="csr", random_state=seed, dtype=np.float32)
    m.data[:] = 1.0
    m.indices = m.indices.astype(np.int32)
    return m


def test_uniform_draws_equal_the_kernel_call_bpr_makes_today():
    csr = random_csr()
    sampler = NegativeSampler(csr, threads=2)
    users, items = sampler.positive_pairs()
    for seed in (0, 7, 2**40):
        expected = kernels.sample_negatives(users.astype(np.int32), csr.indptr, csr.indices, csr.shape[1], 3,
                                            seed=seed, threads=2)
        got = sampler.sample(users, 3, seed=seed)
        assert got.dtype == np.int64 and got.shape == (len(users), 3)
        np.testing.assert_array_equal(got, expected)


def test_never_a_positive_and_same_draws_for_any_thread_count():
    csr = random_csr(1)
    users = np.repeat(np.arange(csr.shape[0]), 5)
    draws = [NegativeSampler(csr, threads=t).sample(users, 4, seed=3) for t in (1, 2, 4)]
    np.testing.assert_array_equal(draws[0], draws[1])
    np.testing.assert_array_equal(draws[0], draws[2])
    dense = csr.toarray() > 0
    assert not dense[users[:, None], draws[0]].any()
    np.testing.assert_array_equal(NegativeSampler(csr).sample(users, 4, seed=3, threads=1), draws[0])
    assert not np.array_equal(draws[0], NegativeSampler(csr).sample(users, 4, seed=4))


def test_without_replacement_rows_are_distinct():
    csr = random_csr(2)
    got = NegativeSampler(csr).sample(np.arange(csr.shape[0]), 10, seed=0, replace=False)
    assert all(len(set(row)) == 10 for row in got.tolist())


def test_users_who_consumed_everything_have_no_negatives_and_no_pairs():
    csr = csr_of([[0, 1, 2], [1], [], [0, 2]], n_items=3)
    sampler = NegativeSampler(csr)
    np.testing.assert_array_equal(sampler.users_with_negatives(), [False, True, True, True])
    users, items = sampler.positive_pairs()
    assert users.dtype == items.dtype == np.int64
    assert list(zip(users.tolist(), items.tolist())) == [(1, 1), (3, 0), (3, 2)]
    with pytest.raises(KernelInputError, match="no negative"):
        sampler.sample([0], 1, seed=0)


def test_duplicates_count_once():
    csr = sp.csr_matrix((np.ones(3, np.float32), (np.array([0, 0, 0]), np.array([1, 1, 0]))), shape=(1, 3))
    assert not csr.has_canonical_format or csr.nnz == 2
    users, items = NegativeSampler(csr).positive_pairs()
    assert items.tolist() == [0, 1]
    assert set(NegativeSampler(csr).sample([0] * 50, 1, seed=0).ravel()) == {2}


def test_popularity_follows_count_power_alpha_and_never_draws_unseen_items():
    # item 0: 1 user, item 1: 3 users, item 2: unseen; user 3 has no positives
    csr = csr_of([[1], [1], [0, 1], []], n_items=3)
    for alpha, ratio in ((1.0, 3.0), (0.5, 3 ** 0.5), (0.0, 1.0)):
        sampler = NegativeSampler(csr, distribution="popularity", alpha=alpha)
        np.testing.assert_allclose(sampler.probabilities(), [1 / (1 + ratio), ratio / (1 + ratio), 0.0])
        draws = sampler.sample(np.full(20000, 3), 1, seed=5).ravel()
        assert 2 not in draws
        assert (draws == 1).sum() / (draws == 0).sum() == pytest.approx(ratio, rel=0.1)
    # users 0 and 1 can only draw item 0; user 2 covers every drawable item
    sampler = NegativeSampler(csr, distribution="popularity")
    np.testing.assert_array_equal(sampler.users_with_negatives(), [True, True, False, True])
    assert set(sampler.sample([0, 1] * 20, 1, seed=1).ravel()) == {0}


def test_uniform_probabilities():
    np.testing.assert_allclose(NegativeSampler(random_csr()).probabilities(), np.full(30, 1 / 30))


@pytest.mark.parametrize("kwargs, match", [
    ({"distribution": "zipf"}, r"distribution='zipf' is not allowed; distribution must be one of 'uniform'"),
    ({"alpha": -1}, r"alpha=-1 is not allowed"), ({"alpha": float("nan")}, "NaN"), ({"alpha": True}, "alpha=True"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        NegativeSampler(random_csr(), **kwargs)


@pytest.mark.parametrize("users", [[-1], [40], [2**32], [0.5]])
def test_users_out_of_range_are_rejected_not_wrapped(users):
    with pytest.raises(KernelInputError, match="users"):
        NegativeSampler(random_csr()).sample(np.asarray(users), 1, seed=0)


def test_works_on_the_train_data_csr():
    from recplug.contract import TrainData
    from recplug.data.synthetic import generate

    train = TrainData(generate(60, 40, 800, seed=0))
    sampler = NegativeSampler(train.csr)
    users, items = sampler.positive_pairs()
    assert len(users) == train.csr.nnz
    neg = sampler.sample(users, 2, seed=0)
    assert not (train.csr.toarray()[users[:, None], neg] > 0).any()
