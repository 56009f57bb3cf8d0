"""Jobs as Ray tasks, each asking for ``cpus_per_job`` CPUs and ``gpus_per_job`` GPUs.

``address=None`` starts a local Ray (all the machine's CPUs) unless this process already
runs one (``ray.init`` was called: it is used as it is); ``"auto"`` joins the cluster of
``ray start --head`` on this machine, ``"ray://host:port"`` a remote cluster through Ray
Client. Every worker must have recplug (and the models' plugins) installed. Shared
objects go to Ray's object store once (:meth:`RayExecutor.share`); a worker that dies
(out of memory, node lost) comes back as a :class:`~recplug.executors.Done` with an error.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from recplug.extras import require


class RayExecutor:
    name = "ray"

    def __init__(self, *, address: str | None = None, cpus_per_job: float = 1, gpus_per_job: float = 0) -> None:
        ray = require("ray")
        self.cpus_per_job, self.gpus_per_job = cpus_per_job, gpus_per_job
        self._ray = ray
        self._remote: dict[Callable[..., Any], Any] = {}
        self._started = False
        if not ray.is_initialized():
            local = {} if address is not None else {"include_dashboard": False}
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, **local)
            self._started = True

    def share(self, obj: Any) -> Any:
        return self._ray.put(obj)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._ray.remote(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job,
                                      max_retries=0)(fn)
            self._remote[fn] = remote
        return remote.remote(*args)

    def wait_any(self, handles: list[Any]):
        from recplug.executors.base import Done

        ready, _ = self._ray.wait(list(handles), num_returns=1)
        handle = ready[0]
        try:
            return Done(handle, self._ray.get(handle))
        except self._ray.exceptions.RayError as exc:
            lines = [line for line in str(exc).strip().splitlines() if line.strip()]
            return Done(handle, None, f"{type(exc).__name__}: {lines[-1] if lines else exc}")

    def cancel(self, handles: list[Any]) -> None:
        """Cancel jobs still queued or running (the driver is stopping)."""
        for handle in handles:
            try:
                self._ray.cancel(handle, force=True)
            except Exception:  # already finished or gone
                pass

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
