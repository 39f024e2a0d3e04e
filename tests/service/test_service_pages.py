"""The pages, in-process, on both databases, as a student and an instructor would use
them — and as an attacker would: CSRF on every form, cookies HttpOnly + SameSite=Strict
(+ Secure over https), a Content-Security-Policy that allows no other site on every page,
tokens and passwords in no page and no log line, instructor pages closed to students."""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from typing import Any

import pytest
from service_fixtures import PASSWORD, Course, as_instructor, as_student, client, csrf_of, module

from grader.results.gradebook import Gradebook
from grader.service import web

OTHER_SITES = ("http:", "https:", "*", "cdn")


def policy_allows_no_other_site(answer: Any) -> None:
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, policy
    for word in OTHER_SITES:
        assert word not in policy, policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"


def student_upload(browser: Any, data: bytes, name: str = "sol.py") -> Any:
    page = browser.get("/me")
    return browser.post("/me/submissions", data={"csrf": csrf_of(page.text)},
                        files={"file": (name, data)}, follow_redirects=False)


def test_a_student_opens_their_link_uploads_and_reads_their_report(course: Course) -> None:
    app = course.app()
    token = course.tokens["ada"]
    link = client(app).get(f"/s/{token}")
    assert link.status_code == 200 and "Continue as ada" in link.text
    assert token not in link.text  # the form posts back to its own address
    policy_allows_no_other_site(link)
    browser = as_student(app, token)
    page = browser.get("/me")
    assert page.status_code == 200 and "No attempt yet" in page.text
    policy_allows_no_other_site(page)
    sent = student_upload(browser, module())
    assert sent.status_code == 303 and sent.headers["location"].startswith("/me/attempts/")
    waiting = browser.get(sent.headers["location"])
    assert "Queued: position 1" in waiting.text and 'id="live"' in waiting.text
    course.grade_queued()
    done = browser.get(sent.headers["location"])
    assert "100 / 100" in done.text and "This attempt counts" in done.text
    report = browser.get(done.text.split('href="/attempts/')[1].split('"')[0]
                         .join(["/attempts/", ""]))
    assert report.status_code == 200 and "Your report" in report.text
    assert "Instructor view" not in report.text and "Hidden split" not in report.text
    policy_allows_no_other_site(report)
    # the page's numbers are the report's
    assert "100 / 100" in report.text and "All" in done.text
    # bo, signed in by his own link, gets the 404 of nothing there for ada's attempt
    bo = as_student(app, course.tokens["bo"])
    attempt = sent.headers["location"].rsplit("/", 1)[1]
    assert bo.get(f"/me/attempts/{attempt}").status_code == 404
    assert bo.get(f"/attempts/{attempt}/report").status_code == 404
    assert client(app).get("/me").status_code == 401


def test_refusals_are_pages_with_their_status(course: Course) -> None:
    browser = as_student(course.app(), course.tokens["ada"])
    refused = student_upload(browser, b"hello", "notes.txt")
    assert refused.status_code == 415 and "Not accepted" in refused.text
    assert student_upload(browser, b"{", "a.ipynb").status_code == 422
    page = browser.get("/me")
    empty = browser.post("/me/submissions", data={"csrf": csrf_of(page.text)},
                         files={"file": ("", b"")})
    assert empty.status_code in (400, 422)
    assert client(course.app()).get("/s/not-a-real-token").status_code == 404
    missing = browser.get("/nowhere")
    assert missing.status_code == 404 and "<html" in missing.text


def test_every_form_needs_its_csrf_token(course: Course) -> None:
    app = course.app()
    browser = as_student(app, course.tokens["ada"])
    assert browser.post("/me/submissions", files={"file": ("a.py", module())}).status_code \
        == 403
    assert browser.post("/me/submissions", data={"csrf": "forged"},
                        files={"file": ("a.py", module())}).status_code == 403
    page = browser.get("/me")
    foreign = browser.post("/me/submissions", data={"csrf": csrf_of(page.text)},
                           files={"file": ("a.py", module())},
                           headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    # a link cannot be used to sign someone in from another page without the form's token
    stranger = client(app)
    assert stranger.post(f"/s/{course.tokens['ada']}", data={"csrf": "x"}).status_code == 403
    login = client(app)
    login.get("/login")
    assert login.post("/login", data={"name": "prof", "password": PASSWORD}).status_code == 403
    instructor = as_instructor(app)
    assert instructor.post("/instructor/assignments/hw1/regrade").status_code == 403
    assert instructor.post("/logout", data={"csrf": "nope"}).status_code == 403


@pytest.mark.parametrize("https", [False, True])
def test_cookies_are_httponly_samesite_strict_and_secure_over_https(
        course: Course, https: bool) -> None:
    app = course.app()
    browser = client(app, https)
    form = browser.get(f"/s/{course.tokens['ada']}")
    answer = browser.post(f"/s/{course.tokens['ada']}", data={"csrf": csrf_of(form.text)},
                          follow_redirects=False)
    for cookie in [form.headers["set-cookie"], answer.headers["set-cookie"]]:
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=strict" in lowered, cookie
        assert ("secure" in lowered.replace("samesite", "")) == https, cookie
    forced = client(course.app(secure_cookies=True))
    assert "secure" in forced.get("/login").headers["set-cookie"].lower()


def test_tokens_and_passwords_reach_no_page_and_no_log(course: Course,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = course.app()
    token = course.tokens["ada"]
    pages = []
    browser = as_student(app, token)
    pages += [browser.get(f"/s/{token}").text, browser.get("/me").text]
    student_upload(browser, module())
    course.grade_queued()
    api = client(app)
    pages.append(json.dumps(api.get("/api/v1/submissions",
                                    headers=course.headers("ada")).json()))
    instructor = as_instructor(app)
    for address in ("/instructor", "/instructor/assignments/hw1",
                    "/instructor/assignments/hw1/students/ada",
                    "/instructor/assignments/hw1/summary/index.html",
                    "/instructor/assignments/hw1/summary/exports/grades.csv"):
        answer = instructor.get(address)
        assert answer.status_code == 200, address
        pages.append(answer.text)
    # the service's own loggers (the test's HTTP client logs its requests' URLs)
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if r.name.startswith(("grader", "uvicorn", "alembic", "sqlalchemy")))
    assert "/s/…" in logged  # the link was logged, without its token
    for secret in (token, course.tokens["bo"], PASSWORD):
        assert secret not in logged
        for text in pages:
            assert secret not in text


def test_instructor_pages_need_an_instructor(course: Course) -> None:
    app = course.app()
    anonymous = client(app)
    answer = anonymous.get("/instructor", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert anonymous.get("/instructor/assignments/hw1/summary/results.csv",
                         headers={"Accept": "application/json"}).status_code == 401
    student = as_student(app, course.tokens["ada"])
    assert student.get("/instructor/assignments/hw1", follow_redirects=False).status_code \
        == 303
    with_token = anonymous.get("/instructor/attempts/1/instructor",
                               headers=course.headers("ada"))
    assert with_token.status_code == 401
    wrong = client(app)
    form = wrong.get("/login")
    refused = wrong.post("/login", data={"csrf": csrf_of(form.text), "name": "prof",
                                         "password": "wrong password"})
    assert refused.status_code == 401 and "wrong name or password" in refused.text


def test_login_attempts_are_rate_limited(course: Course) -> None:
    # per address (the per-name limit delays instead: test_service_auth_hardening.py)
    app = course.app(login_failures_per_address=2, login_delay=0.1)
    browser = client(app)
    statuses = []
    for _ in range(3):
        form = browser.get("/login")
        statuses.append(browser.post("/login", data={"csrf": csrf_of(form.text),
                                                     "name": "prof", "password": "no"})
                        .status_code)
    assert statuses == [401, 401, 429]


def test_the_dashboard_regrades_exports_and_revokes(course: Course) -> None:
    app = course.app()
    api = client(app)
    for student, text in (("ada", ""), ("bo", "fake: fail-hidden")):
        assert api.post("/api/v1/submissions", headers=course.headers(student),
                        files={"file": ("sol.py", module(text))}).status_code == 202
    course.grade_queued()
    instructor = as_instructor(app)
    board = instructor.get("/instructor/assignments/hw1")
    assert board.status_code == 200
    policy_allows_no_other_site(board)
    assert "ada" in board.text and "bo" in board.text and "80 / 100" in board.text
    summary = instructor.get("/instructor/assignments/hw1/summary/index.html")
    assert summary.status_code == 200 and "script-src 'sha256-" in \
        summary.headers["content-security-policy"]
    for href in ("ada/report.html", "ada/instructor.html", "results.csv",
                 "exports/grades.csv", "exports/gradescope.zip"):
        assert href in summary.text
        linked = instructor.get(f"/instructor/assignments/hw1/summary/{href}")
        assert linked.status_code == 200, href
    assert "Instructor view" in instructor.get(
        "/instructor/assignments/hw1/summary/ada/instructor.html").text
    grades = list(csv.DictReader(io.StringIO(instructor.get(
        "/instructor/assignments/hw1/summary/exports/grades.csv").text)))
    assert [(g["student"], g["score"]) for g in grades] == [("ada", "100.0"), ("bo", "80.0")]
    results = list(csv.DictReader(io.StringIO(instructor.get(
        "/instructor/assignments/hw1/summary/results.csv").text.lstrip("\ufeff"))))
    assert [(r["student"], r["score"]) for r in results] == [("ada", "100.0"), ("bo", "80.0")]
    for name in ("gradescope", "prairielearn", "coursera"):
        archive = zipfile.ZipFile(io.BytesIO(instructor.get(
            f"/instructor/assignments/hw1/summary/exports/{name}.zip").content))
        assert sorted(archive.namelist()) == [f"{name}/ada.json", f"{name}/bo.json"]
    assert instructor.get("/instructor/assignments/hw1/summary/exports/x.zip").status_code \
        == 404
    # regrade everyone: new jobs, new gradings, the old ones kept as history
    csrf = csrf_of(board.text)
    answer = instructor.post("/instructor/assignments/hw1/regrade", data={"csrf": csrf},
                             follow_redirects=False)
    assert answer.status_code == 303 and "message=regrade" in answer.headers["location"]
    assert "Regrade queued" in instructor.get(answer.headers["location"]).text
    course.grade_queued()
    with Gradebook(course.engine) as book:
        assert sorted(r.student for r in book.history()) == ["ada", "ada", "bo", "bo"]
    # one student only
    instructor.post("/instructor/assignments/hw1/regrade", data={"csrf": csrf,
                                                                 "student": "bo"})
    course.grade_queued()
    with Gradebook(course.engine) as book:
        assert [r.student for r in book.history()].count("bo") == 3
    # revoke bo's link: his token and his session stop working
    bo = as_student(app, course.tokens["bo"])
    detail = instructor.get("/instructor/assignments/hw1/students/bo")
    assert detail.status_code == 200 and "Revoke the link" in detail.text
    instructor.post("/instructor/assignments/hw1/students/bo/revoke", data={"csrf": csrf})
    assert bo.get("/me").status_code == 401
    assert api.get("/api/v1/me", headers=course.headers("bo")).status_code == 401
    assert instructor.get("/instructor/assignments/nope").status_code == 404


def test_logout_ends_the_session(course: Course) -> None:
    instructor = as_instructor(course.app())
    page = instructor.get("/instructor")
    answer = instructor.post("/logout", data={"csrf": csrf_of(page.text)},
                             follow_redirects=False)
    assert answer.status_code == 303
    assert instructor.get("/instructor", follow_redirects=False).status_code == 303
    assert web.PAGE_CSP.startswith("default-src 'none'")
