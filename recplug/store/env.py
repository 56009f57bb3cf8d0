"""The environment recorded with each run: versions, device, host, threads."""

from __future__ import annotations

import platform
import socket
from typing import Any


def run_env(device: str = "cpu", threads: int | None = None) -> dict[str, Any]:
    """``{"recplug", "python", "numpy", "torch", "device", "device_name", "host", "platform", "threads"}``.

    ``device`` is the torch device string the run uses ("cpu", "cuda:0"); ``threads`` the
    thread count it runs with (default: torch's current intra-op count).
    """
    import numpy as np

    import recplug

    env: dict[str, Any] = {"recplug": recplug.__version__, "python": platform.python_version(),
                           "numpy": np.__version__, "device": device, "device_name": platform.processor()
                           or platform.machine(), "host": socket.gethostname(),
                           "platform": platform.platform(), "threads": threads}
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        env["torch"] = None
        return env
    env["torch"] = torch.__version__
    if threads is None:
        env["threads"] = torch.get_num_threads()
    if device.startswith("cuda") and torch.cuda.is_available():
        env["device_name"] = torch.cuda.get_device_name(torch.device(device))
        env["cuda"] = torch.version.cuda
    return env
