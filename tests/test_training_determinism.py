"""recplug.training.determinism: the same maths as torch's modules, the same bits at 1, 2 and 3 threads."""

from __future__ import annotations

import contextlib

import pytest
import torch
from torch import nn

from recplug.errors import ConfigError
from recplug.training import determinism as D

THREADS = (1, 2, 3)


@contextlib.contextmanager
def num_threads(n: int):
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def per_thread_count(run):
    """``run()`` (a list of tensors) at each of THREADS."""
    results = []
    for n in THREADS:
        with num_threads(n):
            results.append([t.detach().clone() for t in run()])
    return results


def assert_thread_independent(run):
    first, *others = per_thread_count(run)
    for n, other in zip(THREADS[1:], others):
        for i, (a, b) in enumerate(zip(first, other)):
            assert torch.equal(a, b), f"output {i} differs between 1 and {n} threads " \
                                      f"(max |diff| {float((a - b).abs().max()):.3g})"


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def grads_of(module, *inputs, grad_out, **kwargs):
    """Output and gradients (inputs, then parameters) of one forward + backward."""
    params = list(module.parameters()) if isinstance(module, nn.Module) else []
    for p in params:
        p.grad = None
    inputs = [x.clone().requires_grad_(True) for x in inputs]
    out = module(*inputs, **kwargs)
    out = out[0] if isinstance(out, tuple) else out
    out.backward(grad_out)
    return [out] + [x.grad for x in inputs] + [p.grad for p in params]


# ---- sums -------------------------------------------------------------------------------

def test_fixed_order_sum_equals_sum_and_is_thread_independent():
    x = rand(300_001)  # well above torch's GRAIN_SIZE: torch's own sum splits it per thread
    assert torch.allclose(D.fixed_order_sum(x), x.double().sum().float(), rtol=1e-5)
    assert D.fixed_order_mean(x).item() == pytest.approx(x.double().mean().item(), rel=1e-4, abs=1e-7)
    assert_thread_independent(lambda: [D.fixed_order_sum(x), D.fixed_order_mean(x)])


@pytest.mark.parametrize("shape,dim,keepdim", [
    ((40_000, 3), 0, False), ((40_000, 3), (0, 1), True), ((1, 70_000), 1, True), ((5, 70_000), -1, False),
    ((2, 3, 4), None, True), ((7,), 0, False)])
def test_fixed_order_sum_shapes_match_torch(shape, dim, keepdim):
    x = rand(*shape)
    expected = x.sum() if dim is None else x.sum(dim, keepdim=keepdim)
    if dim is None and keepdim:
        expected = expected.reshape([1] * x.dim())
    got = D.fixed_order_sum(x, dim, keepdim)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-3)
    assert_thread_independent(lambda: [D.fixed_order_sum(x, dim, keepdim), D.fixed_order_mean(x, dim, keepdim)])


def test_fixed_order_sum_gradient_is_ones():
    x = rand(50_000).requires_grad_(True)
    D.fixed_order_sum(x).backward()
    assert torch.equal(x.grad, torch.ones_like(x))


@pytest.mark.parametrize("columns", [1, 7, 16, 33, 50, 64, 100, 130])
def test_column_sums_are_thread_independent(columns):
    # what LayerNorm's weight/bias gradients rely on: torch never splits one output between threads
    x = rand(20_000, columns, seed=columns)
    assert_thread_independent(lambda: [D.fixed_order_sum(x, 0), D.fixed_order_sum(x[:, None, :], (0, 1))])


# ---- softmax and attention ----------------------------------------------------------

def test_softmax_matches_torch_and_its_backward_is_thread_independent():
    x, g = rand(2_000, 50), rand(2_000, 50, seed=1)
    native = grads_of(lambda t: torch.softmax(t, -1), x, grad_out=g)
    ours = grads_of(lambda t: D.softmax(t, -1), x, grad_out=g)
    assert torch.equal(native[0], ours[0])
    assert torch.allclose(native[1], ours[1], rtol=1e-5, atol=1e-7)
    assert_thread_independent(lambda: grads_of(lambda t: D.softmax(t, -1), x, grad_out=g))


def test_softmax_of_a_fully_masked_row_is_zero_with_zero_gradient():
    x = rand(3, 4)
    x[1] = float("-inf")
    x.requires_grad_(True)
    y = D.softmax(x, -1)
    y.backward(torch.ones_like(y))
    assert torch.equal(y[1].detach(), torch.zeros(4))
    assert torch.equal(x.grad[1], torch.zeros(4))
    assert torch.allclose(y[0].sum(), torch.tensor(1.0))


def test_scaled_dot_product_attention_matches_torch():
    q, k, v = rand(4, 2, 9, 8, seed=1), rand(4, 2, 11, 8, seed=2), rand(4, 2, 11, 5, seed=3)
    blocked = rand(9, 11, seed=4) > 0.5
    blocked[:, 0] = False  # every query may see at least one key
    for kwargs, torch_kwargs in [({"attn_mask": blocked}, {"attn_mask": ~blocked}), ({}, {}),
                                 ({"is_causal": True}, {"is_causal": True}), ({"scale": 0.3}, {"scale": 0.3})]:
        if kwargs.get("is_causal"):
            q_, k_, v_ = q, k[..., :9, :], v[..., :9, :]
        else:
            q_, k_, v_ = q, k, v
        ours, weights = D.scaled_dot_product_attention(q_, k_, v_, **kwargs)
        expected = torch.nn.functional.scaled_dot_product_attention(q_, k_, v_, **torch_kwargs)
        assert torch.allclose(ours, expected, rtol=1e-5, atol=1e-6), kwargs
        assert torch.allclose(weights.sum(-1), torch.ones(weights.shape[:-1]), atol=1e-6)


def _mha_pair(**kwargs):
    torch.manual_seed(0)
    native = nn.MultiheadAttention(16, 2, **kwargs)
    ours = D.MultiheadAttention(16, 2, **kwargs)
    ours.load_state_dict(native.state_dict())
    return native, ours


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("kdim", [None, 12])
def test_multihead_attention_matches_torch(batch_first, kdim):
    native, ours = _mha_pair(batch_first=batch_first, kdim=kdim, vdim=kdim)
    assert list(native.state_dict()) == list(ours.state_dict())
    x = rand(3, 7, 16, seed=1) if batch_first else rand(7, 3, 16, seed=1)
    kv = x if kdim is None else (rand(3, 7, kdim, seed=2) if batch_first else rand(7, 3, kdim, seed=2))
    g = rand(*x.shape, seed=3)
    causal = torch.ones(7, 7, dtype=torch.bool).triu(1)
    padding = torch.zeros(3, 7, dtype=torch.bool)
    padding[1, -2:] = True
    for kwargs in [{"attn_mask": causal, "need_weights": False}, {"key_padding_mask": padding},
                   {"attn_mask": causal, "key_padding_mask": padding, "average_attn_weights": False}]:
        expected = grads_of(native, x, kv, kv, grad_out=g, **kwargs)
        got = grads_of(ours, x, kv, kv, grad_out=g, **kwargs)
        for i, (a, b) in enumerate(zip(expected, got)):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-6), (kwargs, i)
        with torch.no_grad():
            w_native, w_ours = native(x, kv, kv, **kwargs)[1], ours(x, kv, kv, **kwargs)[1]
        assert (w_native is None) == (w_ours is None)
        if w_native is not None:
            assert torch.allclose(w_native, w_ours, atol=1e-6)


def test_multihead_attention_unbatched_input():
    native, ours = _mha_pair(batch_first=True)
    x, g = rand(5, 16, seed=1), rand(5, 16, seed=2)
    expected, got = grads_of(native, x, x, x, grad_out=g), grads_of(ours, x, x, x, grad_out=g)
    for a, b in zip(expected, got):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_multihead_attention_training_with_dropout_is_thread_independent():
    torch.manual_seed(0)
    attention = D.MultiheadAttention(32, 2, dropout=0.2, batch_first=True).train()
    x, g = rand(64, 30, 32, seed=1), rand(64, 30, 32, seed=2)
    causal = torch.ones(30, 30, dtype=torch.bool).triu(1)

    def run():
        torch.manual_seed(5)  # the same dropout masks
        return grads_of(attention, x * 0.5, x, x, grad_out=g, attn_mask=causal, is_causal=True,
                        need_weights=False)
    assert_thread_independent(run)


def test_multihead_attention_rejects_what_it_does_not_implement():
    with pytest.raises(ConfigError, match="add_bias_kv"):
        D.MultiheadAttention(8, 2, add_bias_kv=True)


# ---- layer norm -------------------------------------------------------------------------

def _layer_norm_pair(shape=50, **kwargs):
    torch.manual_seed(0)
    native = nn.LayerNorm(shape, eps=1e-8, **kwargs)
    if native.weight is not None:
        with torch.no_grad():
            native.weight.normal_()
            if native.bias is not None:
                native.bias.normal_()
    ours = D.LayerNorm(shape, eps=1e-8, **kwargs)
    ours.load_state_dict(native.state_dict())
    return native, ours


@pytest.mark.parametrize("kwargs", [{}, {"bias": False}, {"elementwise_affine": False}])
def test_layer_norm_matches_torch(kwargs):
    native, ours = _layer_norm_pair(**kwargs)
    x, g = rand(6, 20, 50, seed=1), rand(6, 20, 50, seed=2)
    expected, got = grads_of(native, x, grad_out=g), grads_of(ours, x, grad_out=g)
    assert len(expected) == len(got)
    assert torch.equal(expected[0], got[0]) and torch.equal(expected[1], got[1])  # torch's own kernel
    for a, b in zip(expected[2:], got[2:]):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)


def test_layer_norm_over_two_dimensions_matches_torch():
    native, ours = _layer_norm_pair(shape=(4, 5))
    x, g = rand(3, 4, 5, seed=1), rand(3, 4, 5, seed=2)
    for a, b in zip(grads_of(native, x, grad_out=g), grads_of(ours, x, grad_out=g)):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def test_layer_norm_backward_is_thread_independent():
    _, ours = _layer_norm_pair()
    x, g = rand(128, 50, 50, seed=1), rand(128, 50, 50, seed=2)  # SASRec's shape: 6,400 rows
    assert_thread_independent(lambda: grads_of(ours, x, grad_out=g))


def test_modules_without_gradients_are_torch_modules():
    native, ours = _layer_norm_pair()
    x = rand(4, 50)
    with torch.no_grad():
        assert torch.equal(native(x), ours(x))
    native_mha, ours_mha = _mha_pair(batch_first=True)
    y = rand(2, 6, 16)
    native_mha.eval(), ours_mha.eval()
    with torch.no_grad():
        assert torch.equal(native_mha(y, y, y)[0], ours_mha(y, y, y)[0])
