"""Thread limits for torch and the BLAS/OpenMP pools, restored afterwards."""

from __future__ import annotations

import contextlib
from typing import Iterator

from recplug.errors import ConfigError
from recplug.training.constraints import Integer, Nullable


@contextlib.contextmanager
def limited_threads(threads: int | None) -> Iterator[None]:
    """Cap BLAS/OpenMP pools (threadpoolctl) and torch's intra-op threads to ``threads``.

    ``None`` or ``0`` leaves every pool as it is. Idle OpenBLAS threads otherwise spin
    after a matmul and steal cores from the kernels. The previous torch thread count is
    restored on exit.
    """
    import torch
    from threadpoolctl import threadpool_limits

    allowed = Nullable(Integer(0)).check(threads)
    if allowed is not None:
        raise ConfigError(f"threads={threads!r} is not allowed; threads must be {allowed} (0 = all cores)")
    limit = int(threads) if threads else None
    previous = torch.get_num_threads()
    if limit:
        torch.set_num_threads(limit)
    try:
        with threadpool_limits(limits=limit, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(previous)
