"""nginx in front of a real `grader serve`, started by the tests themselves; and the two
targets of the transport attacks, the service alone (`direct`) and behind nginx.

Like PostgreSQL (service_fixtures.py): Debian's `nginx` package, a temporary prefix with
its own nginx.conf (no system-wide configuration is read or touched), 127.0.0.1 and free
ports, as user `nobody` when the tests run as root, stopped when the block ends. The site
is the shipped deploy/nginx/grader.conf itself: only the lines marked "tests:" (ports,
certificate, limits) are replaced, so the configuration a course installs is the one the
attack tests ran against. TLS uses a self-signed certificate made here with openssl.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import components
import pytest
from service_fixtures import ROOT, Service, free_port, make_course

SITE = ROOT / "deploy" / "nginx" / "grader.conf"


def nginx_binary() -> Path | None:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    return Path(found) if found else None


@dataclass
class Nginx:
    port: int
    certificate: Path  # also the CA a client trusts: it is self-signed
    folder: Path

    def log(self, name: str = "error.log") -> str:
        path = self.folder / name
        return path.read_text(errors="replace") if path.exists() else ""


def _as_nobody(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *argv] if os.geteuid() == 0 else argv


def self_signed(folder: Path) -> tuple[Path, Path]:
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True, timeout=60)
    return certificate, key


def site(upstream: int, port: int, redirect_port: int, certificate: Path, key: Path,
         header_timeout: int, body_timeout: int, max_body: int, per_address: int) -> str:
    """The shipped site with the values marked "tests:" replaced; fails if one is gone."""
    text = SITE.read_text()
    for pattern, value in [
            (r"server 127\.0\.0\.1:\d+;", f"server 127.0.0.1:{upstream};"),
            (r"listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
            (r"listen 80;", f"listen 127.0.0.1:{redirect_port};"),
            (r"access_log /var/log/nginx/grader\.access\.log",
             f"access_log {certificate.parent / 'access.log'}"),
            (r"ssl_certificate \S+;", f"ssl_certificate {certificate};"),
            (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
            (r"client_header_timeout \w+;", f"client_header_timeout {header_timeout}s;"),
            (r"client_body_timeout \w+;", f"client_body_timeout {body_timeout}s;"),
            (r"client_max_body_size \w+;", f"client_max_body_size {max_body};"),
            (r"limit_conn grader_per_address \d+;",
             f"limit_conn grader_per_address {per_address};")]:
        text, count = re.subn(pattern, value, text)
        assert count == 1, f"{SITE} no longer has one {pattern!r}"
    return text


@contextmanager
def started_nginx(binary: Path, upstream: int, header_timeout: int = 2,
                  body_timeout: int = 2, max_body: int = 1 << 20,
                  per_address: int = 4) -> Iterator[Nginx]:
    folder = Path(tempfile.mkdtemp(prefix="grader-nginx-"))
    certificate, key = self_signed(folder)
    port = free_port()
    (folder / "site.conf").write_text(site(upstream, port, free_port(), certificate, key,
                                           header_timeout, body_timeout, max_body,
                                           per_address))
    temp = "".join(f"    {kind}_temp_path {folder / kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} info;\nevents {{ worker_connections 512; }}\n"
        f"http {{\n    access_log off;\n{temp}"
        f"    include {folder / 'site.conf'};\n}}\n")
    if os.geteuid() == 0:
        for path in [folder, *folder.iterdir()]:
            shutil.chown(path, "nobody", "nogroup")
    process = subprocess.Popen(
        _as_nobody([str(binary), "-p", str(folder), "-c", str(folder / "nginx.conf"),
                    "-e", str(folder / "error.log")]),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Nginx(port, certificate, folder)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"nginx did not start:\n{server.log()[-3000:]}"
            assert time.monotonic() < deadline, f"nginx is not listening:\n{server.log()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        pid = folder / "nginx.pid"
        if pid.exists():  # the master nginx started (runuser's child when root)
            os.kill(int(pid.read_text()), signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


DEADLINE = 60.0  # s: how long an attack may take before the test calls it a hang
TIMEOUT = 2  # s: --header-timeout and --body-timeout of the services under test
PER_ADDRESS = 4
UPLOAD_MB = 0.25
LIMIT = int(UPLOAD_MB * 2**20) + 64 * 1024  # the upload limit plus a form's overhead
BOUNDARY = "grader-test-boundary"


@dataclass
class Target:
    """Where the attacks go: the service itself, or nginx in front of it."""
    name: str
    port: int
    service: Service
    token: str
    ca: Path | None = None  # nginx: TLS, its self-signed certificate trusted
    nginx: Nginx | None = None

    def connect(self) -> socket.socket:
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=DEADLINE)
        if self.ca is None:
            return raw
        context = ssl.create_default_context(cafile=str(self.ca))
        return context.wrap_socket(raw, server_hostname="localhost")


def _service(root: Path, log: Path, proxied: bool) -> Service:
    """Direct: text log, started with a low open-file limit (it must raise it itself).
    Behind nginx: the JSON log."""
    trusted = "127.0.0.1" if proxied else "10.9.9.9"  # direct: our 127.0.0.1 is a client
    body_timeout = 5 * TIMEOUT if proxied else TIMEOUT  # behind nginx: nginx cuts first
    service = Service(root, log, workers=1, extra=[
        "--max-upload-mb", str(UPLOAD_MB), "--header-timeout", str(TIMEOUT),
        "--body-timeout", str(body_timeout), "--max-connections-per-address", str(PER_ADDRESS),
        "--forwarded-allow-ips", trusted, "--log-format", "json" if proxied else "text"])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if not proxied and hard > 1024:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # inherited by the child
    try:
        return service.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("direct")
    course = make_course(folder / "course", None, ["ada"])
    course.engine.dispose()
    service = _service(course.root, folder / "service.log", proxied=False)
    try:
        yield Target("direct", int(service.url.rsplit(":", 1)[1]), service,
                     course.tokens["ada"])
    finally:
        service.stop()


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory: pytest.TempPathFactory, postgres: Any) -> Iterator[Target]:
    """The service on PostgreSQL behind nginx (the direct one is on SQLite): each attack
    meets both databases, as it meets both front ends, at no extra run."""
    binary = nginx_binary()
    components.require(binary is not None, "nginx is not installed (apt-get install nginx, "
                       "or make system-deps)")
    assert binary is not None
    folder = tmp_path_factory.mktemp("proxied")
    course = make_course(folder / "course", postgres.new_database(), ["ada"])
    course.engine.dispose()
    service = _service(course.root, folder / "service.log", proxied=True)
    try:
        with started_nginx(binary, int(service.url.rsplit(":", 1)[1]), TIMEOUT, TIMEOUT,
                           LIMIT, PER_ADDRESS) as nginx:
            yield Target("nginx", nginx.port, service, course.tokens["ada"],
                         nginx.certificate, nginx)
    finally:
        service.stop()
