"""Turn a device name (``auto``, ``cpu``, ``cuda``, ``cuda:N``) into a ``torch.device``."""

from __future__ import annotations

import re

from recplug.errors import ConfigError

_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
_ALLOWED = "use 'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(name: str, *, supports_cuda: bool = True) -> "torch.device":  # noqa: F821
    """The ``torch.device`` for ``name``; ``auto`` is the first CUDA device when torch sees
    one and ``supports_cuda`` (the model's ``Tags.supports_cuda``), else the CPU.

    Raises ConfigError, naming the argument ``device``, for an unknown name, a CUDA device
    for a model without CUDA support, or a CUDA device torch does not see.
    """
    import torch

    text = str(name).strip().lower()
    if not _PATTERN.match(text):
        raise ConfigError(f"device={name!r} is not understood; {_ALLOWED}")
    if text == "auto":
        return torch.device("cuda:0" if supports_cuda and torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if not supports_cuda:
        raise ConfigError(f"device={name!r} is not allowed: this model does not declare CUDA support "
                          "(Tags.supports_cuda); use device 'cpu' or 'auto'")
    if not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} was requested but torch sees no CUDA device "
                          f"(torch {torch.__version__}); use device 'cpu' or install a CUDA build of torch")
    index = int(text.split(":")[1]) if ":" in text else 0
    if index >= torch.cuda.device_count():
        raise ConfigError(f"device={name!r} does not exist: torch sees {torch.cuda.device_count()} "
                          "CUDA device(s), numbered from 0")
    return torch.device("cuda", index)
