"""Which clock a run's time limit counts: its own CPU time, not the machine's load.

Why: a wall-clock limit punished students for other people's work. With a class graded
at more jobs than cores, or a service at peak hour, an honest answer that trains its 15
epochs ended as a timeout (25/100) where a quiet machine grades it about 80. The CPU time
a run uses is nearly the same however busy the machine is, so the limit counts that: the
run's cgroup (cpu.stat on cgroup v2, cpuacct.usage on v1), and where no cgroup can be
made, the CPU time of every process descended from the run's first one (children that
ended are counted in their parents' totals). The wall clock stays as an outer guard,
3 × the limit + 60 s, for a run that waits without computing (sleep, a blocked read).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

GUARD_FACTOR, GUARD_EXTRA_SECONDS = 3, 60
POLL_SECONDS = 0.25
_TICKS = os.sysconf("SC_CLK_TCK")

CPU_CGROUP, CPU_PROCESSES = "CPU time (cgroup)", "CPU time (processes)"


def wall_guard(limit_seconds: float) -> float:
    return GUARD_FACTOR * limit_seconds + GUARD_EXTRA_SECONDS


@dataclass
class RunClock:
    """Decides, poll by poll, whether a run went over its time: `over()` is "" while it
    may go on, else the one-line reason. `kind` says which clock counted."""

    limit_seconds: float
    cpu: Callable[[], float | None]
    kind: str
    started: float = 0.0
    cpu_used: float = 0.0
    guard_seconds: float = 0.0

    @classmethod
    def for_run(cls, limit_seconds: float, cgroup_cpu: Callable[[], float | None] | None,
                root_pid: int, guard_seconds: float | None = None) -> RunClock:
        guard = guard_seconds or wall_guard(limit_seconds)
        if cgroup_cpu is not None and cgroup_cpu() is not None:
            return cls(limit_seconds, cgroup_cpu, CPU_CGROUP, time.monotonic(), 0.0, guard)
        return cls(limit_seconds, lambda: tree_cpu_seconds(root_pid), CPU_PROCESSES,
                   time.monotonic(), 0.0, guard)

    def over(self) -> str:
        used = self.cpu()
        if used is not None:
            self.cpu_used = max(self.cpu_used, used)
        if self.cpu_used > self.limit_seconds:
            return f"stopped at the {self.limit_seconds:g} s limit on CPU time"
        guard = self.guard_seconds
        if time.monotonic() - self.started > guard:
            return (f"stopped after {guard:g} s of wall-clock time (the outer guard: the "
                    f"run had used {self.cpu_used:.0f} s of its {self.limit_seconds:g} s "
                    "of CPU time, so it was mostly waiting)")
        return ""

    def remaining_wall(self) -> float:
        return self.guard_seconds - (time.monotonic() - self.started)


def tree_cpu_seconds(root_pid: int) -> float | None:
    """User + system time of `root_pid` and every process below it, including the
    children each has waited for; None once the root is gone."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        try:
            pid, parent = int(entry), int(fields[1])
            times[pid] = sum(int(v) for v in fields[11:15]) / _TICKS
        except (IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(pid)
    if root_pid not in times:
        return None
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += children.get(pid, [])
    return total
