"""What the shipped nginx configuration (deploy/nginx/grader.conf) adds in front of the
service beyond the transport attacks (test_service_transport.py runs those against it):
TLS terminated with the certificate given, https passed on as X-Forwarded-Proto (so the
service marks cookies Secure), and an access log that never holds a link's token."""

from __future__ import annotations

import re
import socket
import ssl
import time

import pytest
from nginx_fixtures import DEADLINE, Target
from nginx_fixtures import behind_nginx as proxied  # noqa: F401 - a fixture, used by name


def exchange(target: Target, request: bytes) -> bytes:
    with target.connect() as sock:
        sock.sendall(request)
        data = b""
        sock.settimeout(DEADLINE)
        while chunk := sock.recv(65536):
            data += chunk
        return data


def test_tls_is_terminated_with_the_certificate_given(proxied: Target) -> None:  # noqa: F811
    answer = exchange(proxied, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                               b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert re.search(rb"(?im)^strict-transport-security: max-age=\d+", answer)
    untrusted = ssl.create_default_context()  # the system's CAs: not our certificate
    with socket.create_connection(("127.0.0.1", proxied.port), timeout=DEADLINE) as raw, \
            pytest.raises(ssl.SSLCertVerificationError):
        untrusted.wrap_socket(raw, server_hostname="localhost")


def test_https_reaches_the_service_so_its_cookies_are_secure(
        proxied: Target) -> None:  # noqa: F811
    answer = exchange(proxied, b"GET /login HTTP/1.1\r\nHost: localhost\r\n"
                               b"Connection: close\r\n\r\n")
    cookies = re.findall(rb"(?im)^set-cookie: (.*)$", answer)
    assert cookies and all(re.search(rb"(?i);\s*secure", cookie) for cookie in cookies)


def test_the_access_log_holds_no_token(proxied: Target) -> None:  # noqa: F811
    exchange(proxied, f"GET /s/{proxied.token} HTTP/1.1\r\nHost: localhost\r\n"
                      "Connection: close\r\n\r\n".encode())
    assert proxied.nginx is not None
    deadline = time.monotonic() + DEADLINE
    while '"GET"' not in proxied.nginx.log("access.log"):  # nginx writes it after the answer
        assert time.monotonic() < deadline, "nginx logged no request"
        time.sleep(0.05)
    assert proxied.token not in proxied.nginx.log("access.log")
