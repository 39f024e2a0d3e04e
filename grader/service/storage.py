"""Uploaded files, stored by the sha256 of their bytes: D/uploads/ab/abcdef….

Why content-addressed: the name a student gave a file never becomes a path (it is only
shown), two uploads of the same bytes are stored once, and a file's name proves its
content (a restore or a copy can be checked with sha256sum). A file is written to a
temporary name, flushed to disk, then renamed into place, and its folder is synced:
by the time a job row that points at it is committed, the bytes are on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


class TooLarge(Exception):
    """The upload is larger than the limit (HTTP 413)."""


@dataclass(frozen=True)
class Staged:
    """An upload written to a temporary file, hashed, not yet in the store."""

    path: Path
    sha256: str
    size: int


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.incoming = root / ".incoming"

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):  # only ever a hex digest: never a name from outside
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    @contextmanager
    def staged(self, source: BinaryIO, limit: int) -> Iterator[Staged]:
        """Copy `source` to a temporary file while hashing it, refusing more than `limit`
        bytes; the file is removed when the block ends unless `keep` moved it."""
        self.incoming.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=self.incoming, prefix="upload-")
        path = Path(name)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(descriptor, "wb") as handle:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(size)
                    digest.update(chunk)
                    handle.write(chunk)
            yield Staged(path, digest.hexdigest(), size)
        finally:
            path.unlink(missing_ok=True)

    def keep(self, staged: Staged) -> Path:
        """Move a staged file into the store (or drop it if those bytes are already
        there), durably: the file and its folder are fsynced before this returns."""
        target = self.path_of(staged.sha256)
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with staged.path.open("rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(staged.path, 0o440)
        os.replace(staged.path, target)
        _sync_folder(target.parent)
        return target

    def verify(self, sha256: str) -> bool:
        """Whether the stored file still holds the bytes its name promises."""
        digest = hashlib.sha256()
        try:
            with self.path_of(sha256).open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
        except OSError:
            return False
        return digest.hexdigest() == sha256


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
