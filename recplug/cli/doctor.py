"""``recplug doctor``: versions, native kernels, threads and devices."""

from __future__ import annotations

import os
import platform

from rich.console import Console
from rich.table import Table


def doctor() -> None:
    """Print versions (recplug, python, torch, numpy), kernel build and variant, usable CPUs, threads and CUDA devices."""
    import numpy as np

    import recplug
    from recplug import kernels

    table = Table(title="recplug doctor", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("recplug", recplug.__version__)
    table.add_row("python", platform.python_version())
    table.add_row("numpy", np.__version__)
    try:
        import torch

        table.add_row("torch", torch.__version__)
        table.add_row("torch threads", str(torch.get_num_threads()))
        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                table.add_row(f"cuda:{i}", torch.cuda.get_device_name(i))
        else:
            table.add_row("cuda", "not available (CPU only)")
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        table.add_row("torch", f"[red]not importable: {exc}[/]")
    if kernels.available():
        info = kernels.build_info()
        table.add_row("kernels", "[green]built[/]")
        table.add_row("kernel variant", f"{info['variant']} ({info['instruction_set']}); runnable here: "
                                        f"{', '.join(info['variants'])} (force one with {kernels.VARIANT_ENV}=NAME)")
        table.add_row("OpenMP", "yes" if info["openmp"] else "no (single-threaded)")
        table.add_row("kernel threads", str(info["max_threads"]))
        table.add_row("compiler", str(info["compiler"]))
    else:
        table.add_row("kernels", "[red]not built[/] (see below)")
    from recplug.training.threads import THREADS_ENV, cgroup_cpu_limit, default_threads, usable_cpus

    quota = cgroup_cpu_limit()
    table.add_row("CPU cores", f"{os.cpu_count()} (usable by this process: {usable_cpus()}; cgroup CPU quota: "
                               f"{'none' if quota is None else f'{quota:g}'})")
    table.add_row("threads per job", f"{default_threads()} ({THREADS_ENV}={os.environ.get(THREADS_ENV) or 'unset'})")
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            table.add_row(f"{pool['user_api']} ({pool['internal_api']})", f"{pool['num_threads']} threads")
    except ImportError:  # pragma: no cover
        pass
    console = Console()
    console.print(table)
    if not kernels.available():
        console.print(f"recplug._kernels is not built: {kernels.REBUILD_HINT}", soft_wrap=True,
                      highlight=False, markup=False)
