"""Fair use per student (issue 21), in-process, on SQLite and on PostgreSQL: at most two
uploads of a student wait at once (the third is 429 with Retry-After), an identical file
already waiting is 409 naming its attempt, a student's accepted bytes per UTC day are
capped (429 until midnight), and these hold under ten parallel uploads. Attempt and job
ids answer the same 404 whether they are someone else's or nobody's; /healthz shows
its queue's counts only to an instructor session."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_fixtures import Course, as_instructor, as_student, client, make_course, module

from grader.cli import main
from grader.service import config


def upload(api: Any, course: Course, student: str, data: bytes, name: str = "sol.py") -> Any:
    return api.post("/api/v1/submissions", headers=course.headers(student),
                    files={"file": (name, data)})


def stored_files(course: Course) -> int:
    return sum(1 for path in (course.root / config.UPLOADS).rglob("*") if path.is_file())


def test_a_third_upload_while_two_wait_is_429_until_one_is_graded(course: Course) -> None:
    api = client(course.app(uploads_per_minute=0))
    assert upload(api, course, "ada", module("# one")).status_code == 202
    assert upload(api, course, "ada", module("# two")).status_code == 202
    stored = stored_files(course)
    third = upload(api, course, "ada", module("# three"))
    assert third.status_code == 429, third.text
    assert int(third.headers["Retry-After"]) > 0
    assert "2 upload(s) waiting" in third.json()["detail"]
    assert stored_files(course) == stored  # refused before its bytes reached the store
    assert upload(api, course, "bo", module("# bo's")).status_code == 202  # his own count
    course.grade_queued()
    assert upload(api, course, "ada", module("# three")).status_code == 202


def test_the_same_file_while_it_waits_is_409_naming_its_attempt(course: Course) -> None:
    api = client(course.app(uploads_per_minute=0))
    assert upload(api, course, "ada", module("# a")).json()["number"] == 1
    assert upload(api, course, "ada", module("# b")).json()["number"] == 2
    again = upload(api, course, "ada", module("# a"), "renamed.py")
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == "this file is already waiting to be graded: attempt 1"
    assert upload(api, course, "bo", module("# a")).status_code == 202  # not his
    course.grade_queued()  # graded: the same bytes may be sent again, as a new attempt
    assert upload(api, course, "ada", module("# a")).json()["number"] == 3


def test_a_students_bytes_per_day_are_capped(course: Course) -> None:
    size = len(module("# 1"))
    api = client(course.app(uploads_per_minute=0, queued_per_student=0,
                            upload_bytes_per_day=3 * size))
    for n in range(3):  # 3 x size is exactly the cap: still accepted
        assert upload(api, course, "ada", module(f"# {n}")).status_code == 202
    stored = stored_files(course)
    fourth = upload(api, course, "ada", module("# 4"))
    assert fourth.status_code == 429, fourth.text
    assert "in a day" in fourth.json()["detail"]
    assert 0 < int(fourth.headers["Retry-After"]) <= 24 * 3600  # until 00:00 UTC
    assert stored_files(course) == stored
    assert upload(api, course, "bo", module("# 4")).status_code == 202
    too_big = upload(api, course, "bo", module("#" * 3 * size))  # alone past a day's cap
    assert too_big.status_code == 413 and "in a day" in too_big.json()["detail"]


def test_zero_means_no_limit(course: Course) -> None:
    api = client(course.app(uploads_per_minute=0, queued_per_student=0,
                            upload_bytes_per_day=0))
    assert [upload(api, course, "ada", module(f"# {n}")).status_code
            for n in range(4)] == [202] * 4


def test_the_browser_form_gets_the_same_refusals(course: Course) -> None:
    from service_fixtures import csrf_of

    app = course.app(uploads_per_minute=0)
    browser = as_student(app, course.tokens["ada"])

    def send(data: bytes) -> Any:
        return browser.post("/me/submissions", data={"csrf": csrf_of(browser.get("/me").text)},
                            files={"file": ("a.py", data)}, follow_redirects=False)

    assert send(module("# a")).status_code == 303
    duplicate = send(module("# a"))
    assert duplicate.status_code == 409 and "already waiting" in duplicate.text
    assert send(module("# b")).status_code == 303
    full = send(module("# c"))
    assert full.status_code == 429 and "Retry-After" in full.headers


def parallel(course: Course, app: Any, payloads: list[bytes]) -> Counter[int]:
    def one(data: bytes) -> int:
        return int(upload(client(app), course, "ada", data).status_code)

    with ThreadPoolExecutor(max_workers=len(payloads)) as pool:
        return Counter(pool.map(one, payloads))


def test_ten_parallel_identical_uploads_make_one_attempt(course: Course) -> None:
    app = course.app(uploads_per_minute=0, queued_per_student=0)  # the 409 rule alone
    assert parallel(course, app, [module("# same")] * 10) == {202: 1, 409: 9}


def test_ten_parallel_different_uploads_queue_two(course: Course) -> None:
    app = course.app(uploads_per_minute=0)
    assert parallel(course, app, [module(f"# {n}") for n in range(10)]) == {202: 2, 429: 8}


def test_ten_identical_uploads_through_two_web_processes_make_one_attempt(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    """The rule holds between processes (SQLite: each process's group commit, one writer
    lock between them; PostgreSQL: the student's row lock), not only between threads."""
    course = make_course(tmp_path / "course", databases(), ["ada"])
    service = service_factory(course.root, workers=1,
                              extra=["--web-processes", "2"]).start()
    deadline = time.monotonic() + 60
    while len(service.web_processes()) < 2:
        assert time.monotonic() < deadline, "two web processes did not start"
        time.sleep(0.1)
    same = module("# fake: sleep=3")  # waits, then runs 3 s: the rule holds meanwhile

    def one(_: int) -> int:
        return httpx.post(f"{service.url}/api/v1/submissions", headers=course.headers("ada"),
                          files={"file": ("sol.py", same)}, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert Counter(pool.map(one, range(10))) == {202: 1, 409: 9}


def test_someone_elses_attempt_is_the_404_of_nobodys(course: Course) -> None:
    app = course.app(uploads_per_minute=0)
    api = client(app)
    accepted = upload(api, course, "ada", module()).json()
    attempt, job, missing = accepted["attempt"], accepted["job"], 999
    bo = course.headers("bo")
    for mine, none in ((f"/api/v1/attempts/{attempt}", f"/api/v1/attempts/{missing}"),
                       (f"/api/v1/jobs/{job}", f"/api/v1/jobs/{missing}"),
                       (f"/attempts/{attempt}/report", f"/attempts/{missing}/report")):
        theirs, nobodys = api.get(mine, headers=bo), api.get(none, headers=bo)
        assert theirs.status_code == nobodys.status_code == 404, (mine, theirs.text)
        # the same words, but for the id asked about
        assert theirs.json()["detail"].replace(str(attempt), "N").replace(str(job), "N") \
            == nobodys.json()["detail"].replace(str(missing), "N")
    page = as_student(app, course.tokens["bo"])
    for address in (f"/me/attempts/{attempt}", f"/attempts/{attempt}/report"):
        assert page.get(address).status_code == 404
    assert page.get(f"/me/attempts/{missing}").status_code == 404


def test_healthz_shows_counts_to_an_instructor_only(course: Course) -> None:
    app = course.app(uploads_per_minute=0)
    api = client(app)
    assert upload(api, course, "ada", module()).status_code == 202
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/healthz", headers=course.headers("ada")).json() == {"status": "ok"}
    assert as_student(app, course.tokens["bo"]).get("/healthz").json() == {"status": "ok"}
    assert as_instructor(app).get("/healthz").json() == {
        "status": "ok", "queued": 1, "running": 0, "done": 0, "error": 0}
    public = client(course.app(public_health_counts=True)).get("/healthz").json()
    assert public["queued"] == 1


@pytest.mark.parametrize(("flags", "expected"), [
    ([], {}),
    (["--queued-per-student", "5", "--upload-mb-per-day", "1.5", "--public-health-counts"],
     {"queued_per_student": 5, "upload_bytes_per_day": 1572864,  # 1.5 x 2**20
      "public_health_counts": True}),
    (["--queued-per-student", "0", "--upload-mb-per-day", "0"],
     {"queued_per_student": 0, "upload_bytes_per_day": 0}),
])
def test_serve_flags_reach_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        flags: list[str], expected: dict[str, Any]) -> None:
    from grader.service import server

    seen: dict[str, Any] = {}
    monkeypatch.setattr(server, "serve", lambda *args: seen.update(args[-1]) or 0)
    assert main(["serve", "--dir", str(tmp_path), *flags]) == 0
    mine = ("queued_per_student", "upload_bytes_per_day", "public_health_counts")
    assert {k: v for k, v in seen.items() if k in mine} == expected


def test_negative_caps_are_a_usage_error(tmp_path: Path) -> None:
    assert main(["serve", "--dir", str(tmp_path), "--queued-per-student", "-1"]) != 0
    assert main(["serve", "--dir", str(tmp_path), "--upload-mb-per-day", "-1"]) != 0
