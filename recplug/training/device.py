"""Turn a device name (``auto``, ``cpu``, ``cuda``, ``cuda:N``) into a ``torch.device``."""

from __future__ import annotations

import re

from recplug.errors import ConfigError

_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def resolve_device(name: str) -> "torch.device":  # noqa: F821
    """``auto`` picks the first CUDA device when one is usable, else the CPU.

    Raises ConfigError for an unknown name or a CUDA device that is not available.
    """
    import torch

    name = str(name).strip().lower()
    if not _PATTERN.match(name):
        raise ConfigError(f"device {name!r} is not understood; use 'auto', 'cpu', 'cuda' or 'cuda:N'")
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} was requested but torch sees no CUDA device "
                          f"(torch {torch.__version__}); use --device cpu or install a CUDA build of torch")
    index = int(name.split(":")[1]) if ":" in name else 0
    if index >= torch.cuda.device_count():
        raise ConfigError(f"device {name!r} does not exist: torch sees {torch.cuda.device_count()} "
                          "CUDA device(s), numbered from 0")
    return torch.device("cuda", index)
