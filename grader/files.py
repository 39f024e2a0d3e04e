"""Files the grader writes and folders it removes, done one safe way everywhere.

Why one module: a result, a report, a CSV or a gradebook export that a reader finds half
written is a wrong grade on screen; a run folder that cannot be removed because a
submission left 3,000 nested folders in it must not end a class's batch, and neither
must a student's folder 1,200 levels deep. Writes go to a temporary file in the same
folder, then `os.replace`; removal and walks go through the tree without recursion,
without following links and without ever raising.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the new one, never a
    part. The temporary name is per process and thread, so two writers never share one,
    and the file gets the usual umask (not mkstemp's 0600): reports stay readable by
    whoever serves the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: Any, indent: int | None = 1) -> None:
    atomic_write(path, json.dumps(payload, indent=indent))


_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def remove_tree(path: Path | str) -> bool:
    """Remove `path` and everything under it; True when it is gone.

    Iterative and relative to directory descriptors, so depth is no limit: neither
    Python's recursion limit nor PATH_MAX (a 3,000-deep chain of folders is far longer
    than 4,096 bytes). Links are removed, never followed. A folder the run made
    unwritable is made writable first. Never raises: what cannot be removed stays.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return not os.path.lexists(path)
    with contextlib.suppress(OSError):
        _remove_directory(os.fspath(path))
    return not os.path.lexists(path)


def _remove_directory(top: str) -> None:
    descriptor = os.open(top, _DIRECTORY)
    names: list[str] = []  # the path from `top` down to the folder `descriptor` is
    stuck: set[int] = set()  # inodes of folders that could not be emptied: not again
    try:
        while True:
            child = _empty_files_of(descriptor, stuck)
            if child is not None:
                inner = _enter(child[0], descriptor)
                if inner is None:
                    stuck.add(child[1])
                    continue
                os.close(descriptor)
                descriptor = inner
                names.append(child[0])
                continue
            if not names:
                break
            inode = os.fstat(descriptor).st_ino
            parent = os.open("..", _DIRECTORY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = parent
            try:
                os.rmdir(names.pop(), dir_fd=descriptor)
            except OSError:
                stuck.add(inode)
    finally:
        os.close(descriptor)
    os.rmdir(top)


def _enter(name: str, parent: int) -> int | None:
    """A descriptor of the sub-folder `name`, made enterable first if the run took its
    permissions away (chmod 000: only root could enter it as it is); None if it cannot
    be entered at all."""
    for attempt in range(2):
        try:
            return os.open(name, _DIRECTORY, dir_fd=parent)
        except PermissionError:
            if attempt == 0:
                with contextlib.suppress(OSError):
                    os.chmod(name, 0o700, dir_fd=parent)
        except OSError:
            return None
    return None


def _empty_files_of(descriptor: int, stuck: set[int]) -> tuple[str, int] | None:
    """Unlink every non-folder entry of the folder; return one sub-folder's name and
    inode to go into next, or None when only folders that could not be emptied are
    left."""
    _make_writable(descriptor)
    with os.scandir(descriptor) as listing:
        entries = list(listing)
    child = None
    for entry in entries:
        try:
            is_folder = entry.is_dir(follow_symlinks=False)
        except OSError:
            is_folder = False
        if not is_folder:
            with contextlib.suppress(OSError):
                os.unlink(entry.name, dir_fd=descriptor)
        elif child is None and entry.inode() not in stuck:
            child = (entry.name, entry.inode())
    return child


def _make_writable(descriptor: int) -> None:
    with contextlib.suppress(OSError):
        mode = os.fstat(descriptor).st_mode
        if mode & 0o700 != 0o700:
            os.fchmod(descriptor, mode | 0o700)


@dataclass
class Walk:
    """What `walk` found under a folder."""

    files: list[Path] = field(default_factory=list)  # every entry that is not a folder
    too_deep: list[Path] = field(default_factory=list)  # folders at the limit, not entered
    unreadable: list[tuple[Path, str]] = field(default_factory=list)  # (folder, why)


def walk(top: Path, max_depth: int, skip: Callable[[str], bool] = lambda _: False) -> Walk:
    """Every non-folder entry under `top`, sorted, without recursion and without
    following links (a link is an entry, never a way in). Folders more than `max_depth`
    levels below `top` are not entered but listed in `too_deep`; a folder that cannot be
    listed (permission, a path longer than PATH_MAX) is listed in `unreadable`. Names for
    which `skip` is true are left out, files and folders alike."""
    found = Walk()
    stack: list[tuple[Path, int]] = [(top, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = [e for e in listing if not skip(e.name)]
        except OSError as exc:
            found.unreadable.append((folder, exc.strerror or type(exc).__name__))
            continue
        for entry in entries:
            path = folder / entry.name
            if not _is_folder(entry):
                found.files.append(path)
            elif depth >= max_depth:
                found.too_deep.append(path)
            else:
                stack.append((path, depth + 1))
    found.files.sort()
    found.too_deep.sort()
    return found


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
