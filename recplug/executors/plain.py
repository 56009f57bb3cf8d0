"""Jobs in this process, one at a time, in the order they were submitted."""

from __future__ import annotations

from typing import Any, Callable


class _Deferred:
    def __init__(self, fn: Callable[..., Any], args: tuple) -> None:
        self.fn, self.args = fn, args


class PlainExecutor:
    """Runs each job when :meth:`wait_any` asks for one (the oldest first), in the calling
    thread, so Ctrl-C reaches it. Errors a job raises propagate to the caller."""

    name = "plain"

    def __init__(self, *, cpus_per_job: float = 1, gpus_per_job: float = 0) -> None:
        self.cpus_per_job, self.gpus_per_job = cpus_per_job, gpus_per_job

    def share(self, obj: Any) -> Any:
        return obj

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Deferred:
        return _Deferred(fn, args)

    def wait_any(self, handles: list[Any]):
        from recplug.executors.base import Done

        job = handles[0]
        return Done(job, job.fn(*job.args))

    def cancel(self, handles: list[Any]) -> None:
        """Nothing runs in the background: nothing to cancel."""

    def close(self) -> None:
        pass

    def __enter__(self) -> "PlainExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
