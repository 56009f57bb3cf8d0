"""Where jobs run: in this process (:class:`PlainExecutor`) or as Ray tasks (:class:`RayExecutor`).

A job is a plain function and its arguments; large inputs (a prepared split) are handed
to :meth:`Executor.share` once and the returned handle is passed to every job that needs
it (Ray's object store; the object itself in this process). Jobs return values and never
write to the results store or a study's storage: only the driver does, from what
:meth:`Executor.wait_any` hands back.
"""

from __future__ import annotations

from recplug.executors.base import Done, Executor, make_executor
from recplug.executors.plain import PlainExecutor

EXECUTORS = ("plain", "ray")

__all__ = ["Done", "EXECUTORS", "Executor", "PlainExecutor", "make_executor"]
