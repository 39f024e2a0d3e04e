"""Cgroups for one run — memory and process count — so the kernel stops a greedy submission
and not the grader.

An address-space rlimit is no memory limit for TensorFlow: oneDNN and thread stacks
reserve far more address space than they use, and a 4 GB cap broke real submissions
(a 300×300 model failed inside MKL). A cgroup limits what is actually resident. Works
with cgroup v2 (memory.max) and v1 (memory.limit_in_bytes) where the grader may create a
child of its own cgroup; elsewhere there is no memory limit and the result says so.

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
        if memory is None and pids is None:
            return None
        return cls(memory, limit_bytes if memory else None, v2, pids,
                   max_pids if pids else None)

    @property
    def memory_limited(self) -> bool:
        return self.path is not None

    @property
    def pids_limited(self) -> bool:
        return self.pids_path is not None

    def _paths(self) -> list[Path]:
        return list(dict.fromkeys(p for p in (self.path, self.pids_path) if p is not None))

    def enter(self) -> None:
        """Called in the child before exec: it and all it starts are inside the cage."""
        for path in self._paths():
            (path / "cgroup.procs").write_text(str(os.getpid()))

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
            if not v2:  # no swap to spill into either, where the kernel allows it
                with contextlib.suppress(OSError):
                    (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
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
    """Whether a memory and a pids cgroup can be made here (for `grader doctor`)."""
    cage = MemoryCage.create(1 << 30, 64)
    if cage is None:
        return {"memory": False, "pids": False}
    try:
        return {"memory": cage.memory_limited, "pids": cage.pids_limited}
    finally:
        cage.close()
