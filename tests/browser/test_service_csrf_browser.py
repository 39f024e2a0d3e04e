"""The attacks of issue 21 that need a real browser, against a real `grader serve`, in
headless Chromium:

* CSRF through the API: a page on another port of 127.0.0.1 (same site, so the
  SameSite=Strict session cookie goes along) uploads to /api/v1/submissions in the
  signed-in student's name, by fetch() with credentials and by an auto-submitted form.
  Before: 202, an attempt in the student's name. Now: 403 and no attempt.
* Cookie tossing: a sibling host (evil.app.localhost beside grader.app.localhost, on
  another port too) sets the session cookie, by document.cookie and by Set-Cookie, to the attacker's
  own session. Before: the victim then worked and uploaded inside the attacker's session.
  Now: `__Host-` cookies cannot be set for another host and the server reads no other
  name, so the victim stays themself.

Chromium keeps Secure (`__Host-`) cookies on http://127.0.0.1 and http://*.localhost,
which is what the local demo relies on (web.secure); these tests would fail otherwise.
"""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))
from service_fixtures import Service, make_course, postgres  # noqa: E402, F401

pytestmark = [pytest.mark.browser]

FILE_JS = "new File(['print(1)\\n'], 'sol.py', {type: 'text/x-python'})"


class Attacker:
    """A tiny site on another port: serves the given pages, each with its headers."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                body, headers = pages.get(self.path, ("", []))
                self.send_response(200)
                for name, value in [("Content-Type", "text/html"), *headers]:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Service]]:
    """The service on each database (issue 21: every attack on SQLite and PostgreSQL)."""
    folder = tmp_path_factory.mktemp("csrf")
    database = None if request.param == "sqlite" else \
        request.getfixturevalue("postgres").new_database()
    course = make_course(folder / "course", database, ["ada", "bo", "eve"])
    service = Service(course.root, folder / "service.log", workers=1).start()
    try:
        yield course, service
    finally:
        service.stop()
        course.engine.dispose()


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    site = Attacker()
    yield site
    site.close()


def _attempts(course: Any, service: Service, student: str) -> int:
    import httpx

    answer = httpx.get(f"{service.url}/api/v1/submissions", headers=course.headers(student))
    assert answer.status_code == 200
    return len(answer.json())


def _sign_in(context: Any, origin: str, course: Any, student: str) -> Any:
    page = context.new_page()
    page.goto(f"{origin}/s/{course.tokens[student]}")
    page.click(f"button:has-text('Continue as {student}')")
    page.wait_for_url(f"{origin}/me")
    return page


def test_a_page_on_another_port_cannot_upload_in_the_students_name(
        browser: Any, served: tuple[Any, Service], attacker: Attacker) -> None:
    course, service = served
    target = f"{service.url}/api/v1/submissions"
    attacker.pages["/fetch"] = (f"""<script>
        const body = new FormData(); body.append('file', {FILE_JS});
        fetch('{target}', {{method: 'POST', credentials: 'include', body}})
          .finally(() => {{ document.title = 'sent'; }});
        </script>""", [])
    attacker.pages["/form"] = (f"""<form method="post" action="{target}"
        enctype="multipart/form-data"><input type="file" name="file" id="f"></form>
        <script>
        const files = new DataTransfer(); files.items.add({FILE_JS});
        document.getElementById('f').files = files.files;
        document.forms[0].submit();
        </script>""", [])
    context = browser.new_context()
    try:
        page = _sign_in(context, service.url, course, "ada")
        page.goto(f"http://127.0.0.1:{attacker.port}/fetch")
        page.wait_for_function("document.title === 'sent'")
        with page.expect_navigation(url=target) as navigation:
            page.goto(f"http://127.0.0.1:{attacker.port}/form")
        answer = navigation.value
        assert answer is not None and answer.status == 403
        # both reached the service, with the session cookie, and were refused
        assert service.log().count("POST /api/v1/submissions 403") == 2
        assert _attempts(course, service, "ada") == 0
        # the session was live all along: the student's own page uploads
        page.goto(f"{service.url}/me")
        page.set_input_files("#file", files=[{"name": "sol.py", "mimeType": "text/x-python",
                                              "buffer": b"print(1)\n"}])
        page.click("button:has-text('Submit for grading')")
        page.wait_for_url("**/me/attempts/*")
        assert _attempts(course, service, "ada") == 1
    finally:
        context.close()


def _cookie_variants(session: str) -> list[str]:
    """The attacker's session under every name, path and domain a tossing page can try."""
    return [f"{name}={session}{extra}"
            for name in ("grader_session", "__Host-grader_session")
            for extra in ("; Path=/", "; Path=/me", "; Path=/; Domain=app.localhost",
                          "; Path=/; Secure", "; Path=/; Secure; Domain=app.localhost",
                          "; Path=/; Secure; Domain=grader.app.localhost")]


def test_a_sibling_host_cannot_toss_its_session_into_the_victims_browser(
        browser: Any, served: tuple[Any, Service], attacker: Attacker) -> None:
    """evil.app.localhost beside grader.app.localhost (Chromium resolves *.localhost to
    the loopback address and keeps Secure cookies there), by script and by Set-Cookie.
    Before: `grader_session; Domain=app.localhost` reached the service after the
    victim's own cookie, and the service read the last one: the attacker's."""
    course, service = served
    port = service.url.rsplit(":", 1)[1]
    origin = f"http://grader.app.localhost:{port}"
    own = browser.new_context()  # the attacker signs in as themself, in their browser
    try:
        _sign_in(own, origin, course, "eve")
        theirs = next(c["value"] for c in own.cookies() if c["name"].endswith("session"))
    finally:
        own.close()
    variants = _cookie_variants(theirs)
    script = "".join(f"document.cookie = {v!r};" for v in variants)
    attacker.pages["/toss"] = (f"<script>{script}document.title='tossed'</script>",
                               [("Set-Cookie", v) for v in variants])
    context = browser.new_context()
    try:
        page = _sign_in(context, origin, course, "bo")
        page.goto(f"http://evil.app.localhost:{attacker.port}/toss")
        page.wait_for_function("document.title === 'tossed'")
        assert any(c["value"] == theirs for c in context.cookies(origin))  # it was tossed
        page.goto(f"{origin}/api/v1/me")
        assert '"student":"bo"' in page.inner_text("body").replace(" ", "")
        page.goto(f"{origin}/me")
        assert "Signed in as bo" in page.inner_text("header")
        page.set_input_files("#file", files=[{"name": "sol.py", "mimeType": "text/x-python",
                                              "buffer": b"print(2)\n"}])
        page.click("button:has-text('Submit for grading')")
        page.wait_for_url("**/me/attempts/*")
        assert _attempts(course, service, "bo") == 1
        assert _attempts(course, service, "eve") == 0
    finally:
        context.close()
