"""Every loss against its formula written out by hand on small numbers (plain Python math)."""

import math

import pytest
import torch

from recplug.errors import ModelError
from recplug.training.losses import (bce_loss, bpr_loss, kl_normal, l2_batch, mse, multinomial_nll,
                                     sampled_softmax, softmax_ce)


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def log_softmax_row(row):
    m = max(row)
    lse = m + math.log(sum(math.exp(v - m) for v in row))
    return [v - lse for v in row]


def t(values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype)


def close(tensor, expected):
    assert tensor.dtype == torch.float32 and tensor.dim() == 0
    assert float(tensor) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_bpr_one_negative():
    pos, neg = [2.0, -1.0, 0.5], [1.0, 0.0, 3.0]
    close(bpr_loss(t(pos), t(neg)), -sum(math.log(sigmoid(p - n)) for p, n in zip(pos, neg)) / 3)


def test_bpr_several_negatives_mean_over_all_pairs():
    pos, neg = [1.0, -2.0], [[0.0, 2.0, -1.0], [1.0, -3.0, 0.5]]
    expected = -sum(math.log(sigmoid(pos[b] - neg[b][j])) for b in range(2) for j in range(3)) / 6
    close(bpr_loss(t(pos), t(neg)), expected)


def test_bpr_large_margins_stay_finite():
    assert math.isfinite(float(bpr_loss(t([-200.0]), t([200.0]))))


def test_bce_positives_and_all_negatives():
    pos, neg = [1.5, -0.5], [[0.2, -1.0, 2.0], [0.0, 0.3, -0.7]]
    flat = [v for row in neg for v in row]
    expected = (-sum(math.log(sigmoid(p)) for p in pos) / 2
                - sum(math.log(1 - sigmoid(n)) for n in flat) / len(flat))
    close(bce_loss(t(pos), t(neg)), expected)
    close(bce_loss(t(pos), t(flat)), expected)  # a flat [M] of negatives means the same


def test_bce_without_negatives_is_the_positive_term():
    close(bce_loss(t([0.7]), t([])), -math.log(sigmoid(0.7)))


def test_bce_matches_the_sasrec_formula():
    import torch.nn.functional as F

    pos, neg = torch.randn(7), torch.randn(5)
    expected = (F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos))
                + F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg)))
    assert torch.equal(bce_loss(pos, neg), expected)  # SASRec's numbers do not move


def test_bpr_matches_the_old_bpr_formula_exactly():
    import torch.nn.functional as F

    pos, neg = torch.randn(9), torch.randn(9)
    assert torch.equal(bpr_loss(pos, neg), -F.logsigmoid(pos - neg).mean())


def test_softmax_ce():
    logits, targets = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], [1, 0]
    expected = -sum(log_softmax_row(row)[k] for row, k in zip(logits, targets)) / 2
    close(softmax_ce(t(logits), t(targets, torch.int64)), expected)


def test_softmax_ce_accumulates_low_precision_logits_in_float32():
    logits = torch.tensor([[1.0, 2.0, 0.5]], dtype=torch.bfloat16)
    close(softmax_ce(logits, t([2], torch.int64)), -log_softmax_row([1.0, 2.0, 0.5])[2])


def test_sampled_softmax_with_and_without_logq():
    pos, neg = [2.0, 0.0], [[1.0, 0.5], [-1.0, 2.0]]
    lq_pos, lq_neg = [-1.0, -2.0], [[-0.5, -3.0], [-1.5, -0.2]]

    def expected(correct):
        total = 0.0
        for b in range(2):
            z = [pos[b] - (lq_pos[b] if correct else 0)] + [neg[b][j] - (lq_neg[b][j] if correct else 0)
                                                            for j in range(2)]
            total += -log_softmax_row(z)[0]
        return total / 2

    close(sampled_softmax(t(pos), t(neg)), expected(False))
    close(sampled_softmax(t(pos), t(neg), t(lq_pos), t(lq_neg)), expected(True))


def test_multinomial_nll():
    logits, rows = [[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]], [[1.0, 0.0, 1.0], [0.0, 2.0, 1.0]]
    expected = -sum(sum(r * l for r, l in zip(rows[b], log_softmax_row(logits[b]))) for b in range(2)) / 2
    close(multinomial_nll(t(logits), t(rows)), expected)


def test_kl_normal():
    mu, logvar = [[0.5, -1.0], [0.0, 2.0]], [[0.1, -0.3], [0.0, 1.0]]
    expected = sum(0.5 * sum(math.exp(lv) + m * m - 1 - lv for m, lv in zip(mu[b], logvar[b]))
                   for b in range(2)) / 2
    close(kl_normal(t(mu), t(logvar)), expected)
    close(kl_normal(torch.zeros(3, 4), torch.zeros(3, 4)), 0.0)


def test_mse():
    pred, target = [1.0, 2.0, 4.0], [1.5, 2.0, 3.0]
    close(mse(t(pred), t(target)), sum((p - q) ** 2 for p, q in zip(pred, target)) / 3)


def test_l2_batch_hand_computed_and_equal_to_bpr_penalty():
    pu, qi = [[1.0, 2.0], [0.0, -1.0]], [[3.0, 0.0], [1.0, 1.0]]
    close(l2_batch(t(pu), t(qi)), (1 + 4 + 0 + 1 + 9 + 0 + 1 + 1) / 2)
    g = torch.Generator().manual_seed(0)
    pu, qi, qj = (torch.randn(37, 8, generator=g) for _ in range(3))
    bpr_penalty = (pu.square().sum() + qi.square().sum() + qj.square().sum()) / len(pu)
    assert torch.equal(l2_batch(pu, qi, qj), bpr_penalty)


def test_gradients_flow():
    pos = torch.tensor([1.0, 2.0], requires_grad=True)
    bpr_loss(pos, torch.zeros(2, 3)).backward()
    assert pos.grad is not None and (pos.grad < 0).all()


@pytest.mark.parametrize("call", [
    lambda: bpr_loss(torch.zeros(3), torch.zeros(2)), lambda: bpr_loss(torch.zeros(3, 1), torch.zeros(3)),
    lambda: bce_loss(torch.zeros(0), torch.zeros(2)), lambda: softmax_ce(torch.zeros(3), torch.zeros(3)),
    lambda: sampled_softmax(torch.zeros(2), torch.zeros(2)), lambda: sampled_softmax(
        torch.zeros(2), torch.zeros(2, 3), torch.zeros(3)),
    lambda: multinomial_nll(torch.zeros(2, 3), torch.zeros(2, 4)), lambda: kl_normal(torch.zeros(2), torch.zeros(2)),
    lambda: mse(torch.zeros(2), torch.zeros(3)), lambda: l2_batch(),
])
def test_shape_errors_name_the_loss(call):
    with pytest.raises(ModelError, match=r"^\w+: "):
        call()


def test_values_do_not_depend_on_the_thread_count():
    # full reductions of >= 32768 elements are split per thread by torch; these are not
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(4096, 64, generator=g), torch.randn(4096, 64, generator=g)
    pos, neg = torch.randn(4096, generator=g), torch.randn(4096, 64, generator=g)
    logits, targets = torch.randn(512, 100, generator=g), torch.randint(0, 100, (512,), generator=g)
    calls = [lambda: mse(a, b), lambda: l2_batch(a, b), lambda: bpr_loss(pos, neg), lambda: bce_loss(pos, neg),
             lambda: multinomial_nll(logits, (logits > 1).float()), lambda: softmax_ce(logits, targets),
             lambda: sampled_softmax(pos, neg), lambda: kl_normal(a, b)]
    before = torch.get_num_threads()
    try:
        values = []
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            values.append([float(call()) for call in calls])
    finally:
        torch.set_num_threads(before)
    assert values[0] == values[1] == values[2]


def test_gradients_are_those_of_the_plain_mean():
    x = torch.randn(300, 200, requires_grad=True)
    y = torch.randn(300, 200)
    mse(x, y).backward()
    expected = 2 * (x.detach() - y) / x.numel()
    assert torch.allclose(x.grad, expected, rtol=1e-6, atol=1e-12)
