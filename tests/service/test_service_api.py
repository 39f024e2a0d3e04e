"""The JSON API and the report address, in-process, on SQLite and on PostgreSQL: an upload
is accepted, graded once, and its report answers 200 to its student, 404 to another, 404
when there is no such attempt, 401 without a valid token; every refusal has its status
(400/401/403/404/409/413/415/422/429) and a JSON body, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from service_fixtures import NOTEBOOK, Course, as_instructor, client, make_course, module
from sqlalchemy import select

from grader.results.gradebook import Gradebook
from grader.service import courses, db


def upload(api: Any, course: Course, student: str, data: bytes, name: str = "sol.py",
           **extra: Any) -> Any:
    return api.post("/api/v1/submissions", headers=course.headers(student),
                    files={"file": (name, data)}, **extra)


def error_of(answer: Any, status: int) -> str:
    assert answer.status_code == status, (answer.status_code, answer.text)
    body = answer.json()
    assert body["status"] == status and body["detail"], body
    return str(body["detail"])


def test_an_upload_is_accepted_graded_once_and_reported_to_its_student_only(
        course: Course) -> None:
    api = client(course.app())
    answer = upload(api, course, "ada", NOTEBOOK.read_bytes(), "solution.ipynb")
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["state"] == "queued" and accepted["position"] == 1
    assert accepted["number"] == 1
    status = api.get(accepted["status_url"], headers=course.headers("ada")).json()
    assert status["state"] == "queued" and status["position"] == 1
    assert error_of(api.get(accepted["report_url"], headers=course.headers("ada")), 409)
    course.grade_queued()
    status = api.get(accepted["status_url"], headers=course.headers("ada")).json()
    assert status["state"] == "done"
    result = status["attempt"]["result"]
    assert result["score"] == result["max_score"] == 100 and status["attempt"]["counts"]
    report = api.get(accepted["report_url"], headers=course.headers("ada"))
    assert report.status_code == 200 and "text/html" in report.headers["content-type"]
    assert "Your report" in report.text and "Instructor view" not in report.text
    assert "default-src 'none'" in report.headers["content-security-policy"]
    # another student: the 404 of nothing there on each of ada's addresses; nobody: 401
    for address in (accepted["report_url"], accepted["status_url"],
                    f"/api/v1/attempts/{accepted['attempt']}"):
        error_of(api.get(address, headers=course.headers("bo")), 404)
        error_of(api.get(address, headers={"Accept": "application/json"}), 401)
        assert api.get(address).status_code == 401  # a person gets the same, as a page
        error_of(api.get(address, headers={"Authorization": "Bearer not-a-token"}), 401)
    error_of(api.get("/attempts/999/report", headers=course.headers("ada")), 404)
    error_of(api.get("/api/v1/jobs/999", headers=course.headers("ada")), 404)
    error_of(api.get("/api/v1/jobs/0", headers=course.headers("ada")), 422)
    # one job, one result, one gradebook row
    with db.reading(course.engine) as connection:
        assert connection.execute(select(db.job_results)).all().__len__() == 1
    with Gradebook(course.engine) as book:
        rows = book.history()
    assert [(r.student, r.score) for r in rows] == [("ada", 100.0)]
    mine = api.get("/api/v1/submissions", headers=course.headers("ada")).json()
    assert [a["number"] for a in mine] == [1]
    assert api.get("/api/v1/submissions", headers=course.headers("bo")).json() == []


REFUSED = [
    ("notes.txt", b"print(1)", 415),
    ("no-suffix", b"print(1)", 415),
    (".py", b"print(1)", 415),
    ("empty.py", b"  \n", 422),
    ("latin1.py", "print('é')".encode("latin-1"), 422),
    ("broken.ipynb", b'{"cells": [', 422),
    ("list.ipynb", b"[1, 2]", 422),
    ("old.ipynb", json.dumps({"cells": [], "nbformat": 3}).encode(), 422),
    ("nocode.ipynb", json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                 "cells": [{"cell_type": "markdown", "source": "hi",
                                            "metadata": {}}]}).encode(), 422),
    ("deep.ipynb", b"[" * 100_000, 422),
]


def test_what_is_not_a_submission_is_refused_before_a_job_exists(course: Course) -> None:
    api = client(course.app())
    for name, data, status in REFUSED:
        error_of(upload(api, course, "ada", data, name), status)
    with db.reading(course.engine) as connection:
        assert connection.execute(select(db.jobs)).all() == []
        assert connection.execute(select(db.attempts)).all() == []


def test_size_limit_413_and_malformed_bodies_400_or_422(course: Course) -> None:
    api = client(course.app(upload_limit=1000))
    error_of(upload(api, course, "ada", module("x" * 2000)), 413)
    big = b"#" + b"x" * 200_000
    error_of(upload(api, course, "ada", big), 413)  # past the limit plus the form's room
    answer = api.post("/api/v1/submissions", headers={**course.headers("ada"),
                      "Content-Type": "multipart/form-data; boundary=zzz"},
                      content=b"--zzz\r\nnot a part")
    assert answer.status_code in (400, 422), answer.text
    error_of(api.post("/api/v1/submissions", headers=course.headers("ada")), 422)


def test_rules_attempts_409_deadline_409_cooldown_429_rate_429_assignment_403(
        tmp_path: Any, databases: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_SERVICE_TEST_GRADE", "fakegrade:grade")
    limited = make_course(tmp_path / "a", databases(), ["ada"], max_attempts=2)
    api = client(limited.app())
    assert upload(api, limited, "ada", module("1")).status_code == 202
    assert upload(api, limited, "ada", module("2")).status_code == 202
    assert "attempt" in error_of(upload(api, limited, "ada", module("3")), 409)
    error_of(api.post("/api/v1/submissions", headers=limited.headers("ada"),
                      files={"file": ("a.py", module())}, data={"assignment": "other"}), 403)
    limited.engine.dispose()

    closed = make_course(tmp_path / "b", databases(), ["ada"], deadline="2001-01-01T00:00:00Z",
                         refuse_late=True)
    assert "deadline" in error_of(upload(client(closed.app()), closed, "ada", module()), 409)
    closed.engine.dispose()

    slow = make_course(tmp_path / "c", databases(), ["ada"], cooldown_seconds=600)
    api = client(slow.app())
    assert upload(api, slow, "ada", module("1")).status_code == 202
    refused = upload(api, slow, "ada", module("2"))
    error_of(refused, 429)
    assert 500 <= int(refused.headers["retry-after"]) <= 601
    slow.engine.dispose()

    busy = make_course(tmp_path / "d", databases(), ["ada"])
    api = client(busy.app(uploads_per_minute=2))
    assert [upload(api, busy, "ada", module(str(i))).status_code for i in range(3)] == \
        [202, 202, 429]
    busy.engine.dispose()


def test_a_revoked_token_is_401_everywhere(course: Course) -> None:
    api = client(course.app())
    assert api.get("/api/v1/me", headers=course.headers("ada")).status_code == 200
    assert courses.revoke(course.engine, "hw1", "ada") == 1
    error_of(api.get("/api/v1/me", headers=course.headers("ada")), 401)
    error_of(upload(api, course, "ada", module()), 401)
    assert api.get("/api/v1/me", headers=course.headers("bo")).status_code == 200


def test_late_work_counts_with_its_penalty_everywhere(tmp_path: Any, database: str | None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_SERVICE_TEST_GRADE", "fakegrade:grade")
    late = make_course(tmp_path / "late", database, ["ada"], late_penalty_per_day=10,
                       deadline="2001-01-01T00:00:00Z")
    api = client(late.app())
    accepted = upload(api, late, "ada", module()).json()
    late.grade_queued()
    attempt = api.get(f"/api/v1/attempts/{accepted['attempt']}",
                      headers=late.headers("ada")).json()
    assert attempt["late_days"] > 365
    result = attempt["result"]
    assert result["score"] == 0 and result["max_score"] == 100  # 10 %/day: all of it
    assert result["checks"][-1]["id"] == "late_penalty"
    assert sum(c["score"] for c in result["checks"]) == result["score"]
    report = api.get(accepted["report_url"], headers=late.headers("ada")).text
    assert "Late penalty" in report
    me = api.get("/api/v1/me", headers=late.headers("ada")).json()
    assert me["score"] == 0 and me["counting_attempt"] == 1
    with Gradebook(late.engine) as book:  # the gradebook keeps what the grader found
        assert [r.score for r in book.history()] == [100.0]
    late.engine.dispose()


def test_best_or_last_decides_which_attempt_counts(course: Course) -> None:
    api = client(course.app())
    for text in ("", "fake: fail-hidden"):  # 100, then 80
        assert upload(api, course, "ada", module(text)).status_code == 202
    course.grade_queued()
    attempts = api.get("/api/v1/submissions", headers=course.headers("ada")).json()
    assert [(a["result"]["score"], a["counts"]) for a in attempts] == [(100, True),
                                                                       (80, False)]
    with db.writing(course.engine) as connection:
        connection.execute(db.assignments.update().values(counting="last"))
    attempts = api.get("/api/v1/submissions", headers=course.headers("ada")).json()
    assert [a["counts"] for a in attempts] == [False, True]


def test_a_grader_failure_is_the_attempts_error_and_the_job_ends_in_error(
        course: Course) -> None:
    api = client(course.app())
    accepted = upload(api, course, "ada", module("fake: crash")).json()
    course.grade_queued()
    status = api.get(accepted["status_url"], headers=course.headers("ada")).json()
    assert status["state"] == "error"
    assert status["attempt"]["result"]["status"] == "error"
    assert "grader failed" in status["attempt"]["result"]["error"]


def test_health_and_schema(course: Course) -> None:
    api = client(course.app())
    assert api.get("/healthz").json() == {"status": "ok"}  # the counts: instructors only
    assert as_instructor(course.app()).get("/healthz").json() == {
        "status": "ok", "queued": 0, "running": 0, "done": 0, "error": 0}
    schema = api.get("/openapi.json").json()
    assert "/api/v1/submissions" in schema["paths"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    docs = api.get("/docs")
    assert docs.status_code == 200 and "POST /api/v1/submissions" in docs.text
    assert "cdn" not in docs.text.lower()
