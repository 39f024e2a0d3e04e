"""A course served by `grader serve` (a real process, test grade hook) and a real LTI 1.3
platform (devtools/lti_platform.py on lti1p3platform, a separate process) that knows
the tool, both on loopback; and `Browser`, an HTTP client that walks a launch as a
browser does (redirects, the platform's auto-submitted form, cookies).

Why cookies are kept by hand: the service's cookies are Secure (`__Host-`) on loopback,
as browsers allow there, and httpx's cookie jar never returns a Secure cookie over http.
Chromium runs the same launch in tests/browser/test_lti_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from platform_process import Platform, running_platform
from service_fixtures import PASSWORD, Service, csrf_of, free_port
from sqlalchemy import func, select

ASSIGNMENT = "hw1"
COUNTED_TABLES = ("students", "instructors", "tokens", "sessions", "lti_users", "lti_links",
                  "lti_seats", "lti_scores")


@dataclass
class Lms:
    root: Path
    engine: Any
    platform: Platform
    service: Service
    tool: str
    link: str  # the platform's resource link that opens ASSIGNMENT

    def counts(self) -> dict[str, int]:
        """Rows per table of what a launch may store."""
        from grader.service import db

        with self.engine.connect() as connection:
            return {name: int(connection.execute(select(func.count()).select_from(
                db.SERVICE.tables[name])).scalar() or 0) for name in COUNTED_TABLES}


@contextmanager
def served_lms(folder: Path, hook: bool = True, register: bool = True,
               db_url: str | None = None) -> Iterator[Lms]:
    """A course (assignment ASSIGNMENT) served on a known port, a platform registered with
    it (unless not `register`: dynamic registration's tests do it), and a link of the
    platform's course opening the assignment. `hook`: the test grade hook grades (fast),
    or grade_file does (for real). `db_url`: PostgreSQL, else the embedded SQLite."""
    from grader.service import courses
    from grader.service.lti import platforms

    root = folder / "course"
    port = free_port()
    tool = f"http://127.0.0.1:{port}"
    courses.init(root, "prof", PASSWORD, db_url, tool)
    _, engine = courses.open_service(root)
    courses.add_assignment(engine, ASSIGNMENT, "happy-or-sad", title="Happy or sad")
    with running_platform(tool) as platform:
        if register:
            platforms.add(engine, platform.issuer, platform.client_id, platform.auth_login_url,
                          platform.auth_token_url, platform.key_set_url,
                          [platform.deployment_id], "Test LMS")
        link = platform.add_link("Week 1: happy or sad", {"assignment": ASSIGNMENT},
                                 {"label": "Happy or sad", "scoreMaximum": 100})["id"]
        service = Service(root, folder / "service.log", workers=1, hook=hook,
                          extra=["--port", str(port)]).start()
        try:
            yield Lms(root, engine, platform, service, tool, link)
        finally:
            service.stop()
            engine.dispose()


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lms]:
    with served_lms(tmp_path_factory.mktemp("lti")) as served:
        yield served


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lms_on_each_database(request: pytest.FixtureRequest,
                         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lms]:
    """`lms` on SQLite, then on PostgreSQL (the outbox claims rows with SKIP LOCKED there)."""
    db_url = None if request.param == "sqlite" else \
        request.getfixturevalue("postgres").new_database()
    with served_lms(tmp_path_factory.mktemp("lti"), db_url=db_url) as served:
        yield served


def gradebook(lms: Lms, user: str) -> dict[str, Any] | None:
    """The score the LMS's gradebook holds for `user` in the link's grade column."""
    state = lms.platform.state()
    column = next(link["lineitem"] for link in state["links"] if link["id"] == lms.link)
    return state["gradebook"].get(column, {}).get(user)


class Browser:
    """Redirects followed by hand, forms posted as a browser posts them, cookies kept per
    host (Secure ones too: see the module's docstring)."""

    def __init__(self) -> None:
        self.client = httpx.Client(timeout=60, trust_env=False)
        self.jar: dict[str, dict[str, str]] = {}

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        host = urlsplit(url).netloc
        headers = dict(options.pop("headers", {}) or {})
        held = self.jar.get(host, {})
        if held:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in held.items())
        response = self.client.request(method, url, headers=headers, **options)
        self.client.cookies.clear()
        for line in response.headers.get_list("set-cookie"):
            parsed = SimpleCookie()
            parsed.load(line)
            for name, morsel in parsed.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.jar.setdefault(host, {}).pop(name, None)
                else:
                    self.jar.setdefault(host, {})[name] = morsel.value
        return response

    def get(self, url: str, **options: Any) -> httpx.Response:
        return self.request("GET", url, **options)

    def follow(self, response: httpx.Response, limit: int = 10) -> httpx.Response:
        while response.is_redirect and limit:
            response = self.get(urljoin(str(response.url), response.headers["location"]))
            limit -= 1
        return response


@dataclass
class Form:
    action: str
    fields: dict[str, str]
    nonce: str  # the nonce the tool asked for (from the authorization request)


def auto_form(page: str) -> tuple[str, dict[str, str]]:
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action, page[:2000]
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page))
    return unescape(action.group(1)), {k: unescape(v) for k, v in fields.items()}


def begin(browser: Browser, start: str) -> Form:
    """From the platform's launch URL to the form it would post to the tool."""
    response = browser.get(start)
    assert response.status_code == 302, response.text
    login = browser.get(response.headers["location"])  # the tool's /lti/login
    assert login.status_code == 302, login.text
    authorize = login.headers["location"]
    nonce = parse_qs(urlsplit(authorize).query)["nonce"][0]
    page = browser.get(authorize)
    assert page.status_code == 200, page.text
    action, fields = auto_form(page.text)
    return Form(action, fields, nonce)


def post(browser: Browser, form: Form, **changes: str) -> httpx.Response:
    return browser.request("POST", form.action, data={**form.fields, **changes})


def launch(browser: Browser, start: str) -> httpx.Response:
    """A whole launch: the page the browser lands on after the tool's 'continue' page."""
    answer = post(browser, begin(browser, start))
    assert answer.status_code == 200, answer.text
    target = re.search(r'http-equiv="refresh" content="0;url=([^"]+)"', answer.text)
    assert target, answer.text[:2000]
    return browser.follow(browser.get(urljoin(str(answer.url), unescape(target.group(1)))))


def upload(browser: Browser, tool: str, text: str = "print('hello')\n") -> int:
    """Upload a module from the student's page; returns the attempt's id."""
    page = browser.get(f"{tool}/me")
    assert page.status_code == 200, page.text
    answer = browser.request("POST", f"{tool}/me/submissions",
                             data={"csrf": csrf_of(page.text)},
                             files={"file": ("mine.py", text.encode(), "text/x-python")})
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])
