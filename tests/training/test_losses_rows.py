"""The whole-row losses of the autoencoders against their formulas written out by hand."""

import math

import pytest
import torch

from recplug.errors import ModelError
from recplug.training.losses import row_bce, row_mse


def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


LOGITS = [[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]]
ROWS = [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]


def close(tensor, expected):
    assert tensor.dtype == torch.float32 and tensor.dim() == 0
    assert float(tensor) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_row_bce_sums_items_and_means_rows():
    expected = -sum(r * math.log(sigmoid(l)) + (1 - r) * math.log(1 - sigmoid(l))
                    for lrow, rrow in zip(LOGITS, ROWS) for l, r in zip(lrow, rrow)) / 2
    close(row_bce(torch.tensor(LOGITS), torch.tensor(ROWS)), expected)


def test_row_mse_weights_the_unobserved_entries():
    for weight in (1.0, 0.25, 0.0):
        expected = sum((1.0 if r else weight) * (p - r) ** 2
                       for prow, rrow in zip(LOGITS, ROWS) for p, r in zip(prow, rrow)) / 2
        close(row_mse(torch.tensor(LOGITS), torch.tensor(ROWS), weight), expected)


def test_row_losses_check_shapes_and_weight():
    with pytest.raises(ModelError, match=r"row_bce: logits and rows must both be \[B, N\]"):
        row_bce(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ModelError, match="row_mse: pred and rows"):
        row_mse(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ModelError, match="unobserved_weight must be >= 0, got -1"):
        row_mse(torch.zeros(1, 2), torch.zeros(1, 2), -1.0)
