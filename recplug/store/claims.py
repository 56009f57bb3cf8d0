"""Who holds a configuration: the :class:`Claim` a process gets before running it, and
whether a ``running`` row still belongs to a live process."""

from __future__ import annotations

from dataclasses import dataclass

from recplug.store.owner import Owner

#: what a process learns when it asks to run a configuration
CLAIM_STATUSES = ("claimed", "busy", "done")
#: the ``error`` of a running run taken over because its owner looked dead; its owner
#: may still finish it (it was alive after all), unlike a run interrupted on purpose
OWNER_GONE = "interrupted: its process was gone (or stopped sending heartbeats)"


@dataclass(frozen=True)
class Claim:
    """``status``: "claimed" (a new running run ``run_id`` is this process's to finish),
    "busy" (another live process runs it: ``run_id`` theirs, ``owner`` "host pid N"), or
    "done" (``run_id`` is the latest done run of the configuration)."""

    status: str
    run_id: int
    owner: str = ""


def describe(host: str | None, pid: int | None) -> str:
    """``"host pid N"``, the owner as people read it."""
    return f"{host or '?'} pid {pid if pid is not None else '?'}"


def is_live(host: str | None, pid: int | None, token: str | None, heartbeat_at: float | None,
            now: float, stale_after: float | None) -> bool:
    """Whether a running run's owner still runs it.

    On this host: its process is alive (pid + start token). On another host: its last
    heartbeat (seconds since the epoch) is younger than ``stale_after`` seconds (None:
    always live, nothing here can tell). A run without an owner (version-1 store) is dead.
    """
    if pid is None:
        return False
    alive = Owner(host or "", int(pid), token or "").is_alive()
    if alive is not None:
        return alive
    if stale_after is None:
        return True
    return heartbeat_at is not None and now - heartbeat_at < stale_after
