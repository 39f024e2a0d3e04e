"""Warm runs: a fresh sandbox per submission, TensorFlow already imported.

How (docs/architecture.md, "Warm runs", has the measurements behind the choice):

- Each grading process keeps one *zygote* per thread setting: `python -m
  grader.runner.zygote` in a bubblewrap sandbox with a run's mounts and environment,
  which imports TensorFlow, Keras, NumPy, Pillow and IPython once and then only forks.
  It never runs student code and never sees a submission: it receives one descriptor per
  hand-in and forks; the child reads the hand-in from that descriptor.
- Each run still gets its own sandbox, built by bubblewrap exactly as a cold run's: a
  *holder* (`sleep` under bwrap, the run's namespaces, mounts, uid and /proc) is started
  per submission. The zygote's child joins the holder's namespaces, enters the run's
  cgroups, and forks the student's process inside them (grader.runner.zygote).
- Killing the holder ends the run: bubblewrap's PID 1 takes the PID namespace, and every
  process the student started in it, down with it; the run's cgroup is emptied as well.

Why a fork server and not a pre-started sandbox per submission: a pre-started sandbox
still imports TensorFlow once per submission, so a class costs the same CPU; the fork
pays it once per worker (measured in docs/performance.md). Why the zygote itself runs in
a sandbox: the modules it imports must have the paths a run sees (/grader/venv...), or
the lazy imports TensorFlow makes later would look for host paths the run cannot see.

Only where the grader runs as root (joining namespaces needs CAP_SYS_ADMIN over them; an
unprivileged grader's sandboxes live in user namespaces the zygote cannot enter) and
bubblewrap works. Anywhere else, or with `--cold`, a run starts Python as before.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from grader.processes import die_with_parent
from grader.run import bwrap, seccomp, stage
from grader.run.cgroups import MemoryCage

COLD_ENV = "GRADER_COLD"  # "1": every run starts Python itself (the --cold option sets it)
HOLDER = ["/bin/sh", "-c", "echo ready; exec sleep 2147483647"]
START_SECONDS = 300  # a zygote that has not imported TensorFlow by then is given up
HOLDER_SECONDS = 60  # bubblewrap builds a holder in tens of milliseconds
NAMESPACES = ("ipc", "uts", "net", "cgroup", "pid", "mnt")  # grader.runner.zygote's order


def disabled_reason() -> str:
    """Why warm runs cannot be used here, or "" when they can."""
    if os.environ.get(COLD_ENV) == "1":
        return "--cold was given"
    if os.geteuid() != 0:
        return ("the grader does not run as root: joining a run's namespaces needs "
                "CAP_SYS_ADMIN over them, which an unprivileged grader does not have")
    if not bwrap.bubblewrap_works():
        return "bubblewrap cannot build a sandbox here"
    if not all(Path(f"/proc/self/ns/{name}").exists() for name in NAMESPACES):
        return "this kernel does not show every namespace a run needs in /proc/self/ns"
    return ""


class Zygote:
    """One fork server and the socket the grader talks to it on."""

    def __init__(self, threads: int) -> None:
        _sweep()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{_FOLDER_PREFIX}{os.getpid()}-"))
        for name in ("tmp", "home", "work"):
            (self.folder / name).mkdir()

        def inside(path: Path) -> str:
            return f"{stage.RUN_ROOT_IN_SANDBOX}/{path.relative_to(self.folder).as_posix()}"

        env = stage.environment(inside, self.folder, threads)
        self.control, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # a file, not a pipe nobody reads: the zygote's own messages (TensorFlow's import
        # banner) must never block it
        self.log = self.folder / "zygote.log"
        # under the runs' seccomp filter: every run is a fork of the zygote's and keeps it
        with seccomp.filter_fd() as filter_fd, self.log.open("wb") as log:
            argv = bwrap.bubblewrap_command(
                self.folder, [sys.executable, "-m", "grader.runner.zygote",
                              str(zygote_end.fileno())],
                env, inside(self.folder / "work"), zygote=True, seccomp_fd=filter_fd)
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                pass_fds=(zygote_end.fileno(),
                          *(() if filter_fd is None else (filter_fd,))),
                start_new_session=True, env={"PATH": "/usr/bin:/bin"},
                preexec_fn=die_with_parent)
        zygote_end.close()
        ready, _, _ = select.select([self.control], [], [], START_SECONDS)
        answer = self.control.recv(64) if ready else b""
        if answer != b"ready":
            errors = self._stop_and_read_errors()
            raise OSError(f"the warm runner did not start: {errors or 'no answer'}")
        # the zygote has imported all it will: its folder is not needed any more, and a
        # worker that ends with os._exit (a batch's) must not leave it behind
        shutil.rmtree(self.folder, ignore_errors=True)
        self.lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self) -> socket.socket:
        """A socket to a fresh child of the zygote, which waits there for its hand-in."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self.lock:
                socket.send_fds(self.control, [b"f"], [theirs.fileno()])
        finally:
            theirs.close()
        return ours

    def _stop_and_read_errors(self) -> str:
        self.close(keep_folder=True)
        try:
            with self.log.open("rb") as log:
                log.seek(max(0, self.log.stat().st_size - 4096))
                lines = log.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            lines = []
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
        return lines[-1] if lines else ""

    def close(self, keep_folder: bool = False) -> None:
        self.control.close()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if not keep_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


_FOLDER_PREFIX = "grader-zygote-"


def _sweep() -> None:
    """Folders of zygotes whose grader was killed (its pid is gone)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_FOLDER_PREFIX}*"):
        owner = folder.name[len(_FOLDER_PREFIX):].split("-", 1)[0]
        if owner.isdigit() and not Path(f"/proc/{owner}").exists():
            shutil.rmtree(folder, ignore_errors=True)


_ZYGOTES: dict[tuple[int, str], Zygote] = {}
_FAILED: dict[tuple[int, str], str] = {}
_LOCK = threading.Lock()


def zygote(threads: int) -> Zygote | None:
    """This process's zygote for `threads`, started on first use and again when it died
    or the installation it was started from changed; None where warm runs cannot be
    used or the zygote would not start (runs are then cold, as they always were)."""
    if disabled_reason():
        return None
    key = (threads, repr(bwrap.sandbox_python_paths()))
    with _LOCK:
        if key in _FAILED:
            return None
        current = _ZYGOTES.get(key)
        if current is not None and current.alive():
            return current
        for old_key, old in list(_ZYGOTES.items()):
            if old_key[0] == threads:  # dead, or started from an older installation
                old.close()
                del _ZYGOTES[old_key]
        try:
            _ZYGOTES[key] = Zygote(threads)
        except OSError as exc:
            _FAILED[key] = str(exc)
            return None
        return _ZYGOTES[key]


def failure() -> str:
    """Why the last zygote of this process would not start, or ""."""
    return next(iter(_FAILED.values()), "")


@atexit.register
def close_all() -> None:
    with _LOCK:
        for item in _ZYGOTES.values():
            item.close()
        _ZYGOTES.clear()


class WarmProcess:
    """The Popen-like handle of a warm run: its holder is the process group to kill, the
    zygote's child says how the student's process ended."""

    def __init__(self, holder: subprocess.Popen[bytes], conn: socket.socket,
                 stdout: object, stderr: object) -> None:
        self.holder, self.conn = holder, conn
        self.pid = holder.pid
        self.stdout, self.stderr = stdout, stderr
        self.returncode: int | None = None
        self.error = ""  # why the zygote's child could not start the run, if it could not

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            ready, _, _ = select.select([self.conn], [], [], timeout)
            if not ready:
                raise subprocess.TimeoutExpired("warm run", timeout or 0)
            try:
                answer = json.loads(self.conn.recv(65536) or b'{"exit": -9}')
                code = int(answer["exit"])
                self.error = str(answer.get("error", ""))[:500]
            except (OSError, ValueError, KeyError, TypeError):
                code = -signal.SIGKILL
            self.returncode = code
        return self.returncode

    def release(self) -> None:
        """Take the run's sandbox down (everything left in its PID namespace dies)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.holder.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.holder.wait(timeout=10)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.wait(timeout=10)
        self.conn.close()


def start(server: Zygote, holder_argv: list[str], command: Sequence[str],
          env: Mapping[str, str], workdir: str, rlimits: dict[str, tuple[int, int]],
          cage: MemoryCage | None, pass_fds: Sequence[int], uid: int) -> WarmProcess:
    """Build the run's sandbox (the holder), hand the run to a fresh child of the
    zygote and return at once; OSError when the sandbox could not be built."""
    if command[1:2] != ["-m"] or len(command) < 3:
        raise OSError(f"a warm run starts a module (python -m …), not {command[:2]}")
    info_read, info_write = os.pipe()
    holder = subprocess.Popen(
        [holder_argv[0], "--info-fd", str(info_write), *holder_argv[1:]],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        pass_fds=(info_write,), start_new_session=True, env={"PATH": "/usr/bin:/bin"},
        preexec_fn=die_with_parent)
    os.close(info_write)
    opened: list[int] = []
    try:
        namespace_root = _child_pid(info_read, holder)
        _await_ready(holder)
        names = [n for n in NAMESPACES if not _same_as_ours(namespace_root, n)]
        opened += [os.open(f"/proc/{namespace_root}/ns/{n}", os.O_RDONLY) for n in names]
        groups = [os.open(path, os.O_WRONLY) for path in cage.procs_files()] if cage else []
        opened += groups
        stdout_read, stdout_write = os.pipe()
        stderr_read, stderr_write = os.pipe()
        opened += [stdout_write, stderr_write]
        hand_in = {"namespaces": names, "cgroups": len(groups), "uid": uid,
                   "workdir": workdir, "env": dict(env), "argv": list(command[2:]),
                   "pass_fds": list(pass_fds),
                   "rlimits": {name: list(pair) for name, pair in rlimits.items()}}
        conn = server.fork()
        try:
            socket.send_fds(conn, [json.dumps(hand_in).encode()],
                            [*opened[:len(names) + len(groups)], stdout_write, stderr_write,
                             *pass_fds])
            _await_entered(conn)
        except OSError:
            conn.close()
            raise
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        raise
    finally:
        os.close(info_read)
        for fd in opened:
            os.close(fd)
    return WarmProcess(holder, conn, open(stdout_read, "rb"), open(stderr_read, "rb"))


def _child_pid(info_read: int, holder: subprocess.Popen[bytes]) -> int:
    """bubblewrap's --info-fd JSON: the host PID of the sandbox's PID 1."""
    text = b""
    deadline = time.monotonic() + HOLDER_SECONDS
    while b"}" not in text and time.monotonic() < deadline:
        ready, _, _ = select.select([info_read], [], [], 1)
        if ready:
            chunk = os.read(info_read, 4096)
            if not chunk:
                break
            text += chunk
    try:
        return int(json.loads(text)["child-pid"])
    except (ValueError, KeyError, TypeError):
        raise OSError(f"bubblewrap did not build the run's sandbox (exit "
                      f"{holder.poll()})") from None


def _await_entered(conn: socket.socket) -> None:
    """The zygote's child has joined the run's sandbox and started the student's process;
    anything else is the grader's failure, not the run's (the caller starts it cold)."""
    ready, _, _ = select.select([conn], [], [], HOLDER_SECONDS)
    answer = conn.recv(65536) if ready else b""
    try:
        message = json.loads(answer)
    except ValueError:
        message = {}
    if not isinstance(message, dict) or message.get("entered") is not True:
        reason = message.get("error") if isinstance(message, dict) else None
        raise OSError(f"the warm runner could not enter the run's sandbox: "
                      f"{reason or 'no answer'}")


def _await_ready(holder: subprocess.Popen[bytes]) -> None:
    """The holder's first line: bubblewrap has finished the mounts."""
    assert holder.stdout is not None
    ready, _, _ = select.select([holder.stdout], [], [], HOLDER_SECONDS)
    line = holder.stdout.readline() if ready else b""
    holder.stdout.close()
    if line.strip() != b"ready":
        raise OSError("the run's sandbox did not come up")


def _same_as_ours(pid: int, name: str) -> bool:
    """A namespace bubblewrap did not make new (the cgroup one where it cannot)."""
    try:
        return os.stat(f"/proc/{pid}/ns/{name}").st_ino == os.stat(f"/proc/self/ns/{name}").st_ino
    except OSError:
        return True
