"""How a run's sandbox is built: the bubblewrap command line, its mounts and its uid.

bubblewrap gives the run its own mount, PID, network, IPC and UTS namespaces: it sees
the system read-only, the Python installation, the grader's runner package, and its own
run folder (also mounted as /tmp) — never the hidden split, other submissions or the
grader's outputs. It runs as an unprivileged uid (65534) that owns only the run folder.

Why no user namespace when the grader is root: bwrap maps the sandbox uid onto the
*caller's* uid, so a sandbox started by root owns every root file it can see (it could
read /etc/shadow). As root, bwrap builds the namespaces itself and `setpriv` then drops
to a real unprivileged uid before the run's own command starts. A non-root grader uses
an unprivileged user namespace as before.

The same command line, with other namespaces and no uid drop, starts the warm runner's
zygote (grader.run.warm), so that it sees exactly the paths a run sees.

Both load grader.run.seccomp's filter: a run cannot make a user namespace of its own (as
"root" in it, much of the kernel's rarely used code would be in its reach). bwrap's
`--disable-userns` would do that only with `--unshare-user`, which a root grader does
not use (above); the filter serves both modes and the zygote's forks alike.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from grader.run import seccomp
from grader.run.mounts import SandboxPython, sandbox_python
from grader.run.stage import RUN_ROOT_IN_SANDBOX

_SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin", "/etc")
SANDBOX_UID = 65534  # nobody: owns nothing on the host but the run folder handed to it


def _is_root() -> bool:
    return os.geteuid() == 0


def _drop_to_sandbox_uid() -> list[str]:
    """Command prefix that becomes SANDBOX_UID with no capabilities and no way back."""
    setpriv = shutil.which("setpriv")
    uid = str(SANDBOX_UID)
    if setpriv:
        return [setpriv, "--reuid", uid, "--regid", uid, "--clear-groups", "--no-new-privs",
                "--inh-caps=-all", "--bounding-set=-all", "--"]
    return [sys.executable, "-c", "import os, sys; os.setgroups([]); "
            f"os.setgid({uid}); os.setuid({uid}); os.execvp(sys.argv[1], sys.argv[1:])"]


def _namespace_args() -> list[str]:
    if _is_root():
        return ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try"]
    return ["--unshare-all", "--unshare-user", "--uid", str(SANDBOX_UID),
            "--gid", str(SANDBOX_UID)]


@functools.cache
def bubblewrap_works() -> bool:
    """True when bwrap exists and can build the sandbox here (user namespaces are not
    available in some containers for a non-root grader)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    with seccomp.filter_fd() as filter_fd:  # as every run: with the filter
        argv = [bwrap, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                *_namespace_args(), *seccomp_args(filter_fd), "--die-with-parent",
                "--new-session"]
        argv += _drop_to_sandbox_uid() if _is_root() else []
        try:
            probe = subprocess.run([*argv, "true"], capture_output=True, timeout=20,
                                   env={"PATH": "/usr/bin:/bin"},
                                   pass_fds=() if filter_fd is None else (filter_fd,))
        except (OSError, subprocess.TimeoutExpired):
            return False
    return probe.returncode == 0


def sandbox_python_paths() -> SandboxPython:
    """What the runner needs to start Python and import the grader's runner package: the
    installation from neutral paths, the runner's private copy, nothing else of the
    grader (grader.run.mounts says why and how)."""
    return sandbox_python(_SYSTEM_DIRS)


def _parent_dirs(mounts: Sequence[str], read_only: Sequence[str]) -> list[str]:
    """Traversable (0755) folders above each mount point. bwrap run by root makes them
    0700, which the sandbox uid could not pass (/grader/run, a Python under /root).
    Folders inside a read-only mount already exist there and cannot be made."""
    def inside(path: str, roots: Sequence[str]) -> bool:
        return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)

    parents = {str(parent) for mount in mounts for parent in Path(mount).parents
               if str(parent) not in ("/", "/tmp") and not inside(str(parent), read_only)}
    return sorted(parents, key=lambda p: (p.count("/"), p))


def _zygote_namespace_args() -> list[str]:
    """The warm runner's fork server (grader.run.warm): a run's mounts, root with its
    capabilities (it joins each run's namespaces, so it stays in the host's PID and
    cgroup namespaces, which a run's must descend from)."""
    return ["--unshare-net", "--unshare-ipc", "--unshare-uts", "--cap-add", "ALL"]


def seccomp_args(fd: int | None) -> list[str]:
    """bwrap's options to load the filter of grader.run.seccomp (no nested user
    namespaces) from `fd`, which the caller passes to bwrap (pass_fds)."""
    return [] if fd is None else ["--seccomp", str(fd)]


def bubblewrap_command(run_dir: Path, command: Sequence[str], env: Mapping[str, str],
                       workdir: str, zygote: bool = False,
                       seccomp_fd: int | None = None) -> list[str]:
    """`seccomp_fd`: grader.run.seccomp.filter_fd(), for a command that runs (or, for the
    zygote, forks) a submission; the namespace holder of a warm run needs none."""
    namespaces = _zygote_namespace_args() if zygote else _namespace_args()
    argv = ["bwrap", "--die-with-parent", "--new-session", *namespaces,
            *seccomp_args(seccomp_fd),
            "--hostname", "grader", "--proc", "/proc", "--dev", "/dev",
            # no fresh tmpfs the inotify watch does not see (issue 19: images copied there
            # are read unseen): /run is read-only; /dev/shm must stay writable (Python's
            # locks, which flow_from_directory's thread pool makes, live there), so it is
            # a folder of the watched run folder
            "--bind", str(_shared_memory(run_dir)), "/dev/shm",
            "--tmpfs", "/run", "--remount-ro", "/run"]
    # /tmp first: Python may live under /tmp (a CI clone) when it cannot be bound from a
    # neutral farm, and a later mount of /tmp would hide it.
    python = sandbox_python_paths()
    bound = [root.inside for root in python.roots]
    parents = _parent_dirs([RUN_ROOT_IN_SANDBOX, *_SYSTEM_DIRS, *python.mount_points()],
                           read_only=[*_SYSTEM_DIRS, *bound])
    # each before the mount below it; those under /tmp after /tmp itself is mounted
    argv += [arg for p in parents if not p.startswith("/tmp/")
             for arg in ("--perms", "0755", "--dir", p)]
    argv += ["--bind", str(run_dir / "tmp"), "/tmp",
             "--bind", str(run_dir), RUN_ROOT_IN_SANDBOX]
    argv += [arg for p in parents if p.startswith("/tmp/")
             for arg in ("--perms", "0755", "--dir", p)]
    for directory in _SYSTEM_DIRS:
        argv += ["--ro-bind-try", directory, directory]
    argv += python.bwrap_args()
    argv += ["--chdir", workdir, "--clearenv"]
    for key, value in python.environment(dict(env)).items():
        argv += ["--setenv", key, value]
    prefix = _drop_to_sandbox_uid() if _is_root() and not zygote else []
    return argv + [python.inside(arg) for arg in [*prefix, *command]]


def _shared_memory(run_dir: Path) -> Path:
    """The run's /dev/shm: run/tmp/.shm, under the inotify watch of the run folder."""
    folder = run_dir / "tmp" / ".shm"
    if not folder.parent.is_dir():  # the run cannot start anyway (its /tmp is bound too)
        return folder
    if folder.is_symlink() or folder.exists() and not folder.is_dir():
        folder.unlink()  # a link a run left there is never followed (chmod as root)
    folder.mkdir(exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(fd, 0o1777)
    finally:
        os.close(fd)
    return folder


def hand_over(run_dir: Path, uid: int = SANDBOX_UID) -> None:
    """Give the run folder to the sandbox uid: everything writable by its owner changes
    owner (read-only files such as the served zip stay root's). Never follows links."""
    os.chown(run_dir, uid, uid)
    for root, dirs, files in os.walk(run_dir):
        for name in (*dirs, *files):
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):
                if os.lstat(path).st_mode & stat.S_IWUSR:
                    os.lchown(path, uid, uid)
