"""The browser-facing authentication of issue 21, over HTTP on SQLite and PostgreSQL: one
CSRF rule for every request that changes something (token AND same origin, bearer tokens
exempt), `__Host-` session cookies read under that name only, a new session id at every
sign-in, sessions deleted on a password reset and a revoke and bounded per owner, a login
that a flood cannot turn against its owner (failures counted per address, per name and
in all; a delay instead of a lock-out; the password check under a concurrency cap), and
the rate limiter's semantics and bounded table (Hypothesis)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from service_fixtures import (
    PASSWORD,
    Course,
    as_instructor,
    as_student,
    client,
    csrf_of,
    make_course,
    module,
)
from sqlalchemy import func, select

from grader.service import auth, db
from grader.service.ratelimit import SlidingWindow

UPLOAD = "/api/v1/submissions"


def _file(text: str = "") -> dict[str, Any]:
    return {"file": ("sol.py", module(text))}


def _attempts(course: Course, student: str) -> int:
    answer = client(course.app()).get(UPLOAD, headers=course.headers(student))
    assert answer.status_code == 200
    return len(answer.json())


def _sessions(course: Course, **owner: int) -> int:
    (column, value), = owner.items()
    with db.reading(course.engine) as connection:
        return int(connection.execute(select(func.count()).select_from(db.sessions)
                                      .where(db.sessions.c[column] == value)).scalar())


def _token_id(course: Course, student: str) -> int:
    found = auth.student_for_token(course.engine, course.tokens[student])
    assert found is not None
    return found.token_id


def _instructor_id(course: Course) -> int:
    with db.reading(course.engine) as connection:
        return int(connection.execute(select(db.instructors.c.id)
                                      .where(db.instructors.c.name == "prof")).scalar())


# -- one CSRF rule ---------------------------------------------------------------------

def test_a_cookie_upload_through_the_api_needs_the_token_and_our_origin(course: Course
                                                                        ) -> None:
    app = course.app()
    browser = as_student(app, course.tokens["ada"])
    token = csrf_of(browser.get("/me").text)
    refused = {
        "no token": {},
        "wrong token": {"X-CSRF-Token": "not-the-token"},
        "another port": {"X-CSRF-Token": token, "Origin": "http://testserver:8001"},
        "another site": {"X-CSRF-Token": token, "Origin": "https://evil.example"},
        "sandboxed frame": {"X-CSRF-Token": token, "Origin": "null",
                            "Sec-Fetch-Site": "cross-site"},
        "cross-site fetch": {"X-CSRF-Token": token, "Sec-Fetch-Site": "cross-site"},
        "same-site fetch": {"X-CSRF-Token": token, "Sec-Fetch-Site": "same-site"},
    }
    for why, headers in refused.items():
        answer = browser.post(UPLOAD, headers=headers, files=_file())
        assert answer.status_code == 403, why
    assert _attempts(course, "ada") == 0  # none of them became an attempt
    # our own page's script: the token and our origin; an old browser: the token alone
    for n, headers in enumerate(({"X-CSRF-Token": token, "Origin": "http://testserver",
                                  "Sec-Fetch-Site": "same-origin"},
                                 {"X-CSRF-Token": token, "Origin": "null",  # no-referrer
                                  "Sec-Fetch-Site": "same-origin"},
                                 {"X-CSRF-Token": token})):
        answer = browser.post(UPLOAD, headers=headers, files=_file(f"# {n}"))
        assert answer.status_code == 202, answer.text
        course.grade_queued()  # (so that no fair-use cap on queued uploads is reached)
    # a bearer token is no ambient credential: neither token nor origin is asked of it
    script = client(app)
    answer = script.post(UPLOAD, headers={**course.headers("bo"), "Origin": "https://x.org",
                                          "Sec-Fetch-Site": "cross-site"}, files=_file())
    assert answer.status_code == 202
    assert _attempts(course, "ada") == 3 and _attempts(course, "bo") == 1


def test_a_large_cross_site_cookie_upload_is_refused_before_its_body_is_read(
        course: Course) -> None:
    """The session cookie identifies the student, but another site sent the request: 403
    from the headers alone (before, the 20 MB body was read, then refused by the route)."""
    import asyncio

    app = course.app()
    browser = as_student(app, course.tokens["ada"])
    cookies = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": UPLOAD, "raw_path": UPLOAD.encode(),
             "query_string": b"", "root_path": "", "server": ("testserver", 80),
             "client": ("203.0.113.9", 5000),
             "headers": [(b"host", b"testserver"), (b"origin", b"https://evil.example"),
                         (b"cookie", cookies.encode()), (b"content-length", b"2000000"),
                         (b"content-type", b"multipart/form-data; boundary=b")]}
    body_reads: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        body_reads.append({})
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # a thread of its own: Playwright's sync API (the browser tests, in the same worker)
    # keeps an event loop running in this one
    with ThreadPoolExecutor(1) as alone:
        alone.submit(asyncio.run, app(scope, receive, send)).result()

    assert sent[0]["status"] == 403 and body_reads == []
    assert b"another site" in b"".join(m.get("body", b"") for m in sent[1:])


# What an LMS posts from its own pages: cross-site by design, authenticated by the LMS's
# signed id_token, the state cookie and a nonce used once (tests/lti/test_lti_launch.py)
CROSS_SITE_BY_DESIGN = {"/lti/login", "/lti/launch"}


def test_every_route_that_changes_something_refuses_another_origin(course: Course) -> None:
    """The rule holds for every POST/PUT/PATCH/DELETE route the app has, so a route added
    without check_form fails here."""
    app = course.app()
    instructor, student = as_instructor(app), as_student(app, course.tokens["ada"])
    tokens = {id(instructor): csrf_of(instructor.get("/instructor/assignments/hw1").text),
              id(student): csrf_of(student.get("/me").text)}
    values = {"name": "hw1", "student": "bo", "token": course.tokens["bo"]}
    checked = []
    for route in _routes(app.routes):
        methods = set(getattr(route, "methods", ()) or ()) - {"GET", "HEAD", "OPTIONS"}
        for method in sorted(methods):
            path = re.sub(r"\{(\w+)[^}]*\}", lambda m: values.get(m.group(1), "1"),
                          route.path)  # type: ignore[attr-defined]
            if path in CROSS_SITE_BY_DESIGN:
                continue
            browser = instructor if path.startswith(("/instructor", "/lti/links")) \
                else student
            token = tokens[id(browser)]
            answer = browser.request(method, path, data={"csrf": token, "name": "prof",
                                                         "password": PASSWORD},
                                     headers={"X-CSRF-Token": token,
                                              "Sec-Fetch-Site": "same-site"},
                                     files=_file() if "submissions" in path else None,
                                     follow_redirects=False)
            assert answer.status_code == 403, (method, path, answer.text)
            checked.append(path)
    assert {"/login", "/logout", "/me/submissions", UPLOAD, f"/s/{values['token']}",
            "/instructor/assignments/hw1/regrade", "/lti/links/1",
            "/instructor/assignments/hw1/students/bo/revoke"} <= set(checked)
    assert _attempts(course, "ada") == 0 and auth.student_for_token(
        course.engine, course.tokens["bo"]) is not None  # nothing was revoked


def _routes(routes: list[Any]) -> list[Any]:
    """Every route, inside included routers too (FastAPI keeps those as one entry)."""
    found = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        found += _routes(inner.routes) if inner is not None else [route]
    return found


# -- cookies -----------------------------------------------------------------------------

@pytest.mark.parametrize("base", ["https://testserver", "http://127.0.0.1:8000",
                                  "http://localhost:8000"])
def test_session_cookies_are_host_prefixed_and_read_only_under_that_name(
        course: Course, base: str) -> None:
    from fastapi.testclient import TestClient

    app = course.app()
    browser = TestClient(app, base_url=base, raise_server_exceptions=False)
    form = browser.get(f"/s/{course.tokens['ada']}")
    # (httpx sends Secure cookies to https only: over http the test sends them by hand)
    browser.cookies.set("__Host-grader_csrf", csrf_of(form.text))
    opened = browser.post(f"/s/{course.tokens['ada']}", data={"csrf": csrf_of(form.text)},
                          follow_redirects=False)
    assert opened.status_code == 303
    for cookie in (form.headers["set-cookie"], opened.headers["set-cookie"]):
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert cookie.startswith("__Host-grader_"), cookie
        assert "secure" in attributes and "path=/" in attributes, cookie
        assert not any(a.startswith("domain") for a in attributes), cookie
    session_id = opened.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert session_id
    for name, status in (("__Host-grader_session", 200), ("grader_session", 401)):
        # the same valid id under the unprefixed name (as a sibling host sets it) is unread
        other = TestClient(app, base_url=base, raise_server_exceptions=False)
        other.cookies.set(name, session_id)
        assert other.get("/me").status_code == status, name


def test_plain_http_elsewhere_keeps_unprefixed_cookies(course: Course) -> None:
    """A demo on a LAN address over http: browsers drop Secure cookies there."""
    form = client(course.app()).get("/login")
    assert form.headers["set-cookie"].startswith("grader_csrf=")
    assert "secure" not in form.headers["set-cookie"].lower().replace("samesite", "")


# -- sessions ----------------------------------------------------------------------------

def test_a_new_session_id_at_every_link_opening_and_login(course: Course) -> None:
    app = course.app()
    token = course.tokens["ada"]
    browser = as_student(app, token)
    first = browser.cookies["grader_session"]
    form = browser.get(f"/s/{token}")
    browser.post(f"/s/{token}", data={"csrf": csrf_of(form.text)}, follow_redirects=False)
    second = browser.cookies["grader_session"]
    assert second != first
    stale = client(app)
    stale.cookies.set("grader_session", first)
    assert stale.get("/me").status_code == 401  # the old one ended with the new one
    # an id planted before sign-in (fixation) is ended, never adopted
    attacker = as_student(app, course.tokens["bo"])
    planted = attacker.cookies["grader_session"]
    victim = client(app)
    victim.cookies.set("grader_session", planted)
    form = victim.get(f"/s/{token}")
    opened = victim.post(f"/s/{token}", data={"csrf": csrf_of(form.text)},
                         follow_redirects=False)
    assert opened.status_code == 303
    assert f"grader_session={planted}" not in opened.headers["set-cookie"]
    assert attacker.get("/me").status_code == 401
    instructor = as_instructor(app)
    before = instructor.cookies["grader_session"]
    form = instructor.get("/login")
    instructor.post("/login", data={"csrf": csrf_of(form.text), "name": "prof",
                                     "password": PASSWORD}, follow_redirects=False)
    assert instructor.cookies["grader_session"] != before
    assert _sessions(course, instructor_id=_instructor_id(course)) == 1


def test_a_password_reset_and_a_revoke_delete_the_sessions(course: Course) -> None:
    from grader.cli import main

    app = course.app()
    instructors = [as_instructor(app) for _ in range(2)]
    students = {name: as_student(app, course.tokens[name]) for name in ("ada", "bo")}
    assert main(["serve", "instructor", "--dir", str(course.root), "--name", "prof",
                 "--password-file", str(_secret(course, "a new password"))]) == 0
    assert _sessions(course, instructor_id=_instructor_id(course)) == 0
    for browser in instructors:
        assert browser.get("/instructor", follow_redirects=False).status_code == 303
    ada = _token_id(course, "ada")
    assert main(["serve", "roster", "revoke", "--dir", str(course.root), "--assignment",
                 "hw1", "--student", "ada"]) == 0
    assert _sessions(course, token_id=ada) == 0
    assert students["ada"].get("/me").status_code == 401
    # the dashboard's button
    instructor = client(app)
    form = instructor.get("/login")
    assert instructor.post("/login", data={"csrf": csrf_of(form.text), "name": "prof",
                                           "password": "a new password"},
                           follow_redirects=False).status_code == 303
    bo = _token_id(course, "bo")
    assert _sessions(course, token_id=bo) == 1
    page = instructor.get("/instructor/assignments/hw1/students/bo")
    answer = instructor.post("/instructor/assignments/hw1/students/bo/revoke",
                             data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303
    assert _sessions(course, token_id=bo) == 0


def _secret(course: Course, text: str) -> Any:
    path = course.root.parent / "password.txt"
    path.write_text(text + "\n")
    return path


def test_session_rows_per_owner_are_bounded(course: Course) -> None:
    app = course.app(sessions_kept=3)
    browsers = [as_student(app, course.tokens["ada"]) for _ in range(8)]
    assert _sessions(course, token_id=_token_id(course, "ada")) == 3
    assert [b.get("/me").status_code for b in browsers] == [401] * 5 + [200] * 3
    for _ in range(5):
        as_instructor(app)
    assert _sessions(course, instructor_id=_instructor_id(course)) == 3


# -- login -------------------------------------------------------------------------------

def _login(browser: Any, password: str, name: str = "prof") -> tuple[int, float]:
    form = browser.get("/login")
    started = time.monotonic()
    answer = browser.post("/login", data={"csrf": csrf_of(form.text), "name": name,
                                          "password": password}, follow_redirects=False)
    return answer.status_code, time.monotonic() - started


def _from(app: Any, address: str) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app, client=(address, 40000), raise_server_exceptions=False)


def test_wrong_passwords_delay_the_right_one_and_never_lock_it_out(course: Course) -> None:
    app = course.app(logins_per_minute=10, login_failures_per_address=10, login_delay=0.5)
    guesser = _from(app, "203.0.113.9")
    statuses = [_login(guesser, f"guess {n}")[0] for n in range(10)]
    assert statuses == [401] * 10
    assert _login(guesser, "guess 11")[0] == 429  # that address is out, nothing hashed
    status, took = _login(_from(app, "198.51.100.7"), PASSWORD)
    assert status == 303 and took >= 0.5  # the owner gets in, after the delay
    status, took = _login(_from(app, "198.51.100.8"), "still wrong")
    assert status == 401 and took >= 0.5


def test_only_failures_count_and_all_names_share_a_global_limit(course: Course) -> None:
    app = course.app(logins_per_minute=1, login_failures_per_address=0,
                     login_failures_global=3, login_delay=0.4)
    owner = _from(app, "198.51.100.7")
    for _ in range(6):  # successes use up nothing
        assert _login(owner, PASSWORD)[0] == 303
    for n in range(3):  # three random names from three addresses: each new to its limit
        assert _login(_from(app, f"203.0.113.{n}"), "x", name=f"random-{n}")[0] == 401
    status, took = _login(_from(app, "203.0.113.50"), "x", name="random-new")
    assert status == 401 and took >= 0.4  # the global limit slows a name never seen


def test_the_password_check_runs_under_its_concurrency_cap(
        course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    running, most, calls = [0], [0], [0]
    lock, release = threading.Lock(), threading.Event()

    class SlowHasher:
        def verify(self, stored: str, password: str) -> bool:
            with lock:
                running[0] += 1
                calls[0] += 1
                most[0] = max(most[0], running[0])
            try:
                release.wait(60)
                return False
            finally:
                with lock:
                    running[0] -= 1

    app = course.app(login_hashes=2, login_queue=3, login_failures_per_address=0,
                     login_failures_global=0, logins_per_minute=0, login_delay=0.1)
    browsers = [_from(app, f"203.0.113.{n}") for n in range(12)]
    forms = [csrf_of(b.get("/login").text) for b in browsers]
    monkeypatch.setattr(auth, "_hasher", SlowHasher())
    statuses: list[int] = []

    def attempt(index: int) -> None:
        answer = browsers[index].post("/login", data={"csrf": forms[index], "name": "prof",
                                                      "password": "x"})
        with lock:
            statuses.append(answer.status_code)

    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(attempt, n) for n in range(12)]
        try:
            _until(lambda: statuses.count(503) == 7 and running[0] == 2)
            assert calls[0] == 2  # the five admitted: two hashing, three waiting
        finally:
            release.set()
        for future in futures:
            future.result(60)
    assert sorted(statuses) == [401] * 5 + [503] * 7
    assert most[0] == 2 and calls[0] == 5  # never above the cap; the 503s hashed nothing


def _until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)


# -- the rate limiter --------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@settings(max_examples=150, deadline=None)
@given(limit=st.integers(1, 5), steps=st.lists(
    st.tuples(st.sampled_from("abc"), st.floats(0, 4), st.booleans()), max_size=80))
def test_the_limiter_never_allows_more_than_its_limit_in_any_window(
        limit: int, steps: list[tuple[str, float, bool]]) -> None:
    """Exactly the sliding window: a hit is allowed iff fewer than `limit` counted hits
    of its key lie in the last `seconds` (10 here); `wait` never counts."""
    clock = Clock()
    window = SlidingWindow(limit, 10, clock=clock)
    counted: dict[str, list[float]] = {"a": [], "b": [], "c": []}
    for key, advance, peek in steps:
        clock.now += advance
        recent = [t for t in counted[key] if t > clock.now - 10]
        if peek:
            assert (window.wait(key) is None) == (len(recent) < limit)
            continue
        allowed = window.hit(key) is None
        assert allowed == (len(recent) < limit)
        if allowed:
            counted[key].append(clock.now)
    for times in counted.values():
        for start in times:
            assert len([t for t in times if start <= t < start + 10]) <= limit


@settings(max_examples=50, deadline=None)
@given(keys=st.lists(st.integers(0, 10_000), max_size=300), gap=st.floats(0, 3))
def test_the_limiter_forgets_idle_keys_and_stays_under_its_bound(keys: list[int],
                                                                  gap: float) -> None:
    clock = Clock()
    window = SlidingWindow(2, 10, max_keys=50, clock=clock)
    for key in keys:
        clock.now += gap
        window.hit(key)
        assert len(window) <= 50
    clock.now += 11  # everyone idle for a window: a few calls forget them all
    for _ in range(len(keys)):
        window.wait(-1)
    assert len(window) == 0
    window.count("x")
    window.count("x")
    assert window.hit("x") is not None and window.wait("x") is not None


# -- a login flood beside a class uploading ------------------------------------------------

def _peak_memory_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


# The flooder runs at the lowest CPU priority: a real one floods from machines of its own,
# so its client's CPU is not the server's. Sharing two cores with the server, the class's
# clients and the other test worker's training, it once starved the class's own clients
# (the server answered in 0.42 s at most, they measured 1.4 s).
FLOOD = """
import json, os, re, secrets, sys, threading, httpx
os.nice(19)
url, stop, counts, lock = sys.argv[1], threading.Event(), {}, threading.Lock()
def flooder():
    with httpx.Client(base_url=url, timeout=60) as browser:
        form = browser.get("/login")
        cookie = form.headers["set-cookie"].split(";")[0]  # Secure: sent by hand
        csrf = re.search('name="csrf" value="([^"]+)"', form.text).group(1)
        while not stop.is_set():
            status = browser.post("/login", headers={"Cookie": cookie}, data={
                "csrf": csrf, "name": secrets.token_hex(4), "password": "guess"}).status_code
            with lock:
                counts[status] = counts.get(status, 0) + 1
                if status == 503 and counts[503] == 10:  # once: a 401 after it is not news
                    print("on", flush=True)  # the flood fills the password check's queue
threads = [threading.Thread(target=flooder) for _ in range(40)]
for thread in threads:
    thread.start()
sys.stdin.read()
stop.set()
for thread in threads:
    thread.join()
print(json.dumps(counts), flush=True)
"""


def test_a_login_flood_costs_the_flooder_not_the_class(tmp_path: Path, database: str | None,
                                                       service_factory: Any) -> None:
    """40 parallel logins with random names in a loop, from a process of their own (real
    argon2; the address limit off, so that each reaches the password check until the
    global limit slows them) while 20 students upload: the
    students' p95 stays under 1 s and the web process's memory far from issue 21's 1.7 GB
    (before: 157 MB -> 1.7 GB, another student's /api/v1/me a median of 11 s)."""
    import httpx

    students = [f"s{n:02d}" for n in range(20)]
    course = make_course(tmp_path / "course", database, students)
    course.engine.dispose()
    service = service_factory(course.root, workers=2, extra=[
        "--login-failures-per-address", "0", "--login-delay", "1",
        "--login-queue", "4"]).start()  # (a shorter end of the flood)

    def upload(student: str, rounds: range = range(1, 4)) -> list[tuple[int, float]]:
        timed = []
        with httpx.Client(base_url=service.url, timeout=60,
                          headers=course.headers(student)) as script:
            for n in rounds:
                started = time.monotonic()
                answer = script.post(UPLOAD, files=_file(f"# {student} {n}"))
                timed.append((answer.status_code, time.monotonic() - started))
        return timed

    # the same class without the flood first: how long an upload takes on this machine
    with ThreadPoolExecutor(20) as class_:
        quiet = sorted(t for rs in class_.map(lambda s: upload(s, range(1)), students)
                       for _, t in rs)
    flood = subprocess.Popen([sys.executable, "-c", FLOOD, service.url], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert flood.stdout is not None and flood.stdout.readline() == "on\n"
        with ThreadPoolExecutor(20) as class_:
            results = [r for rs in class_.map(upload, students) for r in rs]
        counts = json.loads(flood.communicate("", timeout=120)[0])
    finally:
        if flood.poll() is None:
            flood.kill()
    statuses = [status for status, _ in results]
    assert set(statuses) <= {202, 409, 429} and statuses.count(202) >= len(statuses) // 2
    took = sorted(seconds for _, seconds in results)
    p95 = took[int(0.95 * len(took)) - 1]
    # issue 21: under 1 s. On a machine slower than this one the bound grows with it: never
    # below 1 s, and at most three times the class's own p95 without the flood
    assert p95 < max(1.0, 3 * quiet[int(0.95 * len(quiet)) - 1]), (took, quiet)
    assert set(counts) <= {"401", "503"} and counts["503"] >= 10, counts
    assert service.process is not None and _peak_memory_mb(service.process.pid) < 700


# -- the headers the CSRF rule reads, as any client may send them ------------------------

def _request(headers: dict[str, str]) -> Any:
    from types import SimpleNamespace

    from starlette.requests import Request

    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(
        base_url="https://grader.example.edu")))
    return Request({"type": "http", "method": "POST", "path": "/", "scheme": "http",
                    "server": ("testserver", 80), "query_string": b"", "app": app,
                    "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                for k, v in headers.items()]})


_HEADER = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)


@settings(max_examples=300, deadline=None)
@given(origin=st.none() | _HEADER | st.sampled_from(
    ["http://testserver", "https://grader.example.edu", "http://testserver:8001",
     "https://evil.grader.example.edu", "null", "HTTP://TESTSERVER"]),
    fetch_site=st.none() | _HEADER | st.sampled_from(
        ["same-origin", "same-site", "cross-site", "none", "SAME-ORIGIN"]))
def test_the_origin_rule_accepts_only_our_own_origin(origin: str | None,
                                                     fetch_site: str | None) -> None:
    """Whatever the two headers hold, the rule answers (never raises), and a request is
    accepted only when no header names another origin: our two origins (the Host header's
    and the base URL's), "null" (our no-referrer pages), or no Origin at all."""
    from grader.service import web

    headers = {"Host": "testserver"}
    if origin is not None:
        headers["Origin"] = origin
    if fetch_site is not None:
        headers["Sec-Fetch-Site"] = fetch_site
    accepted = web.same_origin(_request(headers))
    ours = {"http://testserver", "https://grader.example.edu", "null"}
    if accepted:
        assert fetch_site is None or fetch_site.lower() == "same-origin"
        assert origin is None or origin.strip().lower() in ours or not origin.strip()
    if fetch_site in ("same-site", "cross-site", "none"):
        assert not accepted
    if origin in ("http://testserver:8001", "https://evil.grader.example.edu"):
        assert not accepted
