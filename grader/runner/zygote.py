"""The warm runner's fork server: TensorFlow imported once, a fresh process per hand-in.

Why: every run and every callback test used to start Python and import TensorFlow,
about 3.7 s of a reference grading's ~9 CPU-seconds, before the student's first line ran.
This process (the *zygote*) imports the heavy libraries once, in a sandbox with the same
mounts and environment as a run, and then only forks. It never runs student code and
never holds a submission's data: it reads nothing but descriptors from the grader, and a
forked child receives its hand-in (the run's namespaces, its output pipes, its
environment and command) on a socket of its own, after the fork.

A child then enters the run's sandbox the way `nsenter` does: it moves itself into the
run's cgroups (so CPU, memory and process counts are charged from the hand-in on), sets
the run's rlimits, joins the namespaces bubblewrap built for the run (ipc, uts, net,
cgroup, pid, mount: the run folder, /tmp and /proc are the run's own), forks once more
so the student's process lives in the run's PID namespace, and that process drops to the
sandbox uid with no capabilities and no way back before the run's module starts. The
child waits and reports the exit status; nothing survives the run (bubblewrap's PID 1
takes the namespace down with it).

Needs root (CAP_SYS_ADMIN to join namespaces); grader.run.warm decides where it runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import resource
import runpy
import signal
import socket
import sys
from typing import Any

PRELOAD = ("numpy", "tensorflow", "keras", "PIL.Image", "IPython.core.interactiveshell")
READY = b"ready"
ENTERED = b'{"entered": true}'
# nsenter's order: the mount namespace last, so the others are still found by path
NAMESPACE_FLAGS = {"ipc": 0x08000000, "uts": 0x04000000, "net": 0x40000000,
                   "cgroup": 0x02000000, "pid": 0x20000000, "mnt": 0x00020000}
MAX_HAND_IN = 1 << 20
MAX_FDS = 64
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_SET_NO_NEW_PRIVS = 1, 4, 38
_FD_FLOOR = 256  # descriptors are parked above this while they are moved into place


def main(control_fd: int) -> int:
    for name in PRELOAD:
        __import__(name)
    sys.stdout.flush()
    control = socket.socket(fileno=control_fd)
    control.sendall(READY)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 16, 1)
        except OSError:
            return 0
        if not message:  # the grader closed its end: the worker is gone
            return 0
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            continue
        if os.fork() == 0:
            control.close()
            status = 70
            try:
                status = _child(fds[0])
            finally:
                os._exit(status)
        os.close(fds[0])
        _reap()


def _reap() -> None:
    """Collect children that have ended (the zygote keeps no list of them)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _child(conn_fd: int) -> int:
    """A forked child: receive the hand-in, enter the run, start the student's process,
    report how it ended."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    conn = socket.socket(fileno=conn_fd)
    try:
        return _enter_and_wait(libc, conn)
    except Exception as exc:  # noqa: BLE001 - the grader gets the reason, never a hang
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps({"exit": 70, "error": f"{type(exc).__name__}: {exc}"})
                         .encode())
        return 70


def _enter_and_wait(libc: Any, conn: socket.socket) -> int:
    data, fds, _, _ = socket.recv_fds(conn, MAX_HAND_IN, MAX_FDS)
    hand_in = json.loads(data)
    namespaces: list[str] = hand_in["namespaces"]
    cgroups: int = hand_in["cgroups"]
    ns_fds, rest = fds[:len(namespaces)], fds[len(namespaces):]
    cgroup_fds, rest = rest[:cgroups], rest[cgroups:]
    stdout_fd, stderr_fd, passed = rest[0], rest[1], rest[2:]
    for fd in cgroup_fds:  # "0" is the writer: this process and all it starts
        os.write(fd, b"0")
        os.close(fd)
    _set_limits(hand_in["rlimits"])
    for name, fd in zip(namespaces, ns_fds, strict=True):
        if libc.setns(fd, NAMESPACE_FLAGS[name]) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns({name}): {os.strerror(error)}")
        os.close(fd)
    os.chdir(hand_in["workdir"])
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        conn.close()
        code = 70
        try:
            code = _student(libc, hand_in, stdout_fd, stderr_fd,
                            dict(zip(hand_in["pass_fds"], passed, strict=True)))
        except BaseException as exc:  # noqa: BLE001 - said on the run's stderr
            with contextlib.suppress(OSError):
                os.write(2, f"grader: the warm run did not start: {exc!r}\n".encode())
        finally:
            os._exit(code)
    for fd in (stdout_fd, stderr_fd, *passed):
        os.close(fd)
    conn.sendall(ENTERED)  # the run is in its sandbox: from here on, its outcome is its own
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    conn.sendall(json.dumps({"exit": code}).encode())
    return 0


def _set_limits(rlimits: dict[str, list[int]]) -> None:
    for name, (soft, hard) in rlimits.items():
        resource.setrlimit(getattr(resource, name), (soft, hard))


def _student(libc: Any, hand_in: dict[str, Any], stdout_fd: int, stderr_fd: int,
             passed: dict[int, int]) -> int:
    """The student's process, inside the run's namespaces: the run's uid, descriptors,
    environment and command; everything else of the zygote's closed or replaced."""
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setsid()
    uid = int(hand_in["uid"])
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)  # from root to a plain uid: every capability is gone
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return 71
    # a uid change leaves the process undumpable, its /proc/self files root's: an exec'd
    # (cold) run is dumpable, so a warm one is too, and reads its own /proc the same way
    libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
    _place_descriptors({0: os.open(os.devnull, os.O_RDONLY), 1: stdout_fd, 2: stderr_fd,
                        **{int(target): fd for target, fd in passed.items()}})
    os.environ.clear()
    os.environ.update(hand_in["env"])
    os.umask(0o022)
    random.seed()
    sys.modules["numpy"].random.seed()
    module, *arguments = hand_in["argv"]
    sys.argv = [module, *arguments]
    sys.path[0] = os.getcwd()
    for name in list(sys.modules):
        if name == "grader" or name.startswith("grader."):
            del sys.modules[name]  # the runner starts as in a fresh interpreter
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as stop:
        code = stop.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    return 0


def _place_descriptors(wanted: dict[int, int]) -> None:
    """Each descriptor at the number the run expects (as subprocess's pass_fds keeps
    them), every other descriptor of the zygote's closed."""
    import fcntl

    parked = {target: fcntl.fcntl(fd, fcntl.F_DUPFD, _FD_FLOOR) for target, fd in wanted.items()}
    for fd in set(wanted.values()):
        os.close(fd)
    for target, fd in parked.items():
        os.dup2(fd, target, inheritable=True)
    low = 0
    for fd in [*sorted(parked), resource.getrlimit(resource.RLIMIT_NOFILE)[0]]:
        if fd > low:  # never closerange(n, n): Python turns it into close_range(n, ~0)
            os.closerange(low, fd)
        low = fd + 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
