"""Run one command for one submission, isolated, limited, with bounded output capture.

The sandbox is bubblewrap's (grader.run.bwrap says what the run sees and as whom);
started cold, or forked warm from a zygote (grader.run.warm). Without bubblewrap the run
is a plain process group with rlimits: the result then records sandbox "none" and the
console says so. Every limit is watched here, and the outcome names the one that acted.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.exercise.spec import ExerciseSpec
from grader.processes import die_with_parent
from grader.processes import libc as load_libc
from grader.run import seccomp
from grader.run.bwrap import (
    SANDBOX_UID,
    _is_root,
    bubblewrap_command,
    bubblewrap_works,
    hand_over,
    sandbox_python_paths,
)
from grader.run.cgroups import MemoryCage
from grader.run.clock import POLL_SECONDS, RunClock
from grader.run.diskwatch import DiskWatch
from grader.run.output import Tail, render_terminal
from grader.run.stage import RUN_ROOT_IN_SANDBOX
from grader.run.warm import HOLDER, WarmProcess, Zygote
from grader.run.warm import start as start_warm

__all__ = ["RUN_ROOT_IN_SANDBOX", "SANDBOX_UID", "RunLimits", "RunOutcome",
           "bubblewrap_command", "bubblewrap_works", "hand_over", "render_terminal", "run",
           "sandbox_python_paths"]


@dataclass(frozen=True)
class RunLimits:
    """Everything that bounds one run, from the exercise spec's [limits] table.

    max_processes counts processes *and threads* (TensorFlow starts a few dozen; see
    docs/security.md for the measurement). disk_mb bounds what the run adds to its
    folder (its /tmp included); file_size_mb bounds any one file it writes.
    """

    time_seconds: float = 600
    memory_mb: int | None = None
    output_tail_bytes: int = 4096
    max_processes: int | None = 512
    file_size_mb: int | None = 1024
    disk_mb: int | None = 2048
    max_files: int | None = 100_000
    disk_poll_seconds: float = 0.1
    wall_guard_seconds: float | None = None  # default 3 × time_seconds + 60 (grader.run.clock)

    @classmethod
    def of(cls, spec: ExerciseSpec, time_limit: float | None = None) -> RunLimits:
        """The spec's limits; `time_limit` (--time-limit) overrides its time."""
        return cls(time_seconds=time_limit or spec.time_seconds, memory_mb=spec.memory_mb,
                   output_tail_bytes=spec.output_tail_bytes,
                   max_processes=spec.max_processes, file_size_mb=spec.file_size_mb,
                   disk_mb=spec.disk_mb)


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "finished" | "timeout" | "crashed" | "out_of_memory"
    seconds: float
    stdout_tail: str
    stderr_tail: str
    output_bytes: int
    sandbox: str  # "bubblewrap" | "none"
    message: str = ""
    memory_limit: str = "none"  # "4096 MB (cgroup)" or "none" where no cgroup could be made
    time_limit: str = ""  # "600 s of CPU time (cgroup)": which clock the limit counted
    cpu_seconds: float = 0.0  # the CPU time the run used, as that clock counted it
    start: str = "cold"  # "warm": forked from a zygote (grader.run.warm); "cold": started


def _rlimits(cpu_seconds: int, cage: MemoryCage | None,
             limits: RunLimits) -> dict[str, tuple[int, int]]:
    """The run's rlimits by name, for a cold start's preexec and a warm hand-in alike."""
    rlimits = {"RLIMIT_CORE": (0, 0), "RLIMIT_CPU": (cpu_seconds, cpu_seconds + 5)}
    if limits.file_size_mb:
        size = limits.file_size_mb * 1024 * 1024
        rlimits["RLIMIT_FSIZE"] = (size, size)
    if limits.max_processes and not (cage and cage.pids_limited):
        # not enforced for root, so only a backstop for the sandbox uid; counts every
        # process of that uid on the machine, hence the cgroup is preferred
        rlimits["RLIMIT_NPROC"] = (limits.max_processes,) * 2
    return rlimits


def _limits(cpu_seconds: int, cage: MemoryCage | None, limits: RunLimits,
            libc: Any) -> None:
    """In the child before exec: rlimits, the cgroups, and death with the grader."""
    for name, pair in _rlimits(cpu_seconds, cage, limits).items():
        resource.setrlimit(getattr(resource, name), pair)
    if cage is not None:
        cage.enter()
    die_with_parent(signal.SIGKILL, libc)


def run(run_dir: Path, command: Sequence[str], env: Mapping[str, str], workdir: str,
        limits: RunLimits, use_bubblewrap: bool, pass_fds: Sequence[int] = (),
        warm: Zygote | None = None) -> RunOutcome:
    """Run `command`, killing everything it started at the time limit or when it goes
    over another limit; the outcome says which limit stopped it. `pass_fds` stay open in
    the run (bubblewrap passes them through): the write end of the event stream. With a
    zygote (grader.run.warm) and bubblewrap, the run is forked from it into a sandbox of
    its own, TensorFlow already imported; the limits count from that hand-in."""
    memory_mb, tail_bytes = limits.memory_mb, limits.output_tail_bytes
    if use_bubblewrap and _is_root():
        hand_over(run_dir)
    cage = MemoryCage.create(memory_mb * 1024 * 1024 if memory_mb else None,
                             limits.max_processes)
    memory_limit = f"{memory_mb} MB (cgroup)" if cage and cage.memory_limited else "none"
    sandbox_name = "bubblewrap" if use_bubblewrap else "none"
    started = time.monotonic()
    try:
        process, start = _start(run_dir, command, env, workdir, limits, use_bubblewrap,
                                pass_fds, cage, warm)
    except (OSError, subprocess.SubprocessError) as exc:
        if cage:
            cage.close()
        return RunOutcome("crashed", 0.0, "", "", 0, sandbox_name,
                          f"could not start the run: {exc}", memory_limit)

    def stop() -> None:
        _kill_group(process, wait=False)
        if cage:
            cage.kill_all()

    stdout, stderr = Tail(tail_bytes), Tail(tail_bytes)
    readers = [threading.Thread(target=tail.feed, args=(pipe,), daemon=True)
               for tail, pipe in ((stdout, process.stdout), (stderr, process.stderr))]
    for reader in readers:
        reader.start()
    watch = DiskWatch(run_dir, limits.disk_mb, limits.max_files,
                      limits.disk_poll_seconds, stop)
    watch.start()
    clock = RunClock.for_run(limits.time_seconds, cage.cpu_seconds if cage else None,
                             process.pid, limits.wall_guard_seconds)
    status, message = "finished", ""
    try:
        while True:
            try:
                process.wait(timeout=max(0.01, min(POLL_SECONDS, clock.remaining_wall())))
                break
            except subprocess.TimeoutExpired:
                if reason := clock.over():
                    status, message = "timeout", reason
                    break
    finally:
        watch.close()
        _kill_group(process)
        if cage:
            cage.kill_all()
        clock.over()  # the CPU time of the whole run, for the record
    for reader in readers:
        reader.join(timeout=5)
    out_of_memory = cage is not None and cage.exceeded()
    refused = cage.pids_refused() if cage else 0
    if cage:
        cage.close()
    status, message = _verdict(status, message, process.returncode, use_bubblewrap,
                               watch.message, out_of_memory, refused, limits)
    if getattr(process, "error", ""):
        message = f"the warm runner could not start the run: {process.error}"
    return RunOutcome(status, round(time.monotonic() - started, 3), stdout.text(),
                      stderr.text(), stdout.total + stderr.total, sandbox_name, message,
                      memory_limit, time_limit=f"{limits.time_seconds:g} s of {clock.kind}",
                      cpu_seconds=round(clock.cpu_used, 2), start=start)


def _start(run_dir: Path, command: Sequence[str], env: Mapping[str, str], workdir: str,
           limits: RunLimits, use_bubblewrap: bool, pass_fds: Sequence[int],
           cage: MemoryCage | None, warm: Zygote | None) -> tuple[Any, str]:
    """The run's process, warm where a zygote and CPU accounting are at hand (a holder
    that would not come up falls back to a cold start), and which start it was."""
    cpu_seconds = int(limits.time_seconds * 4) + 30  # a per-process backstop only
    if warm is not None and use_bubblewrap and cage is not None \
            and cage.cpu_seconds() is not None:
        python = sandbox_python_paths()
        holder = bubblewrap_command(run_dir, HOLDER, {}, workdir)
        try:
            return start_warm(warm, holder, [python.inside(a) for a in command],
                              python.environment(dict(env)), workdir,
                              _rlimits(cpu_seconds, cage, limits), cage, pass_fds,
                              SANDBOX_UID), "warm"
        except OSError:
            pass
    libc = load_libc()
    with seccomp.filter_fd() as filter_fd:
        if not use_bubblewrap:
            argv, filter_fds = list(command), ()
        else:
            argv = bubblewrap_command(run_dir, command, env, workdir, seccomp_fd=filter_fd)
            filter_fds = () if filter_fd is None else (filter_fd,)
        # bwrap gets no environment of the grader's: its init process (pid 1 in the
        # sandbox) would show it in /proc/1/environ.
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   pass_fds=(*pass_fds, *filter_fds),
                                   stderr=subprocess.PIPE, start_new_session=True,
                                   cwd=None if use_bubblewrap else workdir,
                                   env={"PATH": "/usr/bin:/bin"} if use_bubblewrap
                                   else dict(env),
                                   preexec_fn=lambda: _limits(cpu_seconds, cage, limits,
                                                              libc))
    return process, "cold"


def _verdict(status: str, message: str, code: int | None, use_bubblewrap: bool,
             disk_message: str, out_of_memory: bool, refused: int,
             limits: RunLimits) -> tuple[str, str]:
    """What stopped the run, in one status and one line: the last limit that acted wins
    (memory over disk over a crash), and a refused process start is named beside it."""
    if status == "finished" and code not in (0, None):
        status = "crashed"
        # bwrap reports a command killed by signal N as exit code 128 + N
        signal_number = -code if code < 0 else code - 128 \
            if use_bubblewrap and 128 < code < 128 + signal.NSIG else None
        message = (f"the run was killed by signal {signal_number}" if signal_number
                   else f"the run exited with code {code}")
    if disk_message:
        status, message = "crashed", disk_message
    if out_of_memory:
        status = "out_of_memory"
        message = f"the run went over its {limits.memory_mb} MB memory limit and was killed" \
            + (f" ({message})" if message else "")
    if refused and status != "finished":
        message += (f"; {refused} process/thread start(s) were refused at the limit of "
                    f"{limits.max_processes}")
    return status, message


def _kill_group(process: Any, wait: bool = True) -> None:
    """Kill everything the run started (kernels, shells), not just the direct child."""
    if isinstance(process, WarmProcess):
        if wait:
            process.release()
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if wait:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
