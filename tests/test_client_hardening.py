"""`grader submit` keeps its token to the service it was pointed at (issue 21).

Two local HTTP servers stand in for the service and for another origin: the service answers
with redirects, the other records every request and whether it carried an Authorization
header. Before the fix urllib followed a redirect to the other port and sent it
`Authorization: Bearer ...`; now the client refuses with one line and exit 2. The token is
also taken from --token-file or $GRADER_TOKEN, which keep it out of /proc/PID/cmdline."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.cli import main
from grader.service import client

ACCEPTED = {"job": 7, "attempt": 3, "number": 1, "state": "queued", "position": 0,
            "status_url": "/api/v1/jobs/7", "report_url": "/attempts/3/report"}


class Recorder:
    """One HTTP server on 127.0.0.1 with an ephemeral port; `answer(handler)` decides each
    reply, and every request's method, path and Authorization header is kept."""

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                recorder.seen.append((self.command, self.path,
                                      self.headers.get("Authorization")))
                answer(self)

            do_GET = do_POST = _any  # noqa: N815 - http.server's naming

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads `seen`, not stderr."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _json(handler: BaseHTTPRequestHandler, body: object, status: int = 202) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _redirect(handler: BaseHTTPRequestHandler, code: int, location: str) -> None:
    handler.send_response(code)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


@pytest.fixture
def other() -> Iterator[Recorder]:
    """The other origin: a different port of the same host, answering as the service would,
    so a client that followed the redirect there would go on and succeed."""
    server = Recorder(lambda handler: _json(handler, ACCEPTED))
    yield server
    server.close()


def _service(answer: Callable[[BaseHTTPRequestHandler], None]) -> Recorder:
    return Recorder(answer)


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    path = tmp_path / "solution.py"
    path.write_text("x = 1\n")
    return path


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_an_upload_redirected_to_another_origin_never_sends_the_token_there(
        code: int, other: Recorder, notebook: Path, capsys: Any) -> None:
    service = _service(lambda handler: _redirect(handler, code,
                                                 other.url + "/api/v1/submissions"))
    try:
        status = main(["submit", str(notebook), "--server", service.url, "--token", "s3cret"])
    finally:
        service.close()
    err = capsys.readouterr().err
    assert status == 2, err
    assert [auth for _, _, auth in service.seen] == ["Bearer s3cret"]
    assert not any(auth for _, _, auth in other.seen), other.seen
    assert "s3cret" not in err
    if code in (301, 302, 303):  # urllib would follow these: the client refuses them itself
        assert len(err.strip().splitlines()) == 1, err
        assert "redirected" in err and other.url.split("//")[1] in err, err


def test_a_status_poll_redirected_to_another_origin_is_refused(
        other: Recorder, notebook: Path, capsys: Any) -> None:
    """--wait polls with GET, which urllib follows on every redirect code, 307 included."""
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.command == "POST":
            _json(handler, ACCEPTED)
        else:
            _redirect(handler, 307, other.url + handler.path)

    service = _service(answer)
    try:
        status = main(["submit", str(notebook), "--server", service.url, "--token", "s3cret",
                       "--wait", "--timeout", "60"])
    finally:
        service.close()
    assert status == 2, capsys.readouterr().err
    assert other.seen == []


def test_a_redirect_within_the_service_is_followed_with_the_token(
        notebook: Path, capsys: Any, monkeypatch: Any) -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/api/v1/submissions":
            # the same origin spelt differently: explicit host case and port are the same
            port = handler.server.server_address[1]
            _redirect(handler, 303, f"HTTP://127.0.0.1:{port}/accepted")
        else:
            _json(handler, ACCEPTED, status=200)

    service = _service(answer)
    monkeypatch.setenv("GRADER_TOKEN", "from-env")
    try:
        status = main(["submit", str(notebook), "--server", service.url])
    finally:
        service.close()
    assert status == 0, capsys.readouterr().err
    assert service.seen == [("POST", "/api/v1/submissions", "Bearer from-env"),
                            ("GET", "/accepted", "Bearer from-env")]


def test_the_token_comes_from_the_first_line_of_token_file(
        notebook: Path, tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    service = _service(lambda handler: _json(handler, ACCEPTED))
    token_file = tmp_path / "token"
    token_file.write_text("  from-file  \nsecond line ignored\n")
    monkeypatch.setenv("GRADER_TOKEN", "from-env")  # the file, given explicitly, wins
    try:
        status = main(["submit", str(notebook), "--server", service.url,
                       "--token-file", str(token_file)])
    finally:
        service.close()
    assert status == 0, capsys.readouterr().err
    assert [auth for _, _, auth in service.seen] == ["Bearer from-file"]


@pytest.mark.parametrize("content", [None, "", "\nlater\n"])
def test_a_missing_or_empty_token_file_is_a_usage_error(
        content: str | None, notebook: Path, tmp_path: Path, capsys: Any) -> None:
    token_file = tmp_path / "token"
    if content is not None:
        token_file.write_text(content)
    status = main(["submit", str(notebook), "--server", "http://127.0.0.1:9",
                   "--token-file", str(token_file)])
    err = capsys.readouterr().err
    assert status == 2 and str(token_file) in err and "cannot reach" not in err, err


def test_token_and_token_file_together_are_refused(notebook: Path, tmp_path: Path) -> None:
    assert main(["submit", str(notebook), "--server", "http://127.0.0.1:9",
                 "--token", "a", "--token-file", str(tmp_path / "t")]) == 2


def test_help_warns_that_token_shows_in_the_process_list(capsys: Any) -> None:
    assert main(["submit", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "/proc/PID/cmdline" in text and "--token-file" in text and "GRADER_TOKEN" in text


@pytest.mark.parametrize(("first", "second", "same"), [
    # RFC 6454: an origin is (scheme, host, port), the scheme's default port made explicit
    ("http://Grader.Example/a", "http://grader.example:80/b", True),
    ("https://grader.example/", "https://grader.example:443/x", True),
    ("http://grader.example/", "https://grader.example/", False),
    ("http://grader.example:8000/", "http://grader.example:8001/", False),
    ("http://grader.example/", "http://grader.example.evil/", False),
    ("http://grader.example@evil.example/", "http://grader.example/", False),
])
def test_origins_compare_as_a_browser_compares_them(first: str, second: str,
                                                    same: bool) -> None:
    assert (client.origin(first) == client.origin(second)) is same


@given(st.text())
def test_any_location_header_gives_an_origin_or_none(location: str) -> None:
    """A Location header is the server's to write: whatever it holds, comparing it never
    raises, and what cannot be parsed equals no real origin."""
    found = client.origin(location)
    assert found == ("", "", None) or isinstance(found[0], str)
    assert client.origin("http://grader.example/") != ("", "", None)


@given(st.sampled_from(["http", "https"]),
       st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,2}", fullmatch=True),
       st.text(alphabet="abc/?=", max_size=10))
def test_the_default_port_is_the_same_origin(scheme: str, host: str, path: str) -> None:
    default = {"http": 80, "https": 443}[scheme]
    assert client.origin(f"{scheme}://{host}/{path}") == \
        client.origin(f"{scheme.upper()}://{host.upper()}:{default}/")
    assert client.origin(f"{scheme}://{host}/") != client.origin(f"{scheme}://{host}:1/")
