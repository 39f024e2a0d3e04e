"""The run folder's disk use, watched from outside: what the run adds to its folder (its
/tmp and /dev/shm included) and how many files it makes, polled, with the run stopped
once over a limit (docs/security.md: "Limits").

Why a poll and not a size-limited tmpfs: a tmpfs holds the files in memory, charged to
the run's memory cgroup, and vanishes before the trusted side reads the artefacts.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path


def folder_usage(folder: Path, max_files: int | None = None) -> tuple[int, int]:
    """(bytes on disk, entries) under `folder`, without following links; stops counting
    bytes once `max_files` entries were seen (a million empty files is its own attack)."""
    total, entries = 0, 0
    stack = [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                for entry in listing:
                    entries += 1
                    if max_files is not None and entries > max_files:
                        return total, entries
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    total += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return total, entries


class DiskWatch:
    """Polls the run folder; over the disk or file-count limit it calls `stop` once."""

    def __init__(self, run_dir: Path, disk_mb: int | None, max_files: int | None,
                 poll_seconds: float, stop: Callable[[], None]) -> None:
        self.run_dir, self.stop = run_dir, stop
        self.disk_mb, self.max_files, self.poll_seconds = disk_mb, max_files, poll_seconds
        self.baseline = folder_usage(run_dir)[0]
        self.message = ""
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        if self.disk_mb or self.max_files:
            self._thread.start()

    def _watch(self) -> None:
        disk = (self.disk_mb or 0) * 1024 * 1024
        interval = self.poll_seconds
        while not self._done.wait(interval):
            used, entries = folder_usage(self.run_dir, self.max_files)
            self.peak = max(self.peak, used - self.baseline)
            # past half the limit, look five times as often: the overshoot is what the
            # run writes between two looks
            near = disk and used - self.baseline > disk // 2
            interval = self.poll_seconds / (5 if near else 1)
            if disk and used - self.baseline > disk:
                self.message = (f"the run wrote more than its {self.disk_mb} MB disk "
                                "limit into its folder and was stopped")
            elif self.max_files and entries > self.max_files:
                self.message = (f"the run created more than {self.max_files} files "
                                "in its folder and was stopped")
            if self.message:
                self.stop()
                return

    def close(self) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
