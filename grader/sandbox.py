"""Run one command for one submission, isolated, time-limited, with bounded output capture.

bubblewrap gives the run its own mount, PID, network, IPC and user namespaces: it sees
the system read-only, the Python installation, the grader's runner package, and its own
run folder (also mounted as /tmp) — never the hidden split, other submissions or the
grader's outputs. Without bubblewrap the run is a plain process group with rlimits: the
result then records sandbox "none" and the console says so.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.memlimit import MemoryCage

RUN_ROOT_IN_SANDBOX = "/grader/run"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc")


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "finished" | "timeout" | "crashed" | "out_of_memory"
    exit_code: int | None
    seconds: float
    stdout_tail: str
    stderr_tail: str
    output_bytes: int
    sandbox: str  # "bubblewrap" | "none"
    message: str = ""
    memory_limit: str = "none"  # "4096 MB (cgroup)" or "none" where no cgroup could be made


@functools.cache
def bubblewrap_works() -> bool:
    """True when bwrap exists and user namespaces let it start (not so in some containers)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    try:
        probe = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "--unshare-user",
                                "--die-with-parent", "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _python_paths() -> list[str]:
    """What the runner needs to start Python and import the grader's runner package."""
    import grader

    paths = {sys.prefix, sys.base_prefix, str(Path(grader.__file__).parent)}
    paths.update(p for p in sys.path if p and Path(p).is_dir() and "site-packages" in p)
    return sorted(paths)


def bubblewrap_command(run_dir: Path, command: Sequence[str], env: Mapping[str, str],
                       workdir: str) -> list[str]:
    argv = ["bwrap", "--die-with-parent", "--new-session", "--unshare-all", "--unshare-user",
            "--uid", "1000", "--gid", "1000", "--hostname", "grader",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/run"]
    # /tmp first: Python or the grader may live under /tmp (a CI clone), and a later
    # mount of /tmp would hide them.
    argv += ["--bind", str(run_dir / "tmp"), "/tmp",
             "--bind", str(run_dir), RUN_ROOT_IN_SANDBOX]
    for directory in _SYSTEM_DIRS:
        argv += ["--ro-bind-try", directory, directory]
    for path in _python_paths():
        argv += ["--ro-bind", path, path]
    argv += ["--chdir", workdir, "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv + list(command)


class _Tail:
    """Keeps the last `limit` bytes of a stream and counts all of it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.total = 0

    def feed(self, stream: object) -> None:
        while chunk := stream.read1(65536):  # type: ignore[attr-defined]
            self.total += len(chunk)
            self.buffer += chunk
            if len(self.buffer) > 128 * self.limit:
                del self.buffer[: -64 * self.limit]

    def text(self) -> str:
        shown = render_terminal(bytes(self.buffer).decode("utf-8", "replace"))
        if self.total > len(self.buffer) or len(shown) > self.limit:
            return "[… earlier output not kept]\n" + shown[-self.limit:]
        return shown


def render_terminal(text: str) -> str:
    """What a terminal would show: progress bars redrawn with \\r and \\b collapse to their
    last state, colour codes dropped. Keeps the kept tail about the run, not the bars."""
    lines = []
    for line in _ANSI.sub("", text).split("\n"):
        line = line.rstrip("\r").rsplit("\r", 1)[-1]
        if "\b" in line:
            kept: list[str] = []
            for char in line:
                if char == "\b":
                    if kept:
                        kept.pop()
                else:
                    kept.append(char)
            line = "".join(kept)
        lines.append(line)
    return "\n".join(lines)


def _limits(cpu_seconds: int, cage: MemoryCage | None) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    if cage is not None:
        cage.enter()


def run(run_dir: Path, command: Sequence[str], env: Mapping[str, str], workdir: str,
        time_limit: float, tail_bytes: int, use_bubblewrap: bool,
        memory_mb: int | None = None) -> RunOutcome:
    """Run `command`, killing its whole process group at `time_limit` seconds."""
    argv = bubblewrap_command(run_dir, command, env, workdir) if use_bubblewrap \
        else list(command)
    cpu_seconds = int(time_limit * 4) + 30  # 2 cores and a kernel process: a generous cap
    cage = MemoryCage.create(memory_mb * 1024 * 1024) if memory_mb else None
    memory_limit = f"{memory_mb} MB (cgroup)" if cage else "none"
    started = time.monotonic()
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, start_new_session=True,
                                   cwd=None if use_bubblewrap else workdir,
                                   env=None if use_bubblewrap else dict(env),
                                   preexec_fn=lambda: _limits(cpu_seconds, cage))
    except (OSError, subprocess.SubprocessError) as exc:
        if cage:
            cage.close()
        return RunOutcome("crashed", None, 0.0, "", "", 0,
                          "bubblewrap" if use_bubblewrap else "none",
                          f"could not start the run: {exc}", memory_limit)
    stdout, stderr = _Tail(tail_bytes), _Tail(tail_bytes)
    readers = [threading.Thread(target=tail.feed, args=(pipe,), daemon=True)
               for tail, pipe in ((stdout, process.stdout), (stderr, process.stderr))]
    for reader in readers:
        reader.start()
    status, message = "finished", ""
    try:
        process.wait(timeout=time_limit)
    except subprocess.TimeoutExpired:
        status, message = "timeout", f"stopped after the {time_limit:.0f} s time limit"
    finally:
        _kill_group(process)
    for reader in readers:
        reader.join(timeout=5)
    code = process.returncode
    out_of_memory = cage is not None and cage.exceeded()
    if cage:
        cage.close()
    if status == "finished" and code not in (0, None):
        status = "crashed"
        message = (f"the run was killed by signal {-code}" if code < 0
                   else f"the run exited with code {code}")
    if out_of_memory:
        status = "out_of_memory"
        message = f"the run went over its {memory_mb} MB memory limit and was killed" \
            + (f" ({message})" if message else "")
    return RunOutcome(status, code, round(time.monotonic() - started, 3), stdout.text(),
                      stderr.text(), stdout.total + stderr.total,
                      "bubblewrap" if use_bubblewrap else "none", message, memory_limit)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill everything the run started (kernels, shells), not just the direct child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
