"""A memory cgroup for one run, so the kernel stops a greedy submission and not the grader.

An address-space rlimit is no memory limit for TensorFlow: oneDNN and thread stacks
reserve far more address space than they use, and a 4 GB cap broke real submissions
(a 300×300 model failed inside MKL). A cgroup limits what is actually resident. Works
with cgroup v2 (memory.max) and v1 (memory.limit_in_bytes) where the grader may create a
child of its own cgroup; elsewhere there is no memory limit and the result says so.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass
class MemoryCage:
    path: Path
    limit_bytes: int
    v2: bool

    @classmethod
    def create(cls, limit_bytes: int) -> MemoryCage | None:
        for parent, v2 in _candidate_parents():
            path = parent / f"grader-run-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            try:
                path.mkdir()
            except OSError:
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
            return cls(path, limit_bytes, v2)
        return None

    def enter(self) -> None:
        """Called in the child before exec: it and all it starts are inside the cage."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def exceeded(self) -> bool:
        """Whether the kernel had to kill something in here for memory."""
        try:
            events = (self.path / ("memory.events" if self.v2 else "memory.oom_control"))
            for line in events.read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            return False
        return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


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


def _candidate_parents() -> list[tuple[Path, bool]]:
    candidates = []
    v2_path = _own_cgroup(None)
    for mount in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        if v2_path is not None and (mount / "cgroup.controllers").exists():
            parent = mount / v2_path.lstrip("/")
            try:
                if "memory" in (parent / "cgroup.subtree_control").read_text().split():
                    candidates.append((parent, True))
            except OSError:
                pass
    v1_path = _own_cgroup("memory")
    if v1_path is not None and (CGROUP_ROOT / "memory").is_dir():
        candidates.append((CGROUP_ROOT / "memory" / v1_path.lstrip("/"), False))
    return candidates
