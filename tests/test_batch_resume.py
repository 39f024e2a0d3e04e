"""A real `grader batch` killed mid-class loses nothing already graded, leaves no process
behind, and a re-run grades only the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.results import gradebook
from grader.results.layout import GRADEBOOK

pytestmark = pytest.mark.slow

# Each runs in the sandbox for a few seconds and trains nothing: cheap, yet long enough
# for the batch to be killed while one of them is running.
SLOW_BUT_HARMLESS = "import time\ntime.sleep(3)\nprint('done')\n"


def _children() -> dict[int, int]:
    """pid → parent pid for every process, read from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    return parents


def _descendants(root: int) -> set[int]:
    parents = _children()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running_a_submission(root: int) -> bool:
    """A process of the batch runs a submission: its command line or its working folder
    names a run folder (grader-run-…), with bubblewrap or without."""
    for pid in _descendants(root):
        try:
            seen = Path(f"/proc/{pid}/cmdline").read_bytes() + \
                os.readlink(f"/proc/{pid}/cwd").encode()
        except OSError:
            continue
        if b"grader-run-" in seen:
            return True
    return False


def _alive(pids: set[int]) -> set[int]:
    parents = _children()
    return {pid for pid in pids if pid in parents}


def _gradings(out: Path) -> list[gradebook.Grading]:
    path = out / GRADEBOOK
    if not path.exists():
        return []
    with gradebook.Gradebook(path) as book:
        return book.history()


def _batch(folder: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "grader.cli", "batch", str(folder),
                             "--out", str(out), "--jobs", "1", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_killed_batch_keeps_its_grades_and_resumes(tmp_path: Path, data: object,
                                                   how: signal.Signals) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    students = ["ada", "bo", "cy", "di"]
    for name in students:
        (folder / f"{name}.py").write_text(SLOW_BUT_HARMLESS)
    out = tmp_path / "out"
    batch = _batch(folder, out)
    deadline = time.monotonic() + 180
    while not _gradings(out) and time.monotonic() < deadline and batch.poll() is None:
        time.sleep(0.2)
    assert _gradings(out), "no grading finished before the deadline"
    # wait until the next submission is running in its sandbox (its run folder is in use)
    deadline = time.monotonic() + 120
    while not _running_a_submission(batch.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running_a_submission(batch.pid), "the next submission never started"
    tree = _descendants(batch.pid)
    assert tree, "the batch should have worker processes while grading"
    batch.send_signal(how)
    batch.wait(30)
    deadline = time.monotonic() + 20
    while _alive(tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(tree), f"processes left behind: {_alive(tree)}"
    kept = _gradings(out)
    assert 1 <= len(kept) < len(students)
    for grading in kept:  # every kept grading is whole: its result file is complete
        assert (out / grading.student / "result.json").read_text().rstrip().endswith("}")
    assert not list(out.rglob("*.tmp"))

    rerun = _batch(folder, out)
    assert rerun.wait(300) == 0, rerun.stderr.read().decode() if rerun.stderr else ""
    final = _gradings(out)
    assert sorted(g.student for g in final) == students  # each graded exactly once
    assert [g.id for g in final[:len(kept)]] == [g.id for g in kept]  # not regraded
