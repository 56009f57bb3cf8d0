"""How many threads a job may use, and thread limits for torch and the BLAS/OpenMP pools.

Spinning thread pools oversubscribe a machine shared by several jobs: a job that starts
more threads than the CPUs it may really use (its affinity mask, its cgroup CPU quota) or
than its share of them waits on descheduled threads. :func:`usable_cpus` is what the
process may use; :func:`default_threads` is what a job uses when nobody says otherwise
(``RECPLUG_THREADS`` when an executor set it, else the usable CPUs other running tasks
leave free); an executor putting
``jobs`` jobs on one machine hands each :func:`job_threads` and starts it with
:func:`job_environment`.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Iterator

from recplug.errors import ConfigError
from recplug.training.constraints import Integer, Nullable

#: Environment variable an executor sets to hand a job its thread count (an integer >= 1).
THREADS_ENV = "RECPLUG_THREADS"
#: The variables :func:`job_environment` sets: ours, then the OpenMP/BLAS pools read at start-up.
POOL_ENV = ("RECPLUG_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _cgroup_dirs(proc: Path, root: Path) -> list[tuple[str, Path]]:
    """``(version, directory)`` of this process's cgroups holding CPU limits: "v2" for the
    unified hierarchy, "v1" for the ``cpu`` controller, from /proc/self/{cgroup,mountinfo}."""
    cgroups = _read(proc / "cgroup") or ""
    mounts = _read(proc / "mountinfo") or ""
    v2_path = v1_path = None
    for line in cgroups.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2_path = parts[2]
        elif "cpu" in parts[1].split(","):
            v1_path = parts[2]
    found: list[tuple[str, Path]] = []
    for line in mounts.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        after = line.split(" - ", 1)[1].split()
        fstype, options = after[0], after[2] if len(after) > 2 else ""
        mount_root, mount_point = fields[3], Path(fields[4])
        if not str(mount_point).startswith(str(root)):
            continue
        if fstype == "cgroup2" and v2_path is not None:
            found.append(("v2", _inside(mount_point, mount_root, v2_path)))
        elif fstype == "cgroup" and v1_path is not None and "cpu" in options.split(","):
            found.append(("v1", _inside(mount_point, mount_root, v1_path)))
    return found


def _inside(mount_point: Path, mount_root: str, cgroup_path: str) -> Path:
    """The directory of ``cgroup_path`` under a mount of ``mount_root`` (a container sees its
    own cgroup as the mount's root)."""
    rel = cgroup_path
    if mount_root != "/" and (rel == mount_root or rel.startswith(mount_root.rstrip("/") + "/")):
        rel = rel[len(mount_root):]
    directory = mount_point / rel.lstrip("/")
    return directory if directory.is_dir() else mount_point


def _quota(version: str, directory: Path, max_depth: int = 64) -> float | None:
    """The tightest CPU quota (in CPUs) of ``directory`` and its parents, None for no limit."""
    best = None
    here = directory
    for _ in range(max_depth):
        if version == "v2":
            text = _read(here / "cpu.max")
            fields = text.split() if text else []
            if len(fields) == 2 and fields[0] != "max":
                value = _ratio(fields[0], fields[1])
                best = value if best is None or (value is not None and value < best) else best
        else:
            quota, period = _read(here / "cpu.cfs_quota_us"), _read(here / "cpu.cfs_period_us")
            if quota is not None and period is not None and quota.strip() != "-1":
                value = _ratio(quota.strip(), period.strip())
                best = value if best is None or (value is not None and value < best) else best
        if here.parent == here or not (here.parent / ("cpu.max" if version == "v2" else "cpu.cfs_quota_us")).exists():
            break
        here = here.parent
    return best


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def cgroup_cpu_limit(*, proc: str | os.PathLike = "/proc/self",
                     root: str | os.PathLike = "/sys/fs/cgroup") -> float | None:
    """The CPU quota of this process's cgroups in CPUs (e.g. 1.5), None when unlimited.

    Reads cgroup v2 ``cpu.max`` and cgroup v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us`` of
    the process's cgroup and its ancestors (the tightest wins). ``proc`` and ``root`` are
    the /proc/self and cgroup mount directories (tests point them at fake trees).
    """
    limits = [q for version, d in _cgroup_dirs(Path(proc), Path(root)) if (q := _quota(version, d)) is not None]
    return min(limits) if limits else None


def usable_cpus(*, proc: str | os.PathLike = "/proc/self", root: str | os.PathLike = "/sys/fs/cgroup") -> int:
    """CPUs this process may really use: its affinity mask, capped by its cgroup CPU quota
    (rounded down, at least 1). ``os.cpu_count()`` sees neither."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    limit = cgroup_cpu_limit(proc=proc, root=root)
    if limit is not None:
        cpus = min(cpus, max(1, math.floor(limit + 1e-9)))
    return max(1, cpus)


def running_elsewhere(*, loadavg: str | os.PathLike = "/proc/loadavg", samples: int = 5,
                      interval_s: float = 0.005) -> int:
    """Tasks running or runnable on the machine besides the caller: the fewest seen in
    ``samples`` reads of /proc/loadavg's ``running/total`` field, ``interval_s`` apart
    (0 where the file is missing or unreadable)."""
    import time

    fewest = None
    for i in range(samples):
        text = _read(Path(loadavg))
        fields = text.split() if text else []
        if len(fields) < 4 or "/" not in fields[3]:
            return 0
        try:
            running = int(fields[3].split("/")[0])
        except ValueError:
            return 0
        fewest = running if fewest is None else min(fewest, running)
        if i + 1 < samples:
            time.sleep(interval_s)
    return max(0, (fewest or 1) - 1)


def _whole_machine(cpus: int) -> bool:
    """True when this process may use every online CPU without a cgroup quota: then the
    machine's run queue (/proc/loadavg) is the one its threads compete in."""
    return cgroup_cpu_limit() is None and cpus >= (os.cpu_count() or cpus)


def default_threads() -> int:
    """Threads of a job nobody gave a count: ``RECPLUG_THREADS`` when set (an executor's
    share), else :func:`usable_cpus`, less the CPUs other running tasks occupy right now
    (at least 1) -- two jobs started together on 2 cores take one thread each instead of
    four threads waiting on each other.

    The load is only looked at where the choice cannot change results or a run's identity:
    up to ``determinism.THREAD_INDEPENDENT_UP_TO`` usable CPUs, and when the process has the
    whole machine (no cgroup quota, every CPU in its affinity mask; a container's
    /proc/loadavg counts the host's tasks). Raises ConfigError for a bad ``RECPLUG_THREADS``.
    """
    text = os.environ.get(THREADS_ENV, "").strip()
    if text:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise ConfigError(f"{THREADS_ENV}={text!r} is not allowed; it must be an integer >= 1 "
                              f"(threads of this job), or unset")
        return value
    cpus = usable_cpus()
    from recplug.training.determinism import THREAD_INDEPENDENT_UP_TO

    if cpus == 1 or cpus > THREAD_INDEPENDENT_UP_TO or not _whole_machine(cpus):
        return cpus
    return max(1, cpus - running_elsewhere())


def job_threads(jobs: int, cpus: int | None = None) -> int:
    """Threads for each of ``jobs`` jobs sharing ``cpus`` CPUs (default :func:`usable_cpus`):
    ``cpus // jobs``, at least 1, so that the jobs together never start more threads than
    there are CPUs (when ``jobs <= cpus``)."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"jobs={jobs!r} is not allowed; jobs must be an integer >= 1")
    total = usable_cpus() if cpus is None else cpus
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise ConfigError(f"cpus={cpus!r} is not allowed; cpus must be an integer >= 1")
    return max(1, total // jobs)


def job_environment(threads: int) -> dict[str, str]:
    """Environment variables for a job process handed ``threads`` threads: ``RECPLUG_THREADS``
    and the OpenMP/MKL/OpenBLAS counts, which those pools read only when they start (set
    them before the job imports torch, e.g. in ``subprocess.Popen(env=...)`` or Ray's
    ``runtime_env={"env_vars": ...}``)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads={threads!r} is not allowed; threads must be an integer >= 1")
    return {name: str(threads) for name in POOL_ENV}


@contextlib.contextmanager
def limited_threads(threads: int | None) -> Iterator[None]:
    """Cap BLAS/OpenMP pools (threadpoolctl) and torch's intra-op threads to ``threads``.

    ``None`` or ``0`` leaves every pool as it is. Idle OpenBLAS threads otherwise spin
    after a matmul and steal cores from the kernels. The previous torch thread count is
    restored on exit.
    """
    import torch
    from threadpoolctl import threadpool_limits

    allowed = Nullable(Integer(0)).check(threads)
    if allowed is not None:
        raise ConfigError(f"threads={threads!r} is not allowed; threads must be {allowed} (0 = all cores)")
    limit = int(threads) if threads else None
    previous = torch.get_num_threads()
    if limit:
        torch.set_num_threads(limit)
    try:
        with threadpool_limits(limits=limit, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(previous)
