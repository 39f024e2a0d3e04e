"""Limits for every trusted scorer process, like a run's: memory, CPU time and wall time.

Why: the scorer runs a saved model the run chose, outside the run's sandbox. A 200 KB
untrained model whose first layer is UpSampling2D(9) made it use 11 GB, and a larger
factor takes the machine down. Every scorer process — the one-off scorer of a grading
and the batch's shared service — therefore runs

- in its own memory cgroup of the spec's `memory_mb` (grader.run.cgroups), so the kernel
  stops the scorer and nothing else; where no cgroup can be made, the result says so;
- under RLIMIT_CPU, and per model under a watchdog thread that stops the process at the
  request's wall-clock or CPU budget after writing the verdict as the model's result.

A model that hits a limit gets a one-line verdict as its scoring error, and is never
scored again: the client does not fall back to another scorer for a model that was being
scored when its scorer died (grader.scoring.client).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.files import atomic_write
from grader.processes import die_with_parent
from grader.run.cgroups import MemoryCage

DEFAULT_TIME_SECONDS = 300.0  # one model's scoring, wall clock
STARTUP_CPU_SECONDS = 120  # importing TensorFlow and decoding the images, generously
STARTUP_GRACE_SECONDS = 120.0  # what a client allows a scorer to start in
POLL_SECONDS = 0.2
EXIT_AT_LIMIT = 3  # exit code of a scorer its watchdog stopped (the verdict is written)


@dataclass(frozen=True)
class ScorerLimits:
    """What one scorer process and one model's scoring may use."""

    memory_mb: int | None = 4096
    time_seconds: float = DEFAULT_TIME_SECONDS

    @classmethod
    def of(cls, spec: Any, time_seconds: float = DEFAULT_TIME_SECONDS) -> ScorerLimits:
        """The spec's run memory: a scorer holds TensorFlow, the images and one model,
        which an honest model keeps far below what its training needed."""
        return cls(int(spec.memory_mb) if spec.memory_mb else None, time_seconds)

    @property
    def cpu_seconds(self) -> int:
        """As for a run: TensorFlow's threads on two cores, and a margin."""
        return int(self.time_seconds * 4) + 30


def memory_message(memory_mb: int | None) -> str:
    return f"scoring this model needed more than {memory_mb} MB; the grader stopped it"


def time_message(seconds: float) -> str:
    return f"scoring this model took more than {seconds:g} s; the grader stopped it"


def cpu_message(seconds: float) -> str:
    return (f"scoring this model used more than {seconds:g} s of CPU time; the grader "
            "stopped it")


CRASH_MESSAGE = ("the grader's scorer died while scoring this model (killed or crashed); "
                 "it was not scored again")


class ScorerCage:
    """The cgroup one scorer process runs in, and what the process is told about it."""

    def __init__(self, limits: ScorerLimits) -> None:
        self.limits = limits
        limit = limits.memory_mb * 1024 * 1024 if limits.memory_mb else None
        self.cage = MemoryCage.create(limit) if limit else None

    @property
    def enforced(self) -> bool:
        return self.cage is not None and self.cage.memory_limited

    @property
    def memory_limit(self) -> str:
        """As the run's: "4096 MB (cgroup)", or "none" where no cgroup could be made."""
        return f"{self.limits.memory_mb} MB (cgroup)" if self.enforced else "none"

    def host(self) -> dict[str, Any]:
        """What the scorer writes into each result, and tells a client that begins."""
        path = self.cage.path if self.cage is not None else None
        return {"memory_limit": self.memory_limit, "memory_mb": self.limits.memory_mb,
                "time_seconds": self.limits.time_seconds,
                "cpu_seconds": self.limits.cpu_seconds,
                "cgroup": str(path) if path else None,
                "v2": bool(self.cage.v2) if self.cage is not None else False}

    def preexec(self, cpu_soft: int, cpu_hard: int) -> Callable[[], None]:
        """For Popen: in the child before exec, the CPU limit, no core files, the cgroup
        and death with the grader."""
        cage = self.cage

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_soft, cpu_hard))
            if cage is not None:
                cage.enter()
            die_with_parent(signal.SIGKILL)

        return limit

    def oom_killed(self) -> bool:
        return self.cage is not None and self.cage.exceeded()

    def peak_mb(self) -> int | None:
        """The cgroup's peak memory: what a one-off scorer needed, for the record."""
        return peak_mb(self.host())

    def close(self) -> None:
        if self.cage is not None:
            self.cage.kill_all()
            self.cage.close()


def oom_killed(host: Mapping[str, Any]) -> bool:
    """Whether the kernel killed for memory in the cgroup `host` names (a service's, as
    it said when it began on a model)."""
    cgroup = host.get("cgroup")
    if not isinstance(cgroup, str):
        return False
    return MemoryCage(Path(cgroup), None, bool(host.get("v2"))).exceeded()


def peak_mb(host: Mapping[str, Any]) -> int | None:
    cgroup = host.get("cgroup")
    if not isinstance(cgroup, str):
        return None
    name = "memory.peak" if host.get("v2") else "memory.max_usage_in_bytes"
    try:
        return int(Path(cgroup, name).read_text().split()[0]) // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return None


def death_verdict(host: Mapping[str, Any] | None) -> tuple[str, str]:
    """(limit, message) for a model whose scorer died while scoring it, no result left."""
    if host is not None and oom_killed(host):
        return "memory", memory_message(host.get("memory_mb"))
    return "crash", CRASH_MESSAGE


class RequestWatch:
    """In the scorer, around one model: the model's result is written by `deliver`, or —
    past the wall-clock or CPU budget — the watchdog writes the verdict in its place and
    ends the process, since a running TensorFlow computation cannot be interrupted.
    RLIMIT_CPU is raised to this model's budget, so the kernel stops the process even if
    the watchdog thread never gets to run."""

    def __init__(self, out: Path, time_seconds: float, cpu_seconds: float,
                 host: Mapping[str, Any]) -> None:
        self.out, self.time_seconds, self.cpu_seconds = out, time_seconds, cpu_seconds
        self.host = dict(host)
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> RequestWatch:
        self._started, self._cpu = time.monotonic(), time.process_time()
        _raise_cpu_limit(self.cpu_seconds + 5)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()

    def deliver(self, result: Mapping[str, Any]) -> None:
        with self._lock:
            write_result(self.out, {**result, "limits": self.host})
            self._done.set()

    def _watch(self) -> None:
        while not self._done.wait(POLL_SECONDS):
            if time.monotonic() - self._started > self.time_seconds:
                self._stop("time", time_message(self.time_seconds))
            if time.process_time() - self._cpu > self.cpu_seconds:
                self._stop("cpu", cpu_message(self.cpu_seconds))

    def _stop(self, limit: str, message: str) -> None:
        with self._lock:
            if self._done.is_set():
                return
            write_result(self.out, {"model_loaded": False, "model_error": message,
                                    "scorer_limit": limit, "limits": self.host})
            os._exit(EXIT_AT_LIMIT)


def _raise_cpu_limit(budget: float) -> None:
    """Soft RLIMIT_CPU at what this process used so far plus `budget` (within the hard
    limit its parent set)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + budget) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def write_result(out: Path, result: Mapping[str, Any]) -> None:
    atomic_write(out, json.dumps(result))
