"""Which process owns a running run, and whether that process is still alive.

A run inserted as ``running`` records its owner: host name, pid and a start token (the
process start time from ``/proc/<pid>/stat`` on Linux, empty elsewhere). The token makes
a recycled pid look dead, as it should; a zombie (killed, not yet reaped) is dead too.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first), None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after it
    return stat.rsplit(")", 1)[-1].split()


def _start_token(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc stat), "" where unknown."""
    stat = _proc_stat(pid)
    return stat[19] if stat is not None and len(stat) > 19 else ""


def _pid_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Owner:
    """The process that inserted a run: host name, pid, start token."""

    host: str
    pid: int
    token: str

    @classmethod
    def current(cls) -> "Owner":
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _start_token(pid))

    def is_alive(self) -> bool | None:
        """True/False on this host; None when the owner ran on another host (unknowable here)."""
        if self.host != socket.gethostname():
            return None
        if not _pid_exists(self.pid):
            return False
        stat = _proc_stat(self.pid)
        if stat is None:  # no /proc (macOS, Windows): the pid exists, trust it
            return True
        if stat and stat[0] in ("Z", "X"):
            return False
        token = stat[19] if len(stat) > 19 else ""
        return not (self.token and token and token != self.token)
