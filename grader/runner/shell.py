"""Notebook cells run in an IPython shell in a child process, without a Jupyter kernel.

Why: a kernel costs about 3 s per notebook (a process that imports ipykernel and ZMQ,
then nbclient's handshakes and a message round-trip per output), 40 % of the reference
notebook's own run. An `InteractiveShell` runs the same cells with the same IPython
semantics that course notebooks rely on — `!wget` shell escapes, `%matplotlib` magics,
`get_ipython()`, `display()` — and starts in a few tenths of a second.

It is still a separate process, for the same reason a kernel is one: the lessons end with
a cell that SIGKILLs its own process, and a cell that crashes the interpreter must not take
the driver (which records what ran) with it. The driver sends one JSON line per cell on a
pipe and reads one JSON reply per cell on another; the cells' output goes straight to the
run's stdout/stderr, which the trusted side captures with its own byte cap.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from grader.runner.contract import EVENTS_FD_ENV, RunConfig

TRUNCATION_MARKER = "\n[grader: output truncated here: the run printed more than {limit} bytes]\n"


class _CappedStream:
    """sys.stdout/sys.stderr of the shell: past a byte budget shared by both, one visible
    marker is written and the rest is dropped, so a cell printing without end costs
    neither memory nor megabytes of captured output."""

    def __init__(self, stream: Any, budget: list[int], limit: int) -> None:
        self._stream, self._budget, self._limit = stream, budget, limit

    def write(self, text: str) -> int:
        if self._budget[0] <= 0:
            return len(text)
        self._budget[0] -= len(text)
        if self._budget[0] <= 0:
            self._stream.write(TRUNCATION_MARKER.format(limit=self._limit))
        else:
            self._stream.write(text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class DeadShell(RuntimeError):
    """The shell process died while running a cell (or before replying)."""


class ShellClient:
    """The driver's side: start the shell, run cells, stop it."""

    def __init__(self, config_path: str, workdir: str) -> None:
        import subprocess

        command_read, self._command_write = os.pipe()
        self._reply_read, reply_write = os.pipe()
        events_fd = os.environ.get(EVENTS_FD_ENV, "")  # the shell records the trace
        argv = [sys.executable, "-m", "grader.runner.shell", config_path, str(command_read),
                str(reply_write)]
        if "tensorflow" in sys.modules:  # a warm run (grader.runner.zygote): fork, no import
            self.process: Any = _ForkedShell(argv, workdir, (self._command_write,
                                                              self._reply_read))
        else:
            self.process = subprocess.Popen(
                argv, cwd=workdir, stdin=subprocess.DEVNULL,
                pass_fds=(command_read, reply_write, *([int(events_fd)]
                                                       if events_fd.isdigit() else [])))
        os.close(command_read)
        os.close(reply_write)
        self._commands = os.fdopen(self._command_write, "w", encoding="utf-8")
        self._replies = os.fdopen(self._reply_read, "r", encoding="utf-8")

    def run(self, source: str) -> dict[str, Any]:
        """Run one cell; {"ok": bool, "ename", "evalue"}. DeadShell if the process died."""
        try:
            self._commands.write(json.dumps({"source": source}) + "\n")
            self._commands.flush()
        except (BrokenPipeError, OSError):
            raise DeadShell("the shell process is gone") from None
        line = self._replies.readline()
        if not line:
            self.process.wait()
            raise DeadShell(f"the shell process died (exit {self.process.returncode})")
        return json.loads(line)

    def close(self) -> None:
        for stream in (self._commands, self._replies):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self.process.wait(timeout=10)
        except Exception:  # noqa: BLE001 - a shell that does not leave is killed
            self.process.kill()
            self.process.wait()


class _ForkedShell:
    """The shell as a fork of a warm run's driver, which has TensorFlow imported but has
    run no student code: the Popen calls ShellClient makes, on a forked child."""

    def __init__(self, argv: list[str], workdir: str, driver_ends: tuple[int, ...]) -> None:
        self.returncode: int | None = None
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:
            status = 1
            try:
                for fd in driver_ends:
                    os.close(fd)
                os.chdir(workdir)
                stdin = os.open(os.devnull, os.O_RDONLY)
                os.dup2(stdin, 0)
                os.close(stdin)
                sys.argv = [os.path.abspath(__file__), *argv[3:]]
                status = serve(argv[3], int(argv[4]), int(argv[5]))
            finally:
                os._exit(status)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import subprocess
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("shell", timeout or 0)
            time.sleep(0.01)
        return self.returncode  # type: ignore[return-value]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, 9)


def _error_of(result: Any) -> dict[str, Any]:
    error = result.error_in_exec or result.error_before_exec
    if error is None:
        return {"ok": True}
    return {"ok": False, "ename": type(error).__name__, "evalue": str(error)[:1000]}


def serve(config_path: str, command_fd: int, reply_fd: int) -> int:
    """The shell process: one InteractiveShell, cells in order, until the pipe closes."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class GradingShell(InteractiveShell):
        def enable_gui(self, gui: str | None = None) -> None:
            """No event loop to hook into: `%matplotlib inline` needs none, and a GUI
            backend has no screen here (as in a kernel on a server)."""

    limit = RunConfig.load(config_path).output_limit_bytes
    budget = [limit]
    sys.stdout = _CappedStream(sys.stdout, budget, limit)
    sys.stderr = _CappedStream(sys.stderr, budget, limit)
    config = Config()
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "NoColor"
    config.InteractiveShell.autoindent = False
    shell = GradingShell.instance(config=config)
    commands = os.fdopen(command_fd, "r", encoding="utf-8")
    replies = os.fdopen(reply_fd, "w", encoding="utf-8")
    for line in commands:
        source = json.loads(line)["source"]
        result = shell.run_cell(source, store_history=True)
        sys.stdout.flush()
        sys.stderr.flush()
        replies.write(json.dumps(_error_of(result)) + "\n")
        replies.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    # everything is in the artefacts: skip TensorFlow's slow interpreter teardown
    os._exit(0)


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
