"""Cgroups for one run — memory and process count — so the kernel stops a greedy submission
and not the grader.

An address-space rlimit is no memory limit for TensorFlow: oneDNN and thread stacks
reserve far more address space than they use, and a 4 GB cap broke real submissions
(a 300×300 model failed inside MKL). A cgroup limits what is actually resident. Works
with cgroup v2 (memory.max, and memory.swap.max 0) and v1 (memory.limit_in_bytes, and
memory.memsw.limit_in_bytes the same) where the grader may create a child of its own
cgroup; elsewhere there is no memory limit and the result says so.

The process count uses the pids controller the same way: RLIMIT_NPROC counts every
process of a uid on the machine (and is not enforced for root), a pids cgroup counts
exactly the run's processes and threads. Being in a cgroup also lets the grader find and
kill every process of a run, even one that left the run's process group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_PREFIX = "grader-run-"


@dataclass
class MemoryCage:
    """The run's cgroups: `path` limits memory (may be absent), `pids_path` the count of
    processes and threads (may be absent). Kept under its old name: one cage per run."""

    path: Path | None
    limit_bytes: int | None
    v2: bool
    pids_path: Path | None = None
    max_pids: int | None = None
    cpu_path: Path | None = None  # where the run's CPU time is counted (cpu.stat, cpuacct)
    _closed: bool = field(default=False, repr=False)

    @classmethod
    def create(cls, limit_bytes: int | None, max_pids: int | None = None) -> MemoryCage | None:
        """A cage with whatever of the two limits this machine lets the grader set."""
        memory, v2 = (None, False)
        if limit_bytes:
            memory, v2 = _make_memory(limit_bytes)
        pids = None
        if max_pids:
            pids = memory if memory is not None and v2 and _v2_has(memory.parent, "pids") \
                else _make_pids(max_pids)
            if pids is memory and pids is not None:
                try:
                    (pids / "pids.max").write_text(str(max_pids))
                except OSError:
                    pids = _make_pids(max_pids)
        cpu = _cpu_accounting(memory if v2 else None)
        if memory is None and pids is None and cpu is None:
            return None
        return cls(memory, limit_bytes if memory else None, v2, pids,
                   max_pids if pids else None, cpu)

    @property
    def memory_limited(self) -> bool:
        return self.path is not None

    @property
    def pids_limited(self) -> bool:
        return self.pids_path is not None

    def _paths(self) -> list[Path]:
        return list(dict.fromkeys(p for p in (self.path, self.pids_path, self.cpu_path)
                                  if p is not None))

    def procs_files(self) -> list[Path]:
        """The files a process writes "0" to in order to enter the cage (a warm run's)."""
        return [path / "cgroup.procs" for path in self._paths()]

    def enter(self) -> None:
        """Called in the child before exec: it and all it starts are inside the cage."""
        for path in self._paths():
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) of everything that ran in the cage, dead processes
        included; None where this machine gives the grader no CPU accounting."""
        if self.cpu_path is None:
            return None
        try:
            if (self.cpu_path / "cpu.stat").exists():
                usage = _event_count(self.cpu_path / "cpu.stat", "usage_usec")
                return usage / 1e6
            return int((self.cpu_path / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def exceeded(self) -> bool:
        """Whether the kernel had to kill something in here for memory."""
        if self.path is None:
            return False
        return _event_count(self.path / ("memory.events" if self.v2 else "memory.oom_control"),
                            "oom_kill") > 0

    def pids_refused(self) -> int:
        """How many forks or thread starts the pids limit refused."""
        if self.pids_path is None:
            return 0
        return _event_count(self.pids_path / "pids.events", "max")

    def pids_peak(self) -> int | None:
        """Most processes+threads at once (kernels that keep pids.peak), for measuring."""
        if self.pids_path is None:
            return None
        try:
            return int((self.pids_path / "pids.peak").read_text())
        except (OSError, ValueError):
            return None

    def processes(self) -> list[int]:
        found: set[int] = set()
        for path in self._paths():
            with contextlib.suppress(OSError, ValueError):
                found.update(int(p) for p in (path / "cgroup.procs").read_text().split())
        return sorted(found)

    def kill_all(self, grace: float = 5.0) -> None:
        """SIGKILL every process of the run, including ones that left its process group
        (setsid, double fork), until the cgroups are empty or `grace` seconds passed."""
        deadline = time.monotonic() + grace
        while (pids := self.processes()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for path in self._paths():
            with contextlib.suppress(OSError):
                path.rmdir()


def _event_count(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        return 0
    return 0


def _new_child(parent: Path) -> Path | None:
    _remove_stale(parent)
    path = parent / f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir()
    except OSError:
        return None
    return path


def _remove_stale(parent: Path) -> None:
    """Empty cgroups left by a grader that was SIGKILLed (its pid is gone)."""
    with contextlib.suppress(OSError):
        for child in parent.glob(f"{_PREFIX}*"):
            owner = child.name[len(_PREFIX):].split("-", 1)[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                with contextlib.suppress(OSError):
                    child.rmdir()  # fails, harmlessly, while processes remain


def _make_memory(limit_bytes: int) -> tuple[Path | None, bool]:
    for parent, v2 in _candidate_parents("memory"):
        path = _new_child(parent)
        if path is None:
            continue
        try:
            limit_file = "memory.max" if v2 else "memory.limit_in_bytes"
            (path / limit_file).write_text(str(limit_bytes))
            # and no swap to spill into, or a run could page past its limit (and slow the
            # machine) instead of being stopped: v2 limits swap on its own, v1 memory and
            # swap together. Where the kernel keeps no swap accounting the file is absent
            # and the write fails harmlessly: there the limit is on resident memory only.
            swap_file, swap_limit = ("memory.swap.max", 0) if v2 \
                else ("memory.memsw.limit_in_bytes", limit_bytes)
            with contextlib.suppress(OSError):
                (path / swap_file).write_text(str(swap_limit))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            continue
        return path, v2
    return None, False


def _make_pids(max_pids: int) -> Path | None:
    for parent, _ in _candidate_parents("pids"):
        path = _new_child(parent)
        if path is None:
            continue
        try:
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            continue
        return path
    return None


def _cpu_accounting(v2_memory: Path | None) -> Path | None:
    """Where the run's CPU time can be read: every v2 cgroup keeps cpu.stat (so the
    memory cgroup serves), v1 has the cpuacct controller."""
    if v2_memory is not None and (v2_memory / "cpu.stat").exists():
        return v2_memory
    for parent, v2 in _candidate_parents("cpuacct"):
        if v2:
            continue
        path = _new_child(parent)
        if path is None:
            continue
        if (path / "cpuacct.usage").exists():
            return path
        with contextlib.suppress(OSError):
            path.rmdir()
    for parent, v2 in _candidate_parents("memory"):
        if v2 and v2_memory is None:  # no memory limit asked for: a v2 cgroup of our own
            path = _new_child(parent)
            if path is not None and (path / "cpu.stat").exists():
                return path
            if path is not None:
                with contextlib.suppress(OSError):
                    path.rmdir()
    return None


def _own_cgroup(controller: str | None) -> str | None:
    """This process's cgroup path for a v1 controller, or the v2 path when None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller is None and controllers == "":
            return path
        if controller is not None and controller in controllers.split(","):
            return path
    return None


def _v2_has(parent: Path, controller: str) -> bool:
    try:
        return controller in (parent / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def _candidate_parents(controller: str) -> list[tuple[Path, bool]]:
    candidates = []
    v2_path = _own_cgroup(None)
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        if v2_path is not None and (mount / "cgroup.controllers").exists():
            parent = mount / v2_path.lstrip("/")
            if _v2_has(parent, controller):
                candidates.append((parent, True))
    v1_path = _own_cgroup(controller)
    if v1_path is not None and (CGROUP_ROOT / controller).is_dir():
        candidates.append((CGROUP_ROOT / controller / v1_path.lstrip("/"), False))
    return candidates


def availability() -> dict[str, bool]:
    """Whether memory, pids and CPU-time cgroups can be made here (`grader doctor`)."""
    cage = MemoryCage.create(1 << 30, 64)
    if cage is None:
        return {"memory": False, "pids": False, "cpu": False}
    try:
        return {"memory": cage.memory_limited, "pids": cage.pids_limited,
                "cpu": cage.cpu_seconds() is not None}
    finally:
        cage.close()
