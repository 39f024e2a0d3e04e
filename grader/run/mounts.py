"""What a sandboxed run sees of Python and of the grader: the runner only, at neutral paths.

Why the runner only: everything a run can import, it can run. The whole grader package
used to be mounted, and with it grader.exercise.datasets, the code that draws the built-in
data sets; a run could redraw data with it. A run now gets a private copy of what it needs
— grader/__init__.py and grader/runner/ — bound read-only at /grader/lib (on PYTHONPATH).
The runner imports nothing else of the grader; the copy is made per content (a runner
edited between two runs gets a new copy) and compiled once.

Why neutral paths: bubblewrap's binds show their source folder in the root field of
/proc/self/mountinfo, and their mount point in the next one, so binding the Python
installation where it lives told every run the checkout's path (a venv inside it), the
grader's home (a pyenv Python under /root) and so on. The installation, its venv and any
other site-packages folder on sys.path are therefore bound from a hardlink farm — the same
files (no copy: a link per file, measured 3 s once for 108,000 entries on ext4) under a
cache folder with a neutral name — at /grader/python, /grader/venv and /grader/site-N. The
few files that name their own location are rewritten in the farm: pyvenv.cfg, .pth files,
script shebangs, absolute symlinks. A farm is rebuilt when the installation changes (the
mtimes of its bin/, lib/python*/ and site-packages/ folders and entries), and relinked
weekly so that temporary-file cleaners never find old files in it.

Where no farm can be made (the cache is on another file system than the installation, or
on one where a hard link is a copy, such as overlayfs), that folder is bound where it lives,
as before, and its path stays visible: docs/security.md lists what remains.
"""

from __future__ import annotations

import compileall
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

LIB = "/grader/lib"  # on PYTHONPATH in the run: holds the runner's copy of `grader`
BASE, VENV, SITE = "/grader/python", "/grader/venv", "/grader/site"
CACHE_ENV = "GRADER_SANDBOX_CACHE"
DISTRIBUTION = "tf_image_grader"  # pyproject's name as installers spell it in file names
FARM_FORMAT = "1"
# Where os.link makes a link, not a copy (overlayfs copies the file up first).
FARM_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs",
                              "zfs", "jfs"})
REBUILD_SECONDS = 7 * 86400  # relinked weekly: keeps the files' ctime young for tmp cleaners
KEEP_SECONDS = 86400  # what runs may still use (an older farm, a runner copy) is kept a day
_SITE_DIRS = ("site-packages", "dist-packages")


@dataclass(frozen=True)
class Root:
    host: str  # a folder of the Python installation, on the host
    inside: str  # where the run sees it
    source: str  # what is bound there: a hardlink farm of `host`, or `host` itself


@dataclass(frozen=True)
class SandboxPython:
    """The mounts and environment that give a run Python and the runner, nothing more."""

    roots: tuple[Root, ...]
    runner: str  # host folder bound at LIB; holds grader/__init__.py and grader/runner/
    covered: tuple[str, ...]  # in-run folders of the grader package, hidden by an empty tmpfs

    def inside(self, value: str) -> str:
        """`value` with host folders of the installation replaced by their in-run paths."""
        return _map_text(value, self.mapping())

    def mapping(self) -> list[tuple[str, str]]:
        return _mapping([(r.host, r.inside) for r in self.roots])

    def mount_points(self) -> list[str]:
        return [*(r.inside for r in self.roots), LIB]

    def bwrap_args(self) -> list[str]:
        args = []
        for root in self.roots:
            args += ["--ro-bind", root.source, root.inside]
        args += ["--ro-bind", self.runner, LIB]
        for folder in self.covered:
            args += ["--tmpfs", folder, "--remount-ro", folder]
        return args

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        """The run's environment with paths mapped, the runner's copy first on
        PYTHONPATH, and libpython found where the relocated installation has it."""
        mapped = {key: self.inside(value) for key, value in env.items()}
        mapped["PYTHONPATH"] = ":".join(filter(None, [LIB, mapped.get("PYTHONPATH")]))
        base = next((r for r in self.roots if r.inside == BASE), None)
        if base is not None and any(Path(base.host, "lib").glob("libpython*.so*")):
            # the interpreter's RUNPATH names the host folder, which the run does not have
            mapped["LD_LIBRARY_PATH"] = ":".join(
                filter(None, [f"{BASE}/lib", mapped.get("LD_LIBRARY_PATH")]))
        return mapped


def sandbox_python(system_dirs: Sequence[str]) -> SandboxPython:
    """What to mount for a run: farms where they can be made, the runner's copy, and
    tmpfs over the grader package wherever it would still be visible."""
    wanted = _python_roots(system_dirs)
    mapping = _mapping(wanted)
    roots = []
    for host, inside in wanted:
        farm = _farm(host, inside, _relevant(mapping, inside))
        roots.append(Root(host, inside, farm) if farm else Root(host, host, host))
    package = os.path.realpath(_grader_dir())  # a farm leaves it out; a bound folder not
    visible = _inside(package, system_dirs) or any(
        _inside(package, r.host) for r in roots if r.source == r.host)
    covered = (package,) if visible else ()
    return SandboxPython(tuple(roots), str(runner_copy()), covered)


def _python_roots(system_dirs: Sequence[str]) -> list[tuple[str, str]]:
    """(host folder, in-run folder) of the interpreter, its venv and every other
    site-packages folder on sys.path; folders in the system dirs are mounted anyway."""
    candidates = [(sys.base_prefix, BASE), (sys.base_exec_prefix, BASE),
                  (sys.prefix, VENV), (sys.exec_prefix, VENV)]
    candidates += [(p, "") for p in sys.path
                   if p and os.path.isdir(p) and any(s in p for s in _SITE_DIRS)]
    roots: list[tuple[str, str]] = []
    for path, inside in candidates:
        real = os.path.realpath(path)
        if _inside(real, system_dirs) or _inside(real, [h for h, _ in roots]):
            continue
        taken = {i for _, i in roots}
        if not inside or inside in taken:
            inside = next(f"{SITE}-{n}" for n in range(1, 1000) if f"{SITE}-{n}" not in taken)
        roots.append((real, inside))
    return roots


def _relevant(mapping: Sequence[tuple[str, str]], inside: str) -> list[tuple[str, str]]:
    """The paths a root's own files may name: a venv names the interpreter (pyvenv.cfg)
    and other site-packages folders (.pth); the interpreter and the others only
    themselves. A farm is keyed by these alone, so one interpreter's farm serves all
    its venvs."""
    return list(mapping) if inside == VENV else [m for m in mapping if m[1] == inside]


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _mapping(roots: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Host → in-run prefixes, both the real path and the one Python reports (a symlink
    such as /usr/local/python), longest first so nested folders map before their parents."""
    pairs = {}
    for host, inside in roots:
        if host == inside:
            continue
        pairs[host] = inside
        for alias in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
            if os.path.realpath(alias) == host:
                pairs[alias] = inside
    return sorted(pairs.items(), key=lambda pair: -len(pair[0]))


def _map_text(text: str, mapping: Sequence[tuple[str, str]]) -> str:
    """Each host folder, as a whole path (not /venv2 for /venv), replaced by its in-run
    path: in a PATH, a shebang, pyvenv.cfg's home, a .pth line."""
    for host, inside in mapping:
        pattern = r"(?<![\w.+/-])" + re.escape(host) + r"(?=/|$|[^\w.+-])"
        text = re.sub(pattern, lambda _: inside, text)  # noqa: B023 - used at once
    return text


def _grader_dir() -> str:
    import grader

    return str(Path(grader.__file__).parent)


# --- the cache: farms and runner copies ------------------------------------------------


def _cache_homes() -> list[Path]:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return [Path(configured)]
    uid = os.geteuid()
    homes = [Path("/var/cache/tf-image-grader/sandbox")] if uid == 0 else []
    return homes + [Path("/var/tmp") / f"tf-image-grader-sandbox-{uid}",
                    Path(tempfile.gettempdir()) / f"tf-image-grader-sandbox-{uid}"]


def _usable(home: Path) -> bool:
    """Ours alone: a real folder owned by this user that nobody else may write to."""
    try:
        home.mkdir(parents=True, exist_ok=True, mode=0o755)
        info = home.lstat()
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
            and not info.st_mode & 0o022)


def _home(device: int | None = None) -> Path | None:
    for home in _cache_homes():
        if _usable(home) and (device is None or home.stat().st_dev == device):
            return home
    return None


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    with (home / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def runner_copy() -> Path:
    """A read-only copy of grader/__init__.py and grader/runner/, compiled, named by its
    content: the folder LIB shows the run."""
    package = Path(_grader_dir())
    files = [package / "__init__.py"] + sorted(
        p for p in (package / "runner").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    digest = hashlib.sha256(sys.version.encode())
    for path in files:
        digest.update(f"\0{path.relative_to(package)}\0".encode() + path.read_bytes())
    home = _home()
    if home is None:
        raise OSError("no private cache folder for the sandbox's runner copy "
                      f"(set {CACHE_ENV})")
    target = home / f"runner-{digest.hexdigest()[:20]}"
    if not target.is_dir():
        building = home / f".building-runner-{os.getpid()}-{time.monotonic_ns()}"
        for path in files:
            copy = building / "grader" / path.relative_to(package)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        compileall.compile_dir(building, quiet=2, ddir=LIB)
        try:
            os.rename(building, target)
        except OSError:  # another grader made the same copy first
            shutil.rmtree(building, ignore_errors=True)
    try:
        os.utime(target)  # in use: the sweep keeps it
    except FileNotFoundError:  # swept a moment ago, unused for a day: made again
        return runner_copy()
    return target


def _filesystem(path: str) -> tuple[str, int]:
    """(type, device) of the file system holding `path`, from /proc/self/mountinfo."""
    best, kind = "", ""
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as table:
        for line in table:
            fields = line.split()
            point = fields[4].replace("\\040", " ")
            if _inside(path, [point]) and len(point) >= len(best):
                best, kind = point, fields[fields.index("-") + 1]
    return kind, os.stat(path).st_dev


def _signature(host: str) -> list[object]:
    """What changes when packages are installed, upgraded or removed: the mtimes of the
    installation's folders that list them, and of every entry in those folders."""
    folders = [Path(host), Path(host, "bin"), *Path(host).glob("lib/python*"),
               *(p for s in _SITE_DIRS for p in Path(host).glob(f"lib/python*/{s}"))]
    listed = []
    for folder in folders:
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            listed.append([str(folder), folder.stat().st_mtime_ns,
                           sorted((e.name, e.stat(follow_symlinks=False).st_mtime_ns)
                                  for e in entries)])
    return listed


def _farm(host: str, inside: str, mapping: Sequence[tuple[str, str]]) -> str | None:
    """The hardlink farm of `host` for in-run path `inside`, built now if missing or a
    week old; None where links cannot be made cheaply (see the module docstring)."""
    kind, device = _filesystem(host)
    home = _home(device) if kind in FARM_FILESYSTEMS else None
    if home is None:
        return None
    try:
        return str(_current_farm(home, host, inside, mapping))
    except OSError:  # a file that cannot be linked (protected_hardlinks, EXDEV)
        return None


def _current_farm(home: Path, host: str, inside: str,
                  mapping: Sequence[tuple[str, str]]) -> Path:
    key = hashlib.sha256(json.dumps([FARM_FORMAT, host, inside, list(mapping),
                                     _signature(host)]).encode()).hexdigest()[:20]
    found = _newest_farm(home, key)
    if found is not None:
        return found
    with _locked(home):
        found = _newest_farm(home, key)
        if found is not None:
            return found
        found = _build_farm(home, key, host, inside, mapping)
    # unlinking a farm takes as long as building one: not on this run's way
    threading.Thread(target=_sweep, args=(home,), daemon=True).start()
    return found


def _newest_farm(home: Path, key: str) -> Path | None:
    farms = sorted(home.glob(f"python-{key}-*"), key=_built_at)
    if farms and time.time() - _built_at(farms[-1]) < REBUILD_SECONDS:
        return farms[-1]
    return None


def _built_at(farm: Path) -> float:
    """When a farm was built (seconds), from its name: python-<key>-<milliseconds>."""
    try:
        return int(farm.name.rsplit("-", 1)[1]) / 1000
    except (IndexError, ValueError):
        return 0.0


def _build_farm(home: Path, key: str, host: str, inside: str,
                mapping: Sequence[tuple[str, str]]) -> Path:
    from grader.run.farm import link_tree

    target = home / f"python-{key}-{time.time_ns() // 1_000_000}"
    building = home / f".building-{key}-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    try:
        link_tree(Path(host), building, lambda text: _map_text(text, mapping),
                  _excluded)
        Path(f"{target}.json").write_text(json.dumps({"host": host, "inside": inside,
                                                      "mapping": list(mapping)}))
        os.rename(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def _excluded(name: str) -> bool:
    """The grader's own files in a site-packages folder: its package (a wheel install)
    and an editable install's finder, which names the checkout."""
    return (name == "grader" or (DISTRIBUTION in name and (
        name.startswith("__editable__") or name.startswith(f"{DISTRIBUTION}-")
        or name.startswith(f"{DISTRIBUTION}.") or name.endswith(".pyc"))))


def _sweep(home: Path, now: float | None = None) -> None:
    """Remove what no run can still use: a farm replaced by a newer one of the same folder
    a day ago or more, a farm of a folder that is gone or unused for over a week, idle
    runner copies, builds that were interrupted."""
    now = time.time() if now is None else now
    farms = [(farm, _farm_of(farm)) for farm in home.glob("python-*") if farm.is_dir()]
    newest: dict[tuple[str, str], float] = {}
    for farm, origin in farms:
        newest[origin] = max(newest.get(origin, 0.0), _built_at(farm))
    for farm, origin in farms:
        built = _built_at(farm)
        replaced = built < newest[origin] and now - newest[origin] > KEEP_SECONDS
        if replaced or now - built > REBUILD_SECONDS + KEEP_SECONDS \
                or not origin[0] or not Path(origin[0]).is_dir():
            _remove(farm)
    for leftover in [*home.glob("runner-*"), *home.glob(".building-*")]:
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > KEEP_SECONDS:
                _remove(leftover)
    for leftover in home.glob(".removing-*"):  # a sweep that was stopped half-way
        shutil.rmtree(leftover, ignore_errors=True)


def _farm_of(farm: Path) -> tuple[str, str]:
    """(host folder, what it was built for) from the note beside a farm: a newer farm
    for the same folder and mapping replaces it; another mapping's farm is another's."""
    try:
        note = json.loads(Path(f"{farm}.json").read_text())
        return str(note["host"]), json.dumps([note.get("inside"), note.get("mapping")])
    except (OSError, ValueError, KeyError, TypeError):
        return "", ""


def _remove(path: Path) -> None:
    """Renamed out of every lookup first, so a removal stopped half-way (the grader
    exits) never leaves a half farm under a name a run could use."""
    aside = path.with_name(f".removing-{path.name}-{os.getpid()}")
    try:
        os.rename(path, aside)
    except OSError:  # another sweep has it
        return
    with contextlib.suppress(OSError):
        Path(f"{path}.json").unlink()
    shutil.rmtree(aside, ignore_errors=True)
