"""Seeded mini-batches as torch tensors, built with vector operations (no per-sample Python)."""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from recplug.errors import ModelError
from recplug.training.constraints import Integer, Nullable, check_params


def _order(n: int, seed: int | None) -> np.ndarray | None:
    """The permutation of ``n`` rows for ``seed`` (None: keep the order)."""
    return None if seed is None else np.random.default_rng(seed).permutation(n)


def _check(owner: str, batch_size: int, seed: int | None) -> None:
    check_params(owner, {"batch_size": Integer(1), "seed": Nullable(Integer(0))},
                 {"batch_size": batch_size, "seed": seed})


def shuffled_batches(arrays: Iterable[Any], batch_size: int, *, seed: int | None,
                     device: Any) -> Iterator[tuple[Any, ...]]:
    """Mini-batches of aligned NumPy arrays as torch tensors on ``device``.

    Rows are permuted with ``numpy.random.default_rng(seed)`` (no shuffle when seed is
    None), so the order depends on the seed, not on ``batch_size``. Each array is moved to
    the device once and batches are views of it. The last batch may be smaller.
    """
    import torch

    _check("shuffled_batches", batch_size, seed)
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ModelError(f"shuffled_batches: arrays differ in length ({[len(a) for a in arrays]})")
    order = _order(n, seed)
    if order is not None:
        arrays = [a[order] for a in arrays]
    tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(device, non_blocking=True) for a in arrays]
    for start in range(0, n, batch_size):
        yield tuple(t[start:start + batch_size] for t in tensors)


def user_row_batches(csr: Any, batch_size: int, *, seed: int | None, device: Any
                     ) -> Iterator[tuple[Any, Any]]:
    """Users and their CSR rows as dense tensors, one batch at a time (autoencoders).

    Yields ``(users int64 [b], rows float32 [b, n_items])`` on ``device``, every user
    (row of ``csr``) once, in the order of ``numpy.random.default_rng(seed).permutation``
    (user order when seed is None). Only one batch of rows is ever dense; the values of
    ``csr`` are kept (binary for ``TrainData.csr``).
    """
    import torch

    _check("user_row_batches", batch_size, seed)
    n_users, n_items = csr.shape
    order = _order(n_users, seed)
    users = np.arange(n_users, dtype=np.int64) if order is None else order.astype(np.int64)
    for start in range(0, n_users, batch_size):
        chosen = users[start:start + batch_size]
        rows = np.asarray(csr[chosen].toarray(), dtype=np.float32)
        yield (torch.from_numpy(chosen).to(device, non_blocking=True),
               torch.from_numpy(rows).to(device, non_blocking=True))
