"""A real Dask cluster on 127.0.0.1 for the tests: a scheduler and worker processes,
started with the environment the test gives them (its own GRADER_DATA_DIR, say), and
killed (their whole process groups) when the block ends; and the check that a worker drew
its data with its client's course secret."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.exercise import datasource
from grader.exercise.secret import course_secret, fingerprint


def _start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, stdin=subprocess.DEVNULL)


@contextmanager
def local_cluster(folder: Path, workers: int, env: dict[str, str]) -> Iterator[str]:
    """The scheduler's address, once it is up; the workers join as they start (a task
    submitted meanwhile waits for one)."""
    scheduler_file = folder / "scheduler.json"
    processes = [_start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                         "127.0.0.1", "--port", "0", "--dashboard-address", ":0",
                         "--scheduler-file", str(scheduler_file)], folder / "sched.log", env)]
    try:
        deadline = time.monotonic() + 90
        while not scheduler_file.exists():  # polled: the scheduler writes it when ready
            assert time.monotonic() < deadline, (folder / "sched.log").read_text()[-2000:]
            time.sleep(0.1)
        address = str(json.loads(scheduler_file.read_text())["address"])
        for index in range(workers):
            processes.append(_start([sys.executable, "-m", "distributed.cli.dask_worker",
                                     address, "--nthreads", "1", "--no-nanny", "--name",
                                     f"w{index}", "--dashboard-address", ":0",
                                     "--memory-limit", "0"], folder / f"w{index}.log", env))
        yield address
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def images(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.png"))}


def assert_drawn_with_the_clients_secret(worker_data: Path, client_data: Path,
                                         exercise: str = "happy-or-sad") -> None:
    """The worker's folder holds the client's hidden split and no secret of its own."""
    manifest = json.loads((worker_data / exercise / "dataset.json").read_text())
    assert manifest[datasource.SECRET_KEY] == fingerprint(course_secret(client_data))
    assert images(worker_data / exercise / "hidden") == images(client_data / exercise /
                                                               "hidden")
    assert not list(worker_data.rglob("course.secret"))  # it never needed its own
