"""The executor interface and its factory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from recplug.errors import ConfigError


@dataclass(frozen=True)
class Done:
    """A finished job: ``value`` is what it returned; ``error`` (one line) when it raised or its
    worker died, ``value`` then None."""

    handle: Any
    value: Any = None
    error: str | None = None


class Executor(Protocol):
    """Runs jobs; see :mod:`recplug.executors`."""

    name: str
    cpus_per_job: float
    gpus_per_job: float

    def share(self, obj: Any) -> Any:
        """A handle for ``obj`` that jobs receive as an argument (and see as ``obj``)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Start ``fn(*args)`` (arguments may be handles from :meth:`share`); returns its handle."""

    def wait_any(self, handles: list[Any]) -> Done:
        """Wait until one of ``handles`` finishes and return it."""

    def cancel(self, handles: list[Any]) -> None:
        """Stop jobs not finished yet (the driver is stopping)."""

    def close(self) -> None:
        """Release what the executor holds (idempotent)."""


def check_resources(cpus_per_job: float, gpus_per_job: float) -> None:
    """ConfigError naming the argument for a non-positive CPU share or a negative GPU share."""
    for name, value, low in (("cpus_per_job", cpus_per_job, "> 0"), ("gpus_per_job", gpus_per_job, ">= 0")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise ConfigError(f"{name} must be a number {low}, got {value!r}")
    if cpus_per_job <= 0:
        raise ConfigError(f"cpus_per_job must be > 0 (CPUs each job asks for), got {cpus_per_job!r}")
    if gpus_per_job < 0:
        raise ConfigError(f"gpus_per_job must be >= 0 (GPUs each job asks for), got {gpus_per_job!r}")


def make_executor(name: str = "plain", *, address: str | None = None, cpus_per_job: float = 1,
                  gpus_per_job: float = 0) -> Executor:
    """``"plain"`` (this process, one job at a time) or ``"ray"`` (Ray tasks on the cluster at
    ``address``: None starts a local one, ``"auto"`` joins a running one, ``"ray://host:port"``
    a remote one). Checks every argument first; Ray missing is one line naming the extra."""
    from recplug.executors import EXECUTORS

    if name not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
    check_resources(cpus_per_job, gpus_per_job)
    if name == "plain":
        if address is not None:
            raise ConfigError(f"address {address!r} is for the Ray executor; add executor 'ray' or drop it")
        from recplug.executors.plain import PlainExecutor

        return PlainExecutor(cpus_per_job=cpus_per_job, gpus_per_job=gpus_per_job)
    from recplug.executors.ray import RayExecutor

    return RayExecutor(address=address, cpus_per_job=cpus_per_job, gpus_per_job=gpus_per_job)
