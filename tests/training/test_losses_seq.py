"""The sequence-model losses (BPR-max, TOP1-max, in-batch softmax) against their formulas written
out by hand in plain Python, and the shared-negatives sampler."""

import math

import numpy as np
import pytest
import torch

from recplug.errors import KernelInputError, ModelError
from recplug.training.losses import bpr_max_loss, in_batch_softmax, softmax_ce, top1_max_loss
from recplug.training.negatives import ItemSampler, popularity_weights


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def negative_softmax(row, target):
    """s_j over the columns other than the target (0 at the target)."""
    m = max(v for j, v in enumerate(row) if j != target)
    e = [0.0 if j == target else math.exp(v - m) for j, v in enumerate(row)]
    return [v / sum(e) for v in e]


def close(tensor, expected):
    assert tensor.dtype == torch.float32 and tensor.dim() == 0
    assert float(tensor) == pytest.approx(expected, rel=1e-5, abs=1e-6)


LOGITS = [[2.0, 0.5, -1.0, 0.3], [0.1, 1.5, 1.4, -0.2], [-0.5, 0.0, 0.7, 3.0]]
TARGETS = [0, 2, 3]


def test_bpr_max_by_hand():
    for bpreg in (0.0, 1.5):
        expected = 0.0
        for row, t in zip(LOGITS, TARGETS):
            s = negative_softmax(row, t)
            expected += -math.log(sum(s[j] * sigmoid(row[t] - row[j]) for j in range(4) if j != t))
            expected += bpreg * sum(s[j] * row[j] ** 2 for j in range(4) if j != t)
        close(bpr_max_loss(torch.tensor(LOGITS), torch.tensor(TARGETS), bpreg=bpreg), expected / 3)


def test_bpr_max_with_two_columns_is_bpr():
    """One negative: s = 1, so BPR-max is -log σ(r_t - r_j)."""
    close(bpr_max_loss(torch.tensor([[1.0, 3.0]]), torch.tensor([1])), -math.log(sigmoid(2.0)))


def test_bpr_max_stays_finite_where_the_weighted_sum_underflows():
    loss = bpr_max_loss(torch.tensor([[-200.0, 200.0, 150.0]], requires_grad=True), torch.tensor([0]))
    # s ≈ (1, e^-50) and σ(-400), σ(-350): both terms are ≈ e^-400, the loss 400 - log 2
    assert float(loss) == pytest.approx(400.0 - math.log(2.0), rel=1e-5)
    loss.backward()


def test_top1_max_by_hand():
    expected = 0.0
    for row, t in zip(LOGITS, TARGETS):
        s = negative_softmax(row, t)
        expected += sum(s[j] * (sigmoid(row[j] - row[t]) + sigmoid(row[j] ** 2)) for j in range(4) if j != t)
    close(top1_max_loss(torch.tensor(LOGITS), torch.tensor(TARGETS)), expected / 3)


def test_max_losses_have_finite_gradients_and_ignore_the_target_in_the_weights():
    logits = torch.tensor(LOGITS, requires_grad=True)
    (bpr_max_loss(logits, torch.tensor(TARGETS), bpreg=1.0) + top1_max_loss(logits, torch.tensor(TARGETS))).backward()
    assert torch.isfinite(logits.grad).all()
    # raising a non-target score of row 0 moves its loss; the loss of row 1 does not see row 0
    a = bpr_max_loss(torch.tensor([[2.0, 0.5, -1.0]]), torch.tensor([0]))
    b = bpr_max_loss(torch.tensor([[2.0, 0.5, 1.0]]), torch.tensor([0]))
    assert float(b) > float(a)


@pytest.mark.parametrize("fn", [bpr_max_loss, top1_max_loss])
def test_max_losses_reject_bad_shapes(fn):
    with pytest.raises(ModelError, match="M >= 2"):
        fn(torch.zeros(3, 1), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ModelError, match="targets"):
        fn(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long))


def test_in_batch_softmax_by_hand():
    q = [[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]]
    k = [[0.3, 0.2], [-1.0, 1.0], [0.5, 0.5]]
    log_q = [math.log(0.5), math.log(0.3), math.log(0.2)]
    for correction in (None, log_q):
        expected = 0.0
        for b in range(3):
            z = [sum(x * y for x, y in zip(q[b], k[j])) - (correction[j] if correction else 0.0) for j in range(3)]
            m = max(z)
            expected += m + math.log(sum(math.exp(v - m) for v in z)) - z[b]
        got = in_batch_softmax(torch.tensor(q), torch.tensor(k), None if correction is None else torch.tensor(correction))
        close(got, expected / 3)


def test_in_batch_softmax_is_softmax_ce_on_the_diagonal():
    q, k = torch.randn(5, 3, generator=torch.Generator().manual_seed(0)), torch.randn(5, 3)
    close(in_batch_softmax(q, k), float(softmax_ce(q @ k.T, torch.arange(5))))
    with pytest.raises(ModelError, match="in_batch_softmax"):
        in_batch_softmax(q, k[:4])


# ---- shared negatives ---------------------------------------------------------------
def test_popularity_weights():
    np.testing.assert_allclose(popularity_weights([0, 1, 4, 9], 0.5), [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(popularity_weights([0, 2, 3], 0.0), [0.0, 1.0, 1.0])   # unseen never drawn


def test_item_sampler_draws_by_weight_and_is_seeded():
    sampler = ItemSampler(4, popularity_weights([0, 1, 3, 6], 1.0))
    draws = sampler.sample(4000, 25, seed=3)
    assert draws.shape == (4000, 25) and draws.dtype == np.int64
    np.testing.assert_allclose(np.bincount(draws.ravel(), minlength=4) / draws.size, [0, 0.1, 0.3, 0.6], atol=0.01)
    np.testing.assert_allclose(sampler.probabilities(), [0, 0.1, 0.3, 0.6])
    np.testing.assert_array_equal(draws, sampler.sample(4000, 25, seed=3))
    np.testing.assert_array_equal(draws[:10], sampler.sample(10, 25, seed=3))        # row r depends on seed and r
    assert not np.array_equal(draws, sampler.sample(4000, 25, seed=4))
    uniform = ItemSampler(5).sample(2000, 10, seed=0)
    assert set(np.unique(uniform)) == set(range(5))
    assert sampler.sample(0, 5, seed=0).shape == (0, 5)


def test_item_sampler_rejects_bad_weights():
    with pytest.raises(KernelInputError, match="ItemSampler: weights must be 3"):
        ItemSampler(3, [1.0, -1.0, 2.0])
    with pytest.raises(KernelInputError, match="ItemSampler: weights"):
        ItemSampler(3, [0.0, 0.0, 0.0])
