"""NCF's pointwise pieces: examples with n sampled negatives per positive, and the pointwise log loss."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recplug.errors import ConfigError, KernelInputError, ModelError
from recplug.training.losses import pointwise_bce
from recplug.training.negatives import NegativeSampler, pointwise_examples


def random_csr(seed=0, n_users=30, n_items=25, density=0.2):
    m = sp.random(n_users, n_items, density=density, format="csr", random_state=seed, dtype=np.float32)
    m.data[:] = 1.0
    m.indices = m.indices.astype(np.int32)
    return m


def test_examples_are_the_positives_then_n_true_negatives_each():
    csr = random_csr()
    sampler = NegativeSampler(csr)
    users, items = sampler.positive_pairs()
    u, i, y = pointwise_examples(sampler, users, items, 4, seed=3)
    P = len(users)
    assert u.dtype == i.dtype == np.int64 and y.dtype == np.float32 and len(u) == len(i) == len(y) == 5 * P
    np.testing.assert_array_equal(u[:P], users)
    np.testing.assert_array_equal(i[:P], items)
    assert (y[:P] == 1).all() and (y[P:] == 0).all()
    np.testing.assert_array_equal(u[P:], np.repeat(users, 4))
    np.testing.assert_array_equal(i[P:], sampler.sample(users, 4, seed=3).reshape(-1))
    dense = csr.toarray() > 0
    assert not dense[u[P:], i[P:]].any()
    again = pointwise_examples(sampler, users, items, 4, seed=3)[1]
    other = pointwise_examples(sampler, users, items, 4, seed=4)[1]
    np.testing.assert_array_equal(i, again)
    assert not np.array_equal(i, other)


def test_zero_negatives_and_bad_arguments():
    sampler = NegativeSampler(random_csr())
    users, items = sampler.positive_pairs()
    u, i, y = pointwise_examples(sampler, users, items, 0, seed=0)
    assert len(u) == len(users) and (y == 1).all()
    with pytest.raises(ConfigError, match="n_negatives=-1 is not allowed"):
        pointwise_examples(sampler, users, items, -1, seed=0)
    with pytest.raises(KernelInputError, match="aligned"):
        pointwise_examples(sampler, users, items[:-1], 2, seed=0)


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_pointwise_bce_is_the_mean_log_loss_over_every_example():
    logits, labels = [2.0, -1.0, 0.5, 3.0, -0.2], [1.0, 0.0, 0.0, 1.0, 0.0]
    expected = -sum(math.log(sigmoid(x)) if y else math.log(1 - sigmoid(x)) for x, y in zip(logits, labels)) / 5
    loss = pointwise_bce(torch.tensor(logits), torch.tensor(labels))
    assert loss.dtype == torch.float32 and float(loss) == pytest.approx(expected, rel=1e-6)
    assert math.isfinite(float(pointwise_bce(torch.tensor([500.0, -500.0]), torch.tensor([0.0, 1.0]))))
    with pytest.raises(ModelError, match="pointwise_bce"):
        pointwise_bce(torch.tensor([1.0, 2.0]), torch.tensor([1.0]))
