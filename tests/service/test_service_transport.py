"""Connections, bodies, error responses and logs (issue 21), against a real `grader serve`
over raw sockets: the transport attacks run against the built-in server alone ("direct")
and behind the shipped nginx configuration ("nginx"). Small limits (2 s timeouts, 4
connections per address, 256 KB uploads) keep each attack to seconds; every wait is a
poll with a generous deadline, never a sleep sized to this machine.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nginx_fixtures import (  # noqa: F401 - behind_nginx, direct: fixtures, used by name
    BOUNDARY,
    DEADLINE,
    LIMIT,
    PER_ADDRESS,
    Target,
    behind_nginx,
    direct,
)
from service_fixtures import Course, client

from grader.service import app as web_app
from grader.service import logs


@pytest.fixture(params=["direct", "nginx"])
def target(request: pytest.FixtureRequest) -> Target:
    return request.getfixturevalue("direct" if request.param == "direct" else
                                   "behind_nginx")  # type: ignore[no-any-return]


def read_all(sock: socket.socket, deadline: float = DEADLINE) -> bytes:
    """Everything the server sends until it closes the connection (or the deadline)."""
    sock.settimeout(1.0)
    data, until = b"", time.monotonic() + deadline
    while time.monotonic() < until:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, ssl.SSLError):
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the connection is still open after {deadline:.0f} s: {data!r}")


def statuses(data: bytes) -> list[int]:
    return [int(found) for found in re.findall(rb"(?m)^HTTP/1\.[01] (\d{3}) ", data)]


def get(target: Target, path: str, headers: str = "") -> bytes:
    with target.connect() as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}"
                     "Connection: close\r\n\r\n".encode())
        return read_all(sock)


def upload_head(target: Target, length: int | None, token: bool = True) -> bytes:
    framing = f"Content-Length: {length}" if length is not None else \
        "Transfer-Encoding: chunked"
    auth = f"Authorization: Bearer {target.token}\r\n" if token else ""
    return (f"POST /api/v1/submissions HTTP/1.1\r\nHost: localhost\r\n{auth}"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\n\r\n"
            ).encode()


def form_start() -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="a.py"\r\nContent-Type: text/x-python\r\n\r\n').encode()


def assert_healthy(target: Target) -> None:
    assert statuses(get(target, "/healthz")) == [200]


def test_slow_headers_are_cut_off(target: Target) -> None:
    """Slowloris: a request whose headers arrive a line at a time, for ever."""
    started = time.monotonic()
    answer: bytes | None = None
    with target.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        sock.settimeout(0.25)  # the pace of the drip
        while answer is None and time.monotonic() - started < DEADLINE:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                answer = sock.recv(4096)  # anything, even the end, ends the attack
            except TimeoutError:
                continue
            except OSError:  # reset by the server (ssl.SSLError is an OSError too)
                answer = b""
    assert answer is not None, "the server still waits for the headers"
    assert statuses(answer) in ([], [408]), answer[:300]
    assert_healthy(target)


def test_slow_body_is_cut_off(target: Target) -> None:
    """A body that stops: the connection is closed (behind nginx by nginx, whose body
    timeout is the shorter: a cut by the service would reach the client as a 502)."""
    with target.connect() as sock:
        sock.sendall(upload_head(target, 10_000) + form_start())
        answer = read_all(sock)
    assert statuses(answer) in ([], [408]), answer[:300]
    assert_healthy(target)


def test_oversized_chunked_body_gets_413(target: Target) -> None:
    """However a body is framed, one over the limit is a 413 (it was a 400 when chunked)."""
    chunk = form_start() + b"#" * 65536
    with target.connect() as sock:
        sock.sendall(upload_head(target, None))
        try:
            for _ in range(2 * LIMIT // 65536 + 2):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                chunk = b"#" * 65536
        except OSError:
            pass  # refused mid-body: the answer is already there
        answer = read_all(sock)
    assert statuses(answer) == [413], answer[:300]


def test_content_length_with_transfer_encoding_is_refused(target: Target) -> None:
    """Request smuggling: framed two ways, the second request hides in the first's body."""
    hidden = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
    body = b"0\r\n\r\n" + hidden
    with target.connect() as sock:
        sock.sendall(b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                     b"application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        answer = read_all(sock)
    assert statuses(answer) == [400], answer[:500]


def test_connections_per_address_are_capped(target: Target) -> None:
    held: list[socket.socket] = []
    try:
        for _ in range(PER_ADDRESS):
            sock = target.connect()
            sock.sendall(upload_head(target, 10_000) + form_start())
            held.append(sock)
        deadline = time.monotonic() + DEADLINE
        while True:  # the held requests reach the server; a drip keeps each one alive
            for sock in held:
                sock.sendall(b"#")
            answer = get(target, "/healthz")
            if statuses(answer) == [503] or time.monotonic() > deadline:
                break
            time.sleep(0.2)  # pacing of the drip, not synchronisation
        assert statuses(answer) == [503], answer[:300]
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + DEADLINE
    while statuses(get(target, "/healthz")) != [200]:  # the closes reach the server
        assert time.monotonic() < deadline, "the cap still refuses after the others closed"
        time.sleep(0.05)


def test_unauthenticated_body_is_refused_before_it_is_read(target: Target) -> None:
    """A body from no one: 401 from the headers alone (the body was read and spooled)."""
    with target.connect() as sock:
        sock.sendall(upload_head(target, LIMIT - 70_000, token=False))
        answer = read_all(sock)
    assert statuses(answer) == [401], answer[:300]


FORGED = "2026-12-05 00:00:00,000 grader.service.auth INFO instructor 'prof' logged in"


def test_a_request_cannot_forge_a_log_line(target: Target) -> None:
    """An encoded newline in the path wrote a line of the attacker's choosing into the
    log; the direct service logs text, the one behind nginx JSON (--log-format json)."""
    path = "/x%0a" + FORGED.replace(" ", "%20").replace("'", "%27")
    assert statuses(get(target, path)) == [404]
    deadline = time.monotonic() + DEADLINE
    while "/x" not in target.service.log():  # written just after the answer
        assert time.monotonic() < deadline, "the request was not logged"
        time.sleep(0.05)
    lines = target.service.log().splitlines()
    assert not [line for line in lines if line.startswith(FORGED[:30])]
    if target.name == "direct":
        assert [line for line in lines if "/x\\x0a2026-12-05" in line and " 404 " in line]
        return
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records and all(set(record) >= {"time", "level", "logger", "message"}
                           for record in records)
    access = [r for r in records if r["logger"] == "grader.service.access"
              and r.get("path", "").startswith("/x")]
    assert access and access[0]["path"] == "/x\n" + FORGED and access[0]["status"] == 404


def test_the_service_raises_its_open_file_limit(direct: Target) -> None:  # noqa: F811
    """Started with a soft limit of 1024, it runs with its hard limit."""
    assert direct.service.process is not None
    limits = Path(f"/proc/{direct.service.process.pid}/limits").read_text()
    soft, hard = re.search(r"Max open files\s+(\d+)\s+(\d+)", limits).groups()  # type: ignore[union-attr]
    assert soft == hard, limits


def _crashing(course: Course) -> Any:
    app = course.app()

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/boom", boom)
    app.add_api_route("/boom", boom)
    return app


@pytest.mark.parametrize("path", ["/api/v1/boom", "/boom"])
def test_a_500_carries_the_security_headers_and_is_logged_as_500(
        course: Course, caplog: pytest.LogCaptureFixture, path: str) -> None:
    caplog.set_level(logging.INFO)
    answer = client(_crashing(course)).get(path)
    assert answer.status_code == 500
    for name, value in web_app.SECURITY_HEADERS:
        assert answer.headers.get(name.decode()) == value.decode()
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["cache-control"] == "no-store"
    access = [r for r in caplog.records if r.name == "grader.service.access"]
    assert [getattr(r, "status", None) for r in access] == [500]


@given(st.text())
def test_escaped_text_has_no_control_character_and_keeps_the_rest(text: str) -> None:
    escaped = logs.escape(text)
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or c in "\u2028\u2029"
                   for c in escaped)
    assert len(escaped.splitlines()) <= 1
    decoded = re.sub(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})",
                     lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)),
                     escaped)
    assert decoded == text  # nothing lost: the escape can be read back


@given(st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=20)), max_size=6))
def test_any_headers_decide_whether_a_body_needs_an_identity(
        headers: list[tuple[bytes, bytes]]) -> None:
    """Whatever the headers, the check answers (never raises); a body that is chunked, or
    whose length cannot be read or is over a form's worth, needs an identity first."""
    scope = {"headers": [(name.lower(), value) for name, value in headers]}
    answer = web_app._large_body(scope)
    found = dict(scope["headers"])
    length = found.get(b"content-length")
    if b"transfer-encoding" in found:
        assert answer
    elif length is not None and re.fullmatch(rb"[0-9]+", length):
        assert answer == (int(length) > 64 * 1024)
    elif length is not None and not re.search(rb"[0-9]", length):
        assert answer  # no number at all: unreadable
    elif length is None:
        assert not answer


def test_a_flood_of_exhaustion_errors_is_logged_once_per_interval(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: clock[0])
    throttle = logs.Throttle(interval=60)
    error = OSError(24, "Too many open files")

    def record() -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1,
                                 "socket.accept() out of system resource", (),
                                 (OSError, error, None))

    passed = [throttle.filter(record()) for _ in range(1000)]
    assert passed.count(True) == 1 and passed[0]
    clock[0] += 61
    later = record()
    assert throttle.filter(later) and "999 more" in later.getMessage()
    malformed = [logging.LogRecord("uvicorn.error", logging.WARNING, __file__, 1,
                                   "Invalid HTTP request received.", (), None)
                 for _ in range(100)]  # one per request a client chooses to send
    assert [throttle.filter(r) for r in malformed].count(True) == 1
    ordinary = logging.LogRecord("grader.service", logging.INFO, __file__, 1, "hello", (),
                                 None)
    assert all(throttle.filter(ordinary) for _ in range(10))
