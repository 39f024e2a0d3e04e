"""Promises of docs/service.md that only the service as real processes can show (issue
21), on SQLite and PostgreSQL where the database is involved:

* workers run at `nice 5`, and get the database URL in their environment, never in argv
  (read from /proc of the real workers, with a PostgreSQL URL holding a password);
* a running job whose worker stops heart-beating is re-queued after the lease (90 s;
  shortened here by $GRADER_SERVICE_LEASE_SECONDS) and graded by another worker, once;
* a submission that kills every worker it reaches ends in error after three tries;
* an upload whose Content-Length is over the limit is refused (413) before its body is
  read: a raw socket sends the headers only, and the answer comes back;
* `X-Forwarded-Proto: https` makes cookies Secure only when it comes from an address in
  `--forwarded-allow-ips`;
* with `--cluster`, a Dask worker whose data folder is its own draws the hidden split with
  the service's course secret (a real scheduler and worker process).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from dask_local import assert_drawn_with_the_clients_secret, local_cluster
from service_fixtures import HERE, HOOK, Course, alive, make_course, module
from sqlalchemy import func, select

from grader.exercise import datasource
from grader.exercise.secret import SECRET_ENV
from grader.service import config, db

pytestmark = pytest.mark.timeout(300)
SECRET = "pw-that-must-not-show"


def wait_for(condition: Any, timeout: float, what: str) -> None:
    """Poll `condition` until true, with a generous deadline (no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def post(url: str, course: Course, student: str, text: str) -> httpx.Response:
    return httpx.post(f"{url}/api/v1/submissions", headers=course.headers(student),
                      files={"file": ("sol.py", module(text))}, timeout=60)


def health(url: str) -> dict[str, int]:
    return httpx.get(f"{url}/healthz", timeout=30).json()  # type: ignore[no-any-return]


def _with_password(url: str | None) -> str | None:
    """The PostgreSQL URL with a password in it (the test server trusts any), so a leak of
    the URL into argv would show the password."""
    return url.replace("://grader@", f"://grader:{SECRET}@") if url else None


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_workers_run_at_nice_5_with_the_database_url_only_in_their_environment(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    course = make_course(tmp_path / "course", _with_password(databases()), ["ada"])
    url = course.engine.url.render_as_string(hide_password=False)
    calls = tmp_path / "calls.log"
    service = service_factory(course.root, workers=2,
                              env={"FAKE_GRADE_LOG": str(calls)}).start()
    assert post(service.url, course, "ada", "# fake: sleep=30").status_code == 202
    wait_for(lambda: calls.exists() and calls.read_text().strip(), 60, "a grading")
    grading = int(calls.read_text().split()[0])  # a worker past its start, grading
    assert service.process is not None and grading in service.workers()
    assert _nice(grading) == min(19, _nice(service.process.pid) + 5)
    for pid in service.workers():
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"{config.DB_ENV}={url}".encode() in environ
        assert not any(url.encode() in a or SECRET.encode() in a or b"sqlite:" in a
                       or b"postgresql" in a for a in argv), argv
    course.engine.dispose()


def test_a_job_whose_worker_stops_heart_beating_is_requeued_after_the_lease(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    course = make_course(tmp_path / "course", databases(), ["ada"])
    calls = tmp_path / "calls.log"
    service = service_factory(course.root, workers=2, env={
        "FAKE_GRADE_LOG": str(calls), "GRADER_SERVICE_LEASE_SECONDS": "6"}).start()
    assert post(service.url, course, "ada", "# fake: sleep=2").status_code == 202
    wait_for(lambda: calls.exists() and calls.read_text().strip(), 60, "the grading")
    frozen = int(calls.read_text().split()[0])
    os.kill(frozen, signal.SIGSTOP)  # a frozen machine: alive, but no heartbeat
    try:
        wait_for(lambda: health(service.url)["done"] == 1, 90, "the re-queued grading")
        graders = [int(line.split()[0]) for line in calls.read_text().splitlines()]
        assert len(graders) == 2 and graders[1] != frozen
        with db.reading(course.engine) as connection:
            assert connection.execute(select(db.jobs.c.tries)).scalar() == 1
    finally:
        os.kill(frozen, signal.SIGCONT)
    # the frozen worker wakes, finishes its grading, and finds its claim gone
    wait_for(lambda: "discarded" in service.log(), 60, "the late grading discarded")
    with db.reading(course.engine) as connection:
        assert connection.execute(select(func.count()).select_from(db.job_results)).scalar() \
            == 1
    course.engine.dispose()


def test_a_submission_that_kills_every_worker_ends_in_error_after_three_tries(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    course = make_course(tmp_path / "course", databases(), ["ada"])
    service = service_factory(course.root, workers=1).start()
    killer = post(service.url, course, "ada", "# fake: kill").json()
    wait_for(lambda: health(service.url)["error"] == 1, 120, "the job to end in error")
    with db.reading(course.engine) as connection:
        job = connection.execute(select(db.jobs).where(db.jobs.c.id == killer["job"])).one()
    assert job.state == db.ERROR and job.tries == 3 and "interrupted 3 times" in job.error
    assert service.log().count("back in the queue") == 3
    fine = post(service.url, course, "ada", "# an honest one").json()  # workers replaced
    wait_for(lambda: health(service.url)["done"] == 1, 60, "the next upload graded")
    assert fine["job"] != killer["job"]
    course.engine.dispose()


def _raw(url: str, request: bytes, timeout: float = 30) -> bytes:
    """Send `request` and read what comes back until the server closes or `timeout`."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as peer:
        peer.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = peer.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_an_upload_over_the_limit_by_content_length_is_refused_before_its_body(
        tmp_path: Path, databases: Any, service_factory: Any) -> None:
    course = make_course(tmp_path / "course", databases(), ["ada"])
    service = service_factory(course.root, workers=1).start()
    headers = (f"POST /api/v1/submissions HTTP/1.1\r\nHost: testserver\r\n"
               f"Authorization: Bearer {course.tokens['ada']}\r\n"
               "Content-Type: multipart/form-data; boundary=b\r\n"
               f"Content-Length: {50 * 2**30}\r\n\r\n").encode()
    answer = _raw(service.url, headers)  # no byte of the 50 GB body is ever sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    with db.reading(course.engine) as connection:
        assert connection.execute(select(func.count()).select_from(db.jobs)).scalar() == 0
    course.engine.dispose()


def _login_cookies(url: str, proto: str | None) -> list[str]:
    # a public host name: on a loopback name the service makes cookies Secure anyway
    headers = {"Host": "grader.example.edu", **({"X-Forwarded-Proto": proto} if proto else {})}
    answer = httpx.get(f"{url}/login", headers=headers, timeout=30)
    assert answer.status_code == 200
    cookies = answer.headers.get_list("set-cookie")
    assert cookies, "the login page sets its CSRF cookie"
    return [c.lower() for c in cookies]


def test_x_forwarded_proto_is_believed_only_from_the_allowed_proxy(
        tmp_path: Path, service_factory: Any) -> None:
    course = make_course(tmp_path / "course", None, ["ada"])
    trusting = service_factory(course.root, workers=1).start()  # default: 127.0.0.1
    assert all("; secure" in c for c in _login_cookies(trusting.url, "https"))
    assert not any("; secure" in c for c in _login_cookies(trusting.url, None))
    trusting.stop()
    wary = service_factory(course.root, workers=1,
                           extra=["--forwarded-allow-ips", "192.0.2.1"]).start()
    assert not any("; secure" in c for c in _login_cookies(wary.url, "https"))
    assert all(alive(p) for p in wary.workers())
    course.engine.dispose()


def test_with_cluster_workers_draw_the_data_with_the_services_secret(
        tmp_path: Path, service_factory: Any) -> None:
    service_data, worker_data = datasource.default_data_dir(), tmp_path / "worker-data"
    worker_data.mkdir()
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    with local_cluster(tmp_path, 1, {**env, "GRADER_DATA_DIR": str(worker_data),
                                     "PYTHONPATH": str(HERE),
                                     "GRADER_SERVICE_TEST_GRADE": HOOK}) as address:
        course = make_course(tmp_path / "course", None, ["ada"])
        service = service_factory(course.root, extra=["--cluster", address],
                                  env={"GRADER_DATA_DIR": str(service_data)}).start()
        assert post(service.url, course, "ada", "# on the cluster").status_code == 202
        wait_for(lambda: health(service.url)["done"] + health(service.url)["error"] == 1,
                 180, "the grading on the cluster")
        assert health(service.url)["done"] == 1, service.log()[-3000:]
    assert_drawn_with_the_clients_secret(worker_data, service_data)
    course.engine.dispose()
