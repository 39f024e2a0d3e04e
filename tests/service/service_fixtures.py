"""Fixtures of the service tests: a real PostgreSQL server, a course on either database,
the app in-process, and the service as a real process.

PostgreSQL is started by the tests themselves (Debian's `postgresql` package: initdb and
pg_ctl in a temporary folder, on 127.0.0.1 and a free port, as user `nobody` when the tests
run as root, since PostgreSQL refuses to run as root). Under CI=true a missing PostgreSQL
fails the tests that need it; elsewhere they skip. Every database test runs on both.

Fast gradings: the service's workers read GRADER_SERVICE_TEST_GRADE; the fixtures set it
to `fakegrade:grade` (tests/service/fakegrade.py, on PYTHONPATH), except the test that
grades the reference notebook for real.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import components
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PASSWORD = "correct horse battery"
HOOK = "fakegrade:grade"
sys.path.insert(0, str(HERE))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Postgres:
    folder: Path
    port: int
    bin: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://grader@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=grader dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def started_postgres(binaries: Path, durable: bool = False) -> Iterator[Postgres]:
    """A PostgreSQL server of its own in a temporary folder, stopped when the block ends.
    The tests run it without fsync (they measure nothing); benchmarks/service.py with it
    (`durable`), as a course would."""
    folder = Path(tempfile.mkdtemp(prefix="grader-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody", "nogroup")
    port = free_port()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    subprocess.run(_as_postgres_user([str(binaries / "initdb"), "-D", str(data), "-U",
                                      "grader", "--auth=trust", "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True, env=env, cwd=folder, timeout=120)
    options = f"-p {port} -k {folder} -h 127.0.0.1 -c max_connections=200" + \
        ("" if durable else " -c fsync=off")
    subprocess.run(_as_postgres_user([str(binaries / "pg_ctl"), "-D", str(data), "-o",
                                      options, "-l", str(folder / "log"), "-w", "-t", "60",
                                      "start"]),
                   check=True, capture_output=True, env=env, cwd=folder, timeout=120)
    try:
        yield Postgres(folder, port, binaries)
    finally:
        subprocess.run(_as_postgres_user([str(binaries / "pg_ctl"), "-D", str(data), "-m",
                                          "immediate", "-w", "stop"]),
                       capture_output=True, env=env, cwd=folder, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    found = components.postgresql()
    components.require(found is not None, "PostgreSQL (initdb, pg_ctl) is not installed "
                       "(apt-get install postgresql, or make system-deps)")
    assert found is not None
    with started_postgres(found) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest) -> Any:
    """A maker of fresh databases of one kind: None (each folder's embedded SQLite file)
    or a new PostgreSQL database's URL."""
    if request.param == "sqlite":
        return lambda: None
    return request.getfixturevalue("postgres").new_database


@pytest.fixture
def database(databases: Any) -> str | None:
    return databases()  # type: ignore[no-any-return]


@dataclass
class Course:
    root: Path
    db_url: str | None
    engine: Any
    tokens: dict[str, str] = field(default_factory=dict)  # student id → token
    assignment: str = "hw1"

    def headers(self, student: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[student]}"}

    def app(self, **settings: Any) -> Any:
        from grader.service import web
        from grader.service.app import create_app

        return create_app(web.Settings(root=self.root, base_url="http://testserver",
                                       **settings), self.engine)

    def grade_queued(self) -> None:
        """What a worker does, in this process, until the queue is empty."""
        from grader.grade import GradeOptions
        from grader.service import config, workers
        from grader.service.storage import Storage

        workers.run_worker("test-worker", self.engine, Storage(self.root / config.UPLOADS),
                           GradeOptions(), once=True)


def make_course(root: Path, db_url: str | None, students: list[str], **rules: Any) -> Course:
    from grader.service import courses

    courses.init(root, "prof", PASSWORD, db_url, "http://testserver")
    _, engine = courses.open_service(root)
    courses.add_assignment(engine, "hw1", "happy-or-sad", **rules)
    links, _ = courses.import_roster(engine, students, "hw1", "http://testserver")
    return Course(root, db_url, engine, {link.student: link.token for link in links})


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with test-sized costs in this process (the same code path; a real hash takes
    ~0.5 s of CPU, and the tests hash and check passwords dozens of times)."""
    from argon2 import PasswordHasher

    from grader.service import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                        parallelism=1))


@pytest.fixture
def course(tmp_path: Path, database: str | None, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Course]:
    monkeypatch.setenv("GRADER_SERVICE_TEST_GRADE", HOOK)
    made = make_course(tmp_path / "course", database, ["ada", "bo"])
    try:
        yield made
    finally:
        made.engine.dispose()


NOTEBOOK = ROOT / "reference" / "happy_or_sad" / "solution.ipynb"


def module(text: str = "") -> bytes:
    return f"# a student's module\nprint('hello')\n{text}\n".encode()


class Service:
    """`grader serve` as a real process on 127.0.0.1 and a free port."""

    def __init__(self, root: Path, log: Path, workers: int = 2, hook: bool = True,
                 extra: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.root, self.log_path = root, log
        self.argv = [sys.executable, "-m", "grader.cli", "serve", "--dir", str(root),
                     "--port", "0", "--workers", str(workers), "--uploads-per-minute", "0",
                     "--queued-per-student", "0", "--public-health-counts",
                     *(extra or [])]
        self.env = {**os.environ, "PYTHONPATH": str(HERE), **(env or {})}
        if hook:
            self.env["GRADER_SERVICE_TEST_GRADE"] = HOOK
        else:
            self.env.pop("GRADER_SERVICE_TEST_GRADE", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 60) -> Service:
        handle = self.log_path.open("ab")
        self.process = subprocess.Popen(self.argv, stdout=handle, stderr=subprocess.STDOUT,
                                        env=self.env, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.findall(r"listening on (http://\S+)", self.log())
            if found and self.process.poll() is None:
                self.url = found[-1]
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"the service did not start:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def workers(self) -> list[int]:
        """The pids of the service's worker processes (its children running workers)."""
        assert self.process is not None
        pids = []
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            try:  # a replacement is the child of the watcher thread, not the main one
                pids += [int(p) for p in children.read_text().split()]
            except OSError:
                continue
        return [p for p in pids if b"grader.service.workers" in _cmdline(p) and alive(p)]

    def web_processes(self) -> list[int]:
        """The pids of the web processes uvicorn spawned (`--web-processes N`)."""
        assert self.process is not None
        pids = []
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            try:
                pids += [int(p) for p in children.read_text().split()]
            except OSError:
                continue
        return [p for p in pids if b"spawn_main" in _cmdline(p) and alive(p)]

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Service] = []

    def make(root: Path, **options: Any) -> Service:
        service = Service(root, tmp_path / f"service-{len(started)}.log", **options)
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF field in the page"
    return found.group(1)


def client(app: Any, https: bool = False) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(app, base_url="https://testserver" if https else "http://testserver",
                      raise_server_exceptions=False)


def as_instructor(app: Any, https: bool = False) -> Any:
    browser = client(app, https)
    form = browser.get("/login")
    answer = browser.post("/login", data={"csrf": csrf_of(form.text), "name": "prof",
                                          "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return browser


def as_student(app: Any, token: str) -> Any:
    browser = client(app)
    form = browser.get(f"/s/{token}")
    answer = browser.post(f"/s/{token}", data={"csrf": csrf_of(form.text)},
                          follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/me", answer.text
    return browser
