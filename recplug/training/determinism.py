"""Torch pieces whose CPU results do not depend on the thread count.

On the CPU, torch 2.x sums in an order that depends on ``torch.get_num_threads()`` in a
few kernels; any model built from them trains to different weights with 1 and with 2
threads. Running every aten op of a SASRec and a BPR fit twice, at 1 and at N threads
on the same inputs, flagged exactly these:

- ``native_layer_norm_backward``: the weight and bias gradients are summed over the rows
  in one partial buffer per thread (differences ~1e-9 per step, ~1e-4 in the weights
  after two epochs);
- ``_softmax_backward_data`` (every softmax; ``nn.MultiheadAttention`` takes it in
  training whenever attention dropout is on, through the math attention path);
- full reductions (``sum``/``mean`` to one number) of at least 32768 elements, torch's
  ``GRAIN_SIZE``: one partial sum per thread. Gradients do not depend on such a sum, but
  the reported loss does.

Linear layers, ``bmm``, embedding backward, dropout, Adam, cross-entropy, softmax forward
and sums along a dimension were thread-independent at 1, 2 and 3 threads. Matrix products
go to MKL, whose ``sgemm`` splits some shapes differently from 4 or 8 threads on (a
``[6400, 50] x [50, 100]`` product from 4, a ``[50, 6400] x [6400, 50]`` weight gradient
from 8); nothing here changes that.

The replacements compute the same maths with reductions that each output element owns
from start to end: torch splits a reduction along a dimension between threads only by
output elements, never inside one.

- :class:`LayerNorm` and :class:`MultiheadAttention`: drop-in subclasses of the
  ``torch.nn`` modules (same arguments, parameters and state dict);
- :func:`softmax` and :func:`scaled_dot_product_attention`: functional forms;
- :func:`fixed_order_sum` and :func:`fixed_order_mean`: ``sum``/``mean`` for losses.

On CUDA, and without gradients, the modules call the native torch code unchanged.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from recplug.errors import ConfigError, ModelError

#: elements per partial sum of :func:`fixed_order_sum`; below torch's GRAIN_SIZE (32768),
#: so the last sum of at most this many runs on one thread.
#: the thread counts up to which CPU training with these pieces was checked to give the same
#: numbers as one thread (every op above, and MKL's products); beyond it the runner makes
#: the thread count part of a run's identity
THREAD_INDEPENDENT_UP_TO = 3

BLOCK = 4096


# ---- sums -----------------------------------------------------------------------------

def _full_sum(x: torch.Tensor) -> torch.Tensor:
    flat = x.reshape(-1)
    while flat.numel() > BLOCK:
        pad = -flat.numel() % BLOCK
        if pad:
            flat = torch.cat([flat, flat.new_zeros(pad)])
        flat = flat.view(-1, BLOCK).sum(1)     # one row per output: each summed by one thread
    return flat.sum()


def fixed_order_sum(x: torch.Tensor, dim: int | Sequence[int] | None = None,
                    keepdim: bool = False) -> torch.Tensor:
    """``x.sum(dim, keepdim)`` added in an order that does not depend on the thread count.

    A sum to one number runs over blocks of :data:`BLOCK` elements, then over the block
    sums; a sum with several outputs is torch's own (each output is summed by one thread).
    """
    if dim is None:
        total = _full_sum(x)
        return total.reshape([1] * x.dim()) if keepdim else total
    dims = [d % x.dim() for d in ([dim] if isinstance(dim, int) else dim)]
    outputs = math.prod(size for d, size in enumerate(x.shape) if d not in dims)
    if outputs > 1:
        return x.sum(dims, keepdim=keepdim)
    total = _full_sum(x)
    shape = [1 if d in dims else size for d, size in enumerate(x.shape)] if keepdim else \
        [size for d, size in enumerate(x.shape) if d not in dims]
    return total.reshape(shape)


def fixed_order_mean(x: torch.Tensor, dim: int | Sequence[int] | None = None,
                     keepdim: bool = False) -> torch.Tensor:
    """``x.mean(dim, keepdim)`` through :func:`fixed_order_sum`."""
    if dim is None:
        count = x.numel()
    else:
        count = math.prod(x.shape[d] for d in ([dim] if isinstance(dim, int) else dim))
    return fixed_order_sum(x, dim, keepdim) / count


# ---- softmax and attention ------------------------------------------------------------

class _Softmax(torch.autograd.Function):
    """Softmax with the native forward; backward ``y * (g - sum(g * y))`` summed per row.

    Rows whose inputs are all -inf give 0 (not NaN), as torch's attention does.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, dim: int) -> torch.Tensor:  # type: ignore[override]
        y = torch.softmax(x, dim)
        y = y.masked_fill(torch.isneginf(x).all(dim, keepdim=True), 0.0)
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (y,) = ctx.saved_tensors
        return y * (grad - fixed_order_sum(grad * y, ctx.dim, keepdim=True)), None


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``torch.softmax(x, dim)`` whose CPU backward does not depend on the thread count.

    Rows of all -inf give zeros. On CUDA or without gradients: ``torch.softmax``.
    """
    if x.device.type != "cpu" or not (torch.is_grad_enabled() and x.requires_grad):
        y = torch.softmax(x, dim)
        return y.masked_fill(torch.isneginf(x).all(dim, keepdim=True), 0.0)
    return _Softmax.apply(x, dim)


def _additive_mask(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """A boolean mask (True = may not attend) as 0/-inf in ``dtype``; a float mask as is."""
    if mask is None or mask.dtype != torch.bool:
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 attn_mask: torch.Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention ``dropout(softmax(q kᵀ · scale + mask)) v`` with :func:`softmax`.

    ``query [..., Lq, d]``, ``key [..., Lk, d]``, ``value [..., Lk, dv]``. ``attn_mask``
    broadcasts to ``[..., Lq, Lk]``: bool (True = may *not* attend, ``nn.MultiheadAttention``'s
    convention) or float (added). ``is_causal`` (without a mask) forbids keys after the
    query position. ``scale`` defaults to 1/sqrt(d). Returns ``(output [..., Lq, dv],
    weights [..., Lq, Lk])``, the weights after dropout.
    """
    if is_causal and attn_mask is None:
        length_q, length_k = query.shape[-2], key.shape[-2]
        attn_mask = torch.ones(length_q, length_k, dtype=torch.bool, device=query.device).triu(1)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    logits = (query * scale) @ key.transpose(-2, -1)
    mask = _additive_mask(attn_mask, logits.dtype)
    if mask is not None:
        logits = logits + mask
    weights = softmax(logits, -1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p)
    return weights @ value, weights


class MultiheadAttention(nn.MultiheadAttention):
    """``torch.nn.MultiheadAttention`` whose CPU training is independent of the thread count.

    Same constructor, parameters, state dict and ``forward``. When gradients are recorded
    on the CPU, attention runs through :func:`scaled_dot_product_attention` (the maths of
    torch's math path: scaled dot products, masks, softmax, dropout on the weights in
    training); otherwise (CUDA, inference) through torch's own fused code. ``add_bias_kv``
    and ``add_zero_attn`` are not supported.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.bias_k is not None or self.add_zero_attn:
            raise ConfigError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported "
                              "(use torch.nn.MultiheadAttention)")

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
                attn_mask: torch.Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        if query.device.type != "cpu" or not torch.is_grad_enabled():
            return super().forward(query, key, value, key_padding_mask=key_padding_mask,
                                   need_weights=need_weights, attn_mask=attn_mask,
                                   average_attn_weights=average_attn_weights, is_causal=is_causal)
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = (t.unsqueeze(0 if self.batch_first else 1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if not self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        q, k, v = self._project(query, key, value)                  # [B, heads, L, head_dim]
        mask = self._combined_mask(attn_mask, key_padding_mask, q)
        out, weights = scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=is_causal and mask is None)
        batch, length = out.shape[0], out.shape[2]
        out = self.out_proj(out.transpose(1, 2).reshape(batch, length, self.embed_dim))
        if not self.batch_first:
            out = out.transpose(0, 1)
        if unbatched:
            out = out.squeeze(0 if self.batch_first else 1)
        if not need_weights:
            return out, None
        weights = weights.mean(1) if average_attn_weights else weights
        return out, weights.squeeze(0) if unbatched else weights

    def _project(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Input projections ``[B, L, E]`` -> per-head ``[B, heads, L, head_dim]``."""
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            weights = self.in_proj_weight.split(e)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = self.in_proj_bias.split(e) if self.in_proj_bias is not None else (None, None, None)
        projected = (F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))
        return tuple(p.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2) for p in projected)

    def _combined_mask(self, attn_mask: torch.Tensor | None, key_padding_mask: torch.Tensor | None,
                       q: torch.Tensor) -> torch.Tensor | None:
        """One additive mask broadcasting to ``[B, heads, Lq, Lk]``, or None."""
        mask = _additive_mask(attn_mask, q.dtype)
        if mask is not None and mask.dim() == 3:                      # [B * heads, Lq, Lk]
            mask = mask.view(q.shape[0], self.num_heads, *mask.shape[1:])
        padding = _additive_mask(key_padding_mask, q.dtype)
        if padding is not None:                                       # [B, Lk]
            if padding.shape != (q.shape[0], padding.shape[-1]):
                raise ModelError(f"MultiheadAttention: key_padding_mask must be [batch, source length], "
                                 f"got {tuple(padding.shape)}")
            padding = padding[:, None, None, :]
            mask = padding if mask is None else mask + padding
        return mask


# ---- layer norm -----------------------------------------------------------------------

class _LayerNorm(torch.autograd.Function):
    """Native layer norm forward and input gradient; weight and bias gradients as column sums."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, shape: tuple[int, ...], weight: torch.Tensor | None,
                bias: torch.Tensor | None, eps: float) -> torch.Tensor:  # type: ignore[override]
        out, mean, rstd = torch.native_layer_norm(x, shape, weight, bias, eps)
        ctx.save_for_backward(x, weight, bias, mean, rstd)
        ctx.shape = shape
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x, weight, bias, mean, rstd = ctx.saved_tensors
        need_x, _, need_weight, need_bias, _ = ctx.needs_input_grad
        grad = grad.contiguous()
        grad_x = grad_weight = grad_bias = None
        if need_x:
            grad_x = torch.ops.aten.native_layer_norm_backward(
                grad, x, list(ctx.shape), mean, rstd, weight, bias, [True, False, False])[0]
        rows = tuple(range(x.dim() - len(ctx.shape)))                 # every dimension before the normalised ones
        if need_weight:
            grad_weight = fixed_order_sum(grad * ((x - mean) * rstd), rows) if rows else grad * ((x - mean) * rstd)
        if need_bias:
            grad_bias = fixed_order_sum(grad, rows) if rows else grad
        return grad_x, None, grad_weight, grad_bias, None


class LayerNorm(nn.LayerNorm):
    """``torch.nn.LayerNorm`` whose CPU weight and bias gradients do not depend on the thread count.

    Same constructor, parameters and state dict. With gradients on the CPU the backward
    takes the input gradient from torch's kernel and sums the weight and bias gradients
    over the rows per column; otherwise it is ``torch.nn.LayerNorm``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or not torch.is_grad_enabled():
            return super().forward(x)
        return _LayerNorm.apply(x, tuple(self.normalized_shape), self.weight, self.bias, self.eps)
