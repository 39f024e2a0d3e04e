"""`grader batch --cluster`: six samples graded on a real Dask cluster (a scheduler and two
workers on 127.0.0.1), one worker killed mid-batch; every submission is graded exactly once
and gets the same grade as the local batch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from samples import REPRODUCED, SAMPLES, grade_of

from grader.exercise.datasource import default_data_dir
from grader.results import gradebook
from grader.results.layout import GRADEBOOK
from grader.results.result import GradeResult

pytestmark = pytest.mark.slow


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GRADER_DATA_DIR": str(default_data_dir()),
           "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "3"}
    with log.open("wb") as handle:
        return subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.fixture
def cluster(tmp_path: Path, data: object):  # noqa: ANN201
    scheduler_file = tmp_path / "scheduler.json"
    processes = [_start([sys.executable, "-m", "distributed.cli.dask_scheduler",
                         "--host", "127.0.0.1", "--port", "0", "--dashboard-address", ":0",
                         "--scheduler-file", str(scheduler_file)], tmp_path / "scheduler.log")]
    deadline = time.monotonic() + 60
    while not scheduler_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert scheduler_file.exists(), (tmp_path / "scheduler.log").read_text()[-2000:]
    address = json.loads(scheduler_file.read_text())["address"]
    for index in range(2):
        processes.append(_start([sys.executable, "-m", "distributed.cli.dask_worker",
                                 address, "--nthreads", "1", "--no-nanny", "--name",
                                 f"w{index}", "--dashboard-address", ":0",
                                 "--memory-limit", "0"], tmp_path / f"worker{index}.log"))
    try:
        yield address, processes[1:]
    finally:
        for process in processes:
            _stop(process)


def _gradings(out: Path) -> list[gradebook.Grading]:
    if not (out / GRADEBOOK).exists():
        return []
    with gradebook.Gradebook(out / GRADEBOOK) as book:
        return book.history()


def _task_held_by(worker_name: str, address: str, out: Path,
                  batch: subprocess.Popen[bytes]) -> str:
    """Wait until at least one grading is recorded and the worker named `worker_name` is
    running a grading task; return that task's student, asked of the scheduler itself."""
    from distributed import Client

    with Client(address, timeout="30s") as client:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and batch.poll() is None:
            workers = client.scheduler_info()["workers"]
            target = next((a for a, w in workers.items() if w.get("name") == worker_name),
                          None)
            held = [str(k) for k in client.processing([target]).get(target, [])] \
                if target else []
            grading = [k for k in held if k.startswith("grade-")]
            if grading and _gradings(out):
                recorded = {r.student for r in _gradings(out)}
                student = grading[0][len("grade-"):].rsplit("-", 1)[0]
                if student not in recorded:
                    return student
            time.sleep(0.3)
    raise AssertionError("the worker never held a grading while the batch ran")


def test_cluster_grades_each_submission_once_with_the_local_grades(
        cluster, tmp_path: Path, sample_results: dict[str, GradeResult]) -> None:  # noqa: ANN001
    address, workers = cluster
    folder = tmp_path / "class"
    folder.mkdir()
    names = REPRODUCED
    for name in names:
        (folder / name).write_bytes((SAMPLES / name).read_bytes())
    out = tmp_path / "out"
    batch = subprocess.Popen([sys.executable, "-m", "grader.cli", "batch", str(folder),
                              "--out", str(out), "--cluster", address, "--quiet"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    held = _task_held_by("w0", address, out, batch)
    workers[0].send_signal(signal.SIGKILL)  # lost mid-batch, with a grading in hand
    output = batch.communicate(timeout=900)[0].decode()
    assert batch.returncode == 0, output[-3000:]
    rows = _gradings(out)
    assert sorted(r.student for r in rows) == sorted(Path(n).stem for n in names), output
    # the grading the killed worker held was done again elsewhere, and recorded once
    assert [r.student for r in rows].count(held) == 1, (held, output)
    with gradebook.Gradebook(out / GRADEBOOK) as book:
        for result in book.latest():
            assert grade_of(result) == grade_of(sample_results[result.submission]), \
                result.student
