"""The service as real processes on 127.0.0.1, on SQLite and on PostgreSQL: every accepted
upload is graded exactly once — under 60 concurrent uploads from 20 students, across a
`kill -9` of the service, across a worker killed mid-grading, and (with --cluster) across a
Dask worker killed mid-grading. Gradings are the test hook's (tests/service/fakegrade.py),
which also logs each call, so "graded twice, recorded once" is visible."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_fixtures import HERE, HOOK, Course, alive, make_course, module
from sqlalchemy import func, select

from grader.results.gradebook import Gradebook
from grader.service import db
from grader.service.storage import Storage


def post(url: str, token: str, data: bytes, name: str = "sol.py") -> httpx.Response:
    return httpx.post(f"{url}/api/v1/submissions", headers={"Authorization": f"Bearer {token}"},
                      files={"file": (name, data)}, timeout=60)


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def health(url: str) -> dict[str, int]:
    return httpx.get(f"{url}/healthz", timeout=30).json()  # type: ignore[no-any-return]


def assert_each_job_graded_once(course: Course, expected_jobs: int | None = None) -> None:
    with db.reading(course.engine) as connection:
        jobs = connection.execute(select(db.jobs.c.id, db.jobs.c.state)).all()
        results = connection.execute(select(db.job_results.c.job_id)).scalars().all()
        gradings = connection.execute(select(func.count()).select_from(db.gradings)).scalar()
        shas = connection.execute(select(db.attempts.c.upload_sha256)).scalars().all()
    if expected_jobs is not None:
        assert len(jobs) == expected_jobs
    assert {state for _, state in jobs} == {"done"}, Counter(s for _, s in jobs)
    assert sorted(results) == sorted(job for job, _ in jobs)  # one result per job
    assert gradings == len(jobs)
    storage = Storage(course.root / "uploads")
    assert all(storage.verify(sha) for sha in shas)  # no file lost, none altered


def upload_at_once(url: str, course: Course, students: list[str],
                   each: int) -> list[tuple[str, httpx.Response]]:
    """`each` uploads per student, sent by 20 threads at once; every one accepted."""
    uploads = [(s, module(f"# {s} attempt {n}\n# fake: sleep=0.05")) for s in students
               for n in range(each)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda u: post(url, course.tokens[u[0]], u[1]), uploads))
    assert [a.status_code for a in answers] == [202] * len(uploads), \
        [a.text for a in answers if a.status_code != 202][:3]
    return [(student, answer) for (student, _), answer in zip(uploads, answers, strict=True)]


def test_sixty_uploads_from_twenty_students_are_each_graded_once(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    students = [f"s{i:02d}" for i in range(20)]
    course = make_course(tmp_path / "course", databases(), students)
    calls = tmp_path / "calls.log"
    service = service_factory(course.root, workers=2,
                              env={"FAKE_GRADE_LOG": str(calls)}).start()
    upload_at_once(service.url, course, students, 3)
    wait_for(lambda: health(service.url)["done"] == 60, 180, "60 gradings")
    assert_each_job_graded_once(course, 60)
    graded = Counter(line.split()[1] for line in calls.read_text().splitlines())
    assert len(graded) == 60 and set(graded.values()) == {1}  # each graded once, no more
    with Gradebook(course.engine) as book:
        assert len(book.history()) == 60
        assert {r.student for r in book.latest()} == set(students)
    course.engine.dispose()


def test_two_web_processes_share_the_uploads_and_a_killed_one_is_replaced(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    students = [f"s{i:02d}" for i in range(20)]
    course = make_course(tmp_path / "course", databases(), students)
    service = service_factory(course.root, workers=2,
                              extra=["--web-processes", "2"]).start()
    wait_for(lambda: len(service.web_processes()) == 2, 60, "two web processes")
    answers = upload_at_once(service.url, course, students, 2)
    numbers = Counter((student, answer.json()["number"]) for student, answer in answers)
    assert set(numbers.values()) == {1} and len(numbers) == 40  # attempts 1 and 2 of each
    wait_for(lambda: health(service.url)["done"] == 40, 120, "40 gradings")
    assert_each_job_graded_once(course, 40)

    first, second = service.web_processes()
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: first not in service.web_processes()
             and len(service.web_processes()) == 2, 60, "a replacement web process")
    for n in range(6):  # whichever process takes them, uploads are still accepted (each
        # a new file: the same one while it waits is refused, 409)
        assert post(service.url, course.tokens["s00"], module(f"# again {n}")).status_code \
            == 202

    web = service.web_processes()
    service.kill()  # kill -9 of the service: its web processes must not answer on
    wait_for(lambda: not any(alive(p) for p in web), 30, "the web processes to stop")
    course.engine.dispose()


def test_kill_9_of_the_service_loses_no_accepted_upload_and_grades_none_twice(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    course = make_course(tmp_path / "course", databases(), ["ada", "bo", "cy"])
    service = service_factory(course.root, workers=2).start()
    accepted: list[int] = []
    stop = threading.Event()

    def keep_uploading() -> None:
        count = 0
        while not stop.is_set():
            student = ("ada", "bo", "cy")[count % 3]
            try:
                answer = post(service.url, course.tokens[student],
                              module(f"# upload {count}\n# fake: sleep=0.3"))
                time.sleep(0.1)
            except httpx.HTTPError:
                return  # the service is gone: this upload was never acknowledged
            if answer.status_code == 202:
                accepted.append(answer.json()["job"])
            count += 1

    uploader = threading.Thread(target=keep_uploading)
    uploader.start()
    wait_for(lambda: health(service.url)["done"] >= 2 and health(service.url)["running"] >= 1,
             60, "gradings under way")
    workers = service.workers()
    assert len(workers) == 2
    service.kill()  # kill -9, while uploads arrive and jobs run
    stop.set()
    uploader.join(60)
    wait_for(lambda: not any(alive(p) for p in workers), 30, "the workers to die with it")
    with db.reading(course.engine) as connection:
        left = connection.execute(select(func.count()).select_from(db.jobs)
                                  .where(db.jobs.c.state == "running")).scalar()
    assert left >= 1  # the kill did cut gradings short
    again = service_factory(course.root, workers=2).start()
    with db.reading(course.engine) as connection:
        total = connection.execute(select(func.count()).select_from(db.jobs)).scalar()
    wait_for(lambda: health(again.url)["done"] == total, 120, "every job after the restart")
    assert_each_job_graded_once(course)
    with db.reading(course.engine) as connection:
        known = set(connection.execute(select(db.jobs.c.id)).scalars())
    assert set(accepted) <= known and len(accepted) >= 3
    assert "back in the queue" in again.log()
    course.engine.dispose()


def test_a_worker_killed_mid_grading_has_its_job_graded_elsewhere_once(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    course = make_course(tmp_path / "course", databases(), ["ada"])
    calls = tmp_path / "calls.log"
    service = service_factory(course.root, workers=2,
                              env={"FAKE_GRADE_LOG": str(calls)}).start()
    answer = post(service.url, course.tokens["ada"], module("# fake: sleep=4"))
    assert answer.status_code == 202
    wait_for(lambda: calls.exists() and calls.read_text().strip(), 30, "the grading to start")
    first_pid = int(calls.read_text().split()[0])
    os.kill(first_pid, signal.SIGKILL)
    wait_for(lambda: health(service.url)["done"] == 1, 60, "the grading elsewhere")
    assert_each_job_graded_once(course, 1)
    pids = [int(line.split()[0]) for line in calls.read_text().splitlines()]
    assert len(pids) == 2 and pids[1] != first_pid  # graded twice, recorded once
    with db.reading(course.engine) as connection:
        assert connection.execute(select(db.jobs.c.tries)).scalar() == 1
    assert "back in the queue" in service.log()
    assert len(service.workers()) == 2  # the dead worker was replaced
    course.engine.dispose()


def _start(argv: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Any:
    calls = tmp_path / "dask-calls.log"
    env = {**os.environ, "PYTHONPATH": str(HERE), "GRADER_SERVICE_TEST_GRADE": HOOK,
           "FAKE_GRADE_LOG": str(calls), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "3"}
    scheduler_file = tmp_path / "scheduler.json"
    processes = [_start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                         "127.0.0.1", "--port", "0", "--dashboard-address", ":0",
                         "--scheduler-file", str(scheduler_file)], tmp_path / "sched.log", env)]
    try:
        wait_for(scheduler_file.exists, 60, "the Dask scheduler")
        address = json.loads(scheduler_file.read_text())["address"]
        for index in range(2):
            processes.append(_start([sys.executable, "-m", "distributed.cli.dask_worker",
                                     address, "--nthreads", "1", "--no-nanny", "--name",
                                     f"w{index}", "--dashboard-address", ":0",
                                     "--memory-limit", "0"], tmp_path / f"w{index}.log", env))
        yield address, calls
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def test_with_cluster_a_dask_worker_killed_mid_grading_is_graded_elsewhere_once(
        tmp_path: Path, dask_cluster: Any, service_factory: Any) -> None:
    address, calls = dask_cluster
    course = make_course(tmp_path / "course", None, ["ada", "bo"])
    service = service_factory(course.root, extra=["--cluster", address]).start()
    for index, student in enumerate(("ada", "bo", "ada", "bo")):
        answer = post(service.url, course.tokens[student],
                      module(f"# {index}\n# fake: sleep=3"))
        assert answer.status_code == 202
    wait_for(lambda: calls.exists() and calls.read_text().strip(), 90, "a task on a worker")
    victim = int(calls.read_text().split()[0])
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: health(service.url)["done"] == 4, 120, "every job on the cluster")
    assert_each_job_graded_once(course, 4)
    lines = calls.read_text().splitlines()
    assert len(lines) == 5 and Counter(line.split()[1] for line in lines).most_common(1)[0][1] \
        == 2  # the lost task ran again on the other worker; one result
    with db.reading(course.engine) as connection:
        assert set(connection.execute(select(db.jobs.c.tries)).scalars()) == {0}
    course.engine.dispose()
