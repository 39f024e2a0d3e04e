"""Reading what a run leaves in its folder, which the run owns and may have booby-trapped.

The run may have replaced an artefact, or the artefacts folder itself, by a symlink to
something of the grader's, by a FIFO that blocks its reader forever, or by a file far
larger than any artefact; these readers follow no link, never block and read a bounded
number of bytes, and report a problem instead of raising.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 5 * 1024 * 1024


def open_artefact(folder: Path, name: str) -> int | None:
    """A read-only descriptor of a regular file `name` directly in `folder`, or None.

    The run owns its folder: it may have replaced the file, or the artefacts folder
    itself, by a symlink to something of the grader's, or by a FIFO that would block the
    reader forever. Neither link is followed (O_NOFOLLOW on both), opening never blocks
    (O_NONBLOCK), and anything but a regular file is refused.
    """
    try:
        directory = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK,
                             dir_fd=directory)
    except OSError:
        return None
    finally:
        os.close(directory)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        return None
    os.set_blocking(descriptor, True)
    return descriptor


def copy_no_follow(source: Path, target: Path, max_bytes: int) -> bool:
    """Copy an artefact without following a symlink the run may have planted (in place of
    the file or of its folder), and never more than `max_bytes`."""
    descriptor = open_artefact(source.parent, source.name)
    if descriptor is None:
        return False
    budget = max_bytes
    with os.fdopen(descriptor, "rb") as reader, open(target, "wb") as writer:
        while budget > 0 and (chunk := reader.read(min(budget, 1 << 20))):
            writer.write(chunk)
            budget -= len(chunk)
    return True


def read_json(path: Path, problems: list[str], max_bytes: int = MAX_JSON_BYTES) -> Any:
    descriptor = open_artefact(path.parent, path.name)
    if descriptor is None:
        if path.is_symlink() or path.parent.is_symlink():
            problems.append(f"{path.name} is a link, not a file; ignored")
        return None
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(max_bytes + 1)  # never more, whatever the file claims
    if len(data) > max_bytes:
        problems.append(f"{path.name} is larger than {max_bytes // 2**20} MB; ignored")
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        problems.append(f"{path.name} is not valid JSON; ignored")
        return None
