"""A hardlink farm: a folder tree whose files are hard links to another tree's files.

Why (grader.run.mounts): the sandbox binds the Python installation from a folder with a
neutral name, because a bind shows its source path in /proc/self/mountinfo. Links cost
one directory entry per file, not a copy; the files keep their inode, so their owner,
mode and bytes are the installation's own. Files that name the installation's own folder
are rewritten instead of linked: pyvenv.cfg, .pth files in site-packages folders, small
scripts with a shebang in bin/, and absolute symlinks.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

SITE_DIRS = ("site-packages", "dist-packages")
SCRIPT_BYTES = 64 * 1024  # a bin/ script worth reading for its shebang


def link_tree(source: Path, target: Path, rewrite: Callable[[str], str],
              excluded: Callable[[str], bool]) -> None:
    """Mirror `source` into `target` (which must not exist). `excluded(name)` drops an
    entry of a site-packages folder (or of its __pycache__); `rewrite(text)` maps the
    paths in the files that name their own location. Folder modes are set last, so a
    read-only folder is filled first. Raises OSError where a link cannot be made.
    Plain strings and scandir, not pathlib: 100,000 entries (measured 4x faster)."""
    os.makedirs(target)
    modes = [(str(target), stat.S_IMODE(os.stat(source).st_mode))]
    stack = [(str(source), str(target), "")]
    while stack:
        here, out, relative = stack.pop()
        site = _is_site(here)
        with os.scandir(here) as entries:
            for entry in entries:
                if site and excluded(entry.name):
                    continue
                destination = f"{out}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    os.mkdir(destination)
                    modes.append((destination, stat.S_IMODE(entry.stat(
                        follow_symlinks=False).st_mode)))
                    stack.append((entry.path, destination, f"{relative}/{entry.name}"))
                else:
                    _place(entry, destination, relative, rewrite)
    for folder, mode in reversed(modes):
        os.chmod(folder, mode)


def _is_site(folder: str) -> bool:
    parent, _, name = folder.rpartition("/")
    return name in SITE_DIRS or (name == "__pycache__"
                                 and parent.rpartition("/")[2] in SITE_DIRS)


def _place(entry: os.DirEntry[str], target: str, relative: str,
           rewrite: Callable[[str], str]) -> None:
    if entry.is_symlink():
        link = os.readlink(entry.path)
        os.symlink(rewrite(link) if os.path.isabs(link) else link, target)
    elif entry.is_file(follow_symlinks=False):
        if _names_itself(entry, relative):
            with open(entry.path, "rb") as handle:
                text = handle.read().decode("utf-8", "surrogateescape")
            mapped = rewrite(text)
            if mapped != text:
                with open(target, "wb") as handle:
                    handle.write(mapped.encode("utf-8", "surrogateescape"))
                os.chmod(target, stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode))
                return
        os.link(entry.path, target, follow_symlinks=False)
    # sockets, FIFOs and devices have no place in an installation: left out


def _names_itself(entry: os.DirEntry[str], relative: str) -> bool:
    """Files that hold their installation's absolute path and are read at start-up."""
    if relative == "" and entry.name == "pyvenv.cfg":
        return True
    if entry.name.endswith(".pth") and relative.rpartition("/")[2] in SITE_DIRS:
        return True
    if relative == "/bin" and entry.stat(follow_symlinks=False).st_size < SCRIPT_BYTES:
        with open(entry.path, "rb") as handle:
            return handle.read(2) == b"#!"
    return False
