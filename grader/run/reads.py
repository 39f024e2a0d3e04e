"""Which images the run opened, and when, seen from outside the sandbox (inotify).

Why: the run's own account of its training can be forged by the code it runs; the kernel's
account of which files were read cannot. Keras's flow_from_directory reads every image of
a batch from disk each time it makes the batch, so fifteen epochs over 80 images read
them about 1,200 times, whatever the trace claims. A read is a file opened without write
access and closed (IN_CLOSE_NOWRITE): unzipping the data set writes its images and does
not count. inotify watches inodes, and the
sandbox's run folder is a bind mount of the folder watched here, so an open inside the
sandbox is seen here. The watch covers every folder of the run folder, including the
ones the run makes (a notebook that unzips the data itself), up to a bound.

What it cannot see: images read once and kept in memory (a tf.data pipeline with
.cache(), or code written to avoid reads). The evidence module uses these reads only
where the training's own API reads from disk every epoch.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import select
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
MAX_WATCHES = 4096
MAX_READS = 500_000
_IN_CLOSE_NOWRITE, _IN_CREATE, _IN_MOVED_TO, _IN_Q_OVERFLOW = 0x10, 0x100, 0x80, 0x4000
_IN_ISDIR, _IN_NONBLOCK, _IN_CLOEXEC = 0x40000000, 0o4000, 0o2000000
_HEADER = struct.Struct("iIII")
_OVERFLOW = "the kernel dropped file events (queue overflow); some reads were not seen"


@dataclass
class Reads:
    """Image reads, as (seconds since the clock's start, path relative to the run folder)."""

    opens: list[tuple[float, str]] = field(default_factory=list)
    available: bool = True  # inotify could watch the run folder
    complete: bool = True  # no folder left unwatched, no event lost
    problems: list[str] = field(default_factory=list)


class ImageReads:
    def __init__(self, run_dir: Path, clock: float) -> None:
        self.run_dir, self.clock = run_dir, clock
        self.reads = Reads()
        self._folders: dict[int, str] = {}
        self._relative: dict[int, str] = {}  # each watched folder, relative to the run's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fd = -1
        self._libc = _load_libc()

    def start(self) -> None:
        if self._libc is None:
            self._unavailable("inotify is not available here")
            return
        self._fd = self._libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if self._fd < 0:
            self._unavailable("inotify could not be started (the watch limit of this user?)")
            return
        self._watch_tree(self.run_dir)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> Reads:
        """Stop watching (after the run is gone) and return what was seen."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                self._drain()
            os.close(self._fd)
            self._fd = -1
        return self.reads

    def _unavailable(self, why: str) -> None:
        self.reads.available = self.reads.complete = False
        self.reads.problems.append(why)

    def _watch(self, folder: str) -> None:
        if len(self._folders) >= MAX_WATCHES:
            if self.reads.complete:
                self.reads.complete = False
                self.reads.problems.append(f"the run made more than {MAX_WATCHES} folders; "
                                           "reads in the rest were not seen")
            return
        mask = _IN_CLOSE_NOWRITE | _IN_CREATE | _IN_MOVED_TO
        descriptor = self._libc.inotify_add_watch(self._fd, os.fsencode(folder), mask)
        if descriptor < 0:
            self._not_watched(folder, ctypes.get_errno())
            return
        self._folders[descriptor] = folder
        relative = os.path.relpath(folder, self.run_dir)
        self._relative[descriptor] = "" if relative == "." else relative + os.sep

    def _not_watched(self, folder: str, error: int) -> None:
        """A folder inotify would not watch: its reads go unseen, so the watch is incomplete
        and the evidence asks for review instead of counting the silence against the run
        (out of watches, ENOSPC, is the likely cause: max_user_watches is per user, shared
        with every other program of the grader's uid). A folder gone before it was watched
        (ENOENT, ENOTDIR) held nothing to read, and one made again is watched anew."""
        if error in (errno.ENOENT, errno.ENOTDIR):
            return
        self.reads.complete = False
        why = "out of inotify watches (fs.inotify.max_user_watches)" \
            if error == errno.ENOSPC else os.strerror(error) if error else "unknown error"
        problem = f"a folder of the run could not be watched ({why}); reads in it were not seen"
        if problem not in self.reads.problems:  # once per reason, not once per folder
            self.reads.problems.append(problem)

    def _watch_tree(self, top: Path) -> None:
        """Every folder under `top`, without following links, breadth first and bounded."""
        pending = [str(top)]
        while pending and len(self._folders) < MAX_WATCHES:
            folder = pending.pop()
            self._watch(folder)
            with contextlib.suppress(OSError), os.scandir(folder) as listing:
                pending += [e.path for e in listing if e.is_dir(follow_symlinks=False)]
        if pending:
            self._watch(pending[0])  # records that the bound was reached

    def _loop(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        while not self._stop.is_set():
            if poller.poll(100):
                self._drain()

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            if not data:
                return
            self._parse(data, time.monotonic() - self.clock)

    def _parse(self, data: bytes, at: float) -> None:
        offset = 0
        while offset + _HEADER.size <= len(data):
            watch, mask, _, length = _HEADER.unpack_from(data, offset)
            raw = data[offset + _HEADER.size: offset + _HEADER.size + length]
            offset += _HEADER.size + length
            name = os.fsdecode(raw.split(b"\0", 1)[0])
            folder = self._folders.get(watch)
            if mask & _IN_Q_OVERFLOW:
                self.reads.complete = False
                if _OVERFLOW not in self.reads.problems:  # once: a run can make it often
                    self.reads.problems.append(_OVERFLOW)
            if folder is None or not name:
                continue
            path = os.path.join(folder, name)
            if mask & _IN_ISDIR and mask & (_IN_CREATE | _IN_MOVED_TO):
                self._watch_tree(Path(path))
            elif mask & _IN_CLOSE_NOWRITE and not mask & _IN_ISDIR \
                    and name.lower().endswith(IMAGE_SUFFIXES):
                self._record(at, self._relative[watch] + name)

    def _record(self, at: float, path: str) -> None:
        """Keep one read. The path is interned: a run reads its 80 images 500,000 times,
        and the grader keeps 80 names, not 500,000 copies of them."""
        if len(self.reads.opens) >= MAX_READS:
            if self.reads.complete:
                self.reads.complete = False
                self.reads.problems.append(f"more than {MAX_READS} image reads; the rest "
                                           "were not kept")
            return
        self.reads.opens.append((at, sys.intern(path)))


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        return libc
    except (OSError, AttributeError):
        return None
