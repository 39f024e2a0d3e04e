"""grader.run.reads: the images a run reads, seen from outside the sandbox (inotify through
the run folder's bind mount), including folders the run makes; writes do not count."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import components
import pytest

from grader.run import sandbox
from grader.run.reads import ImageReads

CODE = """
import os, shutil, time
for name in ('a.png', 'b.png', 'a.png'):
    open(f'/tmp/data/happy/{name}', 'rb').read()
open('/tmp/data/notes.txt', 'rb').read()
os.makedirs('/tmp/copy/sad')
time.sleep(0.3)
shutil.copy('/tmp/data/happy/b.png', '/tmp/copy/sad/c.png')
time.sleep(0.3)
open('/tmp/copy/sad/c.png', 'rb').read()
"""


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_reads_inside_the_run_are_seen_from_outside(tmp_path: Path, bubblewrap: bool) -> None:
    if bubblewrap:
        components.bubblewrap()
    run_dir = tmp_path / "run"
    (run_dir / "tmp" / "data" / "happy").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        (run_dir / "tmp" / "data" / "happy" / name).write_bytes(b"\x89PNG fake")
    (run_dir / "tmp" / "data" / "notes.txt").write_text("not an image")
    code = CODE if bubblewrap else CODE.replace("/tmp/", f"{run_dir}/tmp/")
    watcher = ImageReads(run_dir, time.monotonic())
    watcher.start()
    outcome = sandbox.run(run_dir, [sys.executable, "-c", code], {"PATH": "/usr/bin:/bin"},
                          sandbox.RUN_ROOT_IN_SANDBOX if bubblewrap else str(run_dir),
                          sandbox.RunLimits(time_seconds=30), bubblewrap)
    reads = watcher.stop()

    assert outcome.status == "finished", outcome.stderr_tail
    paths = [path for _, path in reads.opens]
    # the copy reads b.png once more; writing c.png is no read; reading c.png is
    assert paths == ["tmp/data/happy/a.png", "tmp/data/happy/b.png", "tmp/data/happy/a.png",
                     "tmp/data/happy/b.png", "tmp/copy/sad/c.png"]
    times = [at for at, _ in reads.opens]
    assert times == sorted(times) and times[-1] - times[0] >= 0.5
    assert reads.available and reads.complete


def test_the_number_of_watched_folders_is_bounded(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.run import reads as module

    monkeypatch.setattr(module, "MAX_WATCHES", 5)
    for index in range(10):
        (tmp_path / f"d{index}").mkdir()
    watcher = ImageReads(tmp_path, time.monotonic())
    watcher.start()
    found = watcher.stop()
    assert not found.complete and "more than 5 folders" in found.problems[0]
    shutil.rmtree(tmp_path / "d0")
