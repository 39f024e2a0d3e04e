"""Limits docs/security.md states with a number, each tested at that number (issue 21):

* the run folder's file count: 100,000 (a run creating more is stopped, one creating
  fewer is not);
* the event stream: 64 MB and 200,000 events (what comes after either is not read);
* the saved model is copied with at most 512 MB + 1 byte, so a larger one is refused by
  size, never copied whole;
* an empty cgroup left by a grader that was SIGKILLed is removed by the next run's
  cgroups, and one of a live grader is left alone.

The CPU-time limit is tested in tests/test_sandbox.py
(test_time_limit_kills_the_whole_process_group) and tests/test_clock.py; Dask workers
grading with the client's course secret in tests/test_cluster_secret.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import components
import pytest

from grader.run import callback_test, cgroups, events, sandbox
from grader.scoring import client, scorer

pytestmark = pytest.mark.timeout(300)
MB = 1024 * 1024


# -- the file count ---------------------------------------------------------------------

def test_the_file_limit_is_100000_for_every_exercise(spec: object) -> None:
    assert sandbox.RunLimits().max_files == 100_000
    assert sandbox.RunLimits.of(spec).max_files == 100_000  # type: ignore[arg-type]


def _run(run_dir: Path, code: str, limits: sandbox.RunLimits) -> sandbox.RunOutcome:
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    workdir = sandbox.RUN_ROOT_IN_SANDBOX
    return sandbox.run(run_dir, [sys.executable, "-c", code],
                       {"PATH": "/usr/bin:/bin", "HOME": workdir}, workdir, limits, True)


MAKE_FILES = ("import os, sys\nos.mkdir('many')\n"
              "for i in range({count}):\n"
              "    os.close(os.open(f'many/{{i}}', os.O_CREAT | os.O_WRONLY))\n"
              "print('made', {count}, flush=True)\n")


@pytest.mark.usefixtures("bubblewrap_required")
def test_a_run_that_creates_more_than_100000_files_is_stopped(tmp_path: Path) -> None:
    outcome = _run(tmp_path / "run", MAKE_FILES.format(count=400_000),
                   sandbox.RunLimits(time_seconds=120, disk_mb=None))
    assert outcome.status == "crashed", outcome
    assert "created more than 100000 files" in outcome.message, outcome
    assert "made" not in outcome.stdout_tail
    made = sum(1 for _ in os.scandir(tmp_path / "run" / "many"))
    assert 100_000 <= made < 400_000


@pytest.mark.usefixtures("bubblewrap_required")
def test_a_run_that_stays_under_the_file_limit_is_not_stopped(tmp_path: Path) -> None:
    outcome = _run(tmp_path / "run", MAKE_FILES.format(count=3_000),
                   sandbox.RunLimits(time_seconds=60, disk_mb=None, max_files=3_100))
    assert outcome.status == "finished" and "made 3000" in outcome.stdout_tail, outcome


# -- the event stream: 64 MB, 200,000 events ---------------------------------------------

EVENT = b'{"o": "set", "p": ["trace"], "v": {}}\n'


def _stream(parts: list[bytes]) -> events.Replay:
    """What EventReader makes of `parts` written by a run, in order, then closed."""
    reader = events.EventReader(time.monotonic())
    descriptor = reader.start()

    def write() -> None:
        for part in parts:
            view = memoryview(part)
            while view:
                view = view[os.write(descriptor, view):]
        reader.close_write_end()

    writer = threading.Thread(target=write)
    writer.start()
    replay = reader.finish(timeout=120)
    writer.join(60)
    return replay


def test_the_documented_stream_caps() -> None:
    assert (events.MAX_STREAM_BYTES, events.MAX_EVENTS) == (64 * MB, 200_000)


@pytest.mark.parametrize("blank_lines, read", [(199_999, True), (200_000, False)])
def test_the_event_after_the_200000th_line_is_not_read(blank_lines: int, read: bool) -> None:
    replay = _stream([b"\n" * blank_lines, EVENT])
    assert (replay.root("trace") is not None) is read
    assert any("more than 200000 events" in p for p in replay.problems) is not read


@pytest.mark.parametrize("over, read", [(0, True), (1, False)])
def test_the_event_past_64_mb_is_not_read(over: int, read: bool) -> None:
    padding = 64 * MB - len(EVENT) + over  # blank lines of 1 KB (each under 1 MB)
    line = b" " * 1023 + b"\n"
    parts = [line * (padding // len(line)), b" " * (padding % len(line)), EVENT]
    assert sum(map(len, parts)) == 64 * MB + over
    replay = _stream(parts)
    assert (replay.root("trace") is not None) is read
    assert any("went over 64 MB" in p for p in replay.problems) is not read


# -- the model copy cap: 512 MB + 1 byte --------------------------------------------------

def test_the_model_cap_is_512_mb_wherever_a_model_is_read() -> None:
    assert scorer.MAX_MODEL_BYTES == client.MAX_MODEL_BYTES == 512 * MB
    assert callback_test.MAX_MODEL_BYTES == 512 * MB


def test_a_model_larger_than_512_mb_is_copied_only_to_the_cap_and_refused(
        tmp_path: Path) -> None:
    source = tmp_path / "artefacts" / "model.keras"
    source.parent.mkdir()
    with source.open("wb") as handle:  # sparse: 2 GB that take no disk
        handle.truncate(2048 * MB)
    target = tmp_path / "copy.keras"
    assert client._copy_no_follow(source, target)
    assert target.stat().st_size == 512 * MB + 1  # a byte more than the scorer accepts
    model, why, _ = scorer._load(target)
    assert model is None and why is not None and "larger than 512 MB" in why
    target.unlink()


# -- the leftover cgroup of a killed grader ------------------------------------------------

def _dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    return int(finished.stdout)


def test_an_empty_cgroup_left_by_a_killed_grader_is_removed_by_the_next_run() -> None:
    components.cgroup("memory")
    parents = cgroups._candidate_parents("memory")
    assert parents
    parent = parents[0][0]
    dead, live = _dead_pid(), os.getpid()
    assert not Path(f"/proc/{dead}").exists()
    leftover = parent / f"{cgroups._PREFIX}{dead}-0badc0de"
    ours = parent / f"{cgroups._PREFIX}{live}-0badc0de"
    leftover.mkdir()
    ours.mkdir()
    try:
        cage = cgroups.MemoryCage.create(256 * MB, 32)  # what the next run does first
        assert cage is not None
        cage.close()
        assert not leftover.exists()
        assert ours.exists()  # a live grader's cgroup is not touched
    finally:
        for path in (leftover, ours):
            if path.exists():
                path.rmdir()
