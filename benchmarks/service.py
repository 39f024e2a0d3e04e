"""The grading service: time from upload to report against `python` running the same code
bare, and the web tier under 60 concurrent uploads.

1. Upload → report, the reference notebook, graded for real (SQLite, one worker, the
   machine otherwise idle): the time from the start of the upload request until the
   report answers 200 (the client polls the job every 0.2 s), median of N, against the
   notebook's code cells run bare by `python` (as benchmarks/overhead.py does). A first
   grading warms the service (its worker starts the trusted scorer once, as a running
   service has), and is not counted. Where the time goes: upload request, queue wait
   (upload → claim), grading (claim → result: run in the sandbox, scoring, the rest),
   and the report request.
2. Load: 20 students upload 60 files at once (20 threads) to a service with two workers,
   `--rounds` times, each round on a fresh service once it answers and has taken two
   uploads per web process (not counted: a running service is past its first requests);
   the p50/p95 of the upload requests of each round and of all rounds together, and the
   CPU time of the web tier (every web process) per upload. By default the workers
   grade with the test hook (tests/service/fakegrade.py), each grading holding its worker
   `--grade-seconds` (8, about a real one) without using the CPU, so that the web tier is
   measured;
   `--real-load` grades for real. `--web-processes N` runs the web tier in N processes;
   `--db postgresql` stores everything in a PostgreSQL server this benchmark starts
   (with fsync, as a course would run it) instead of the embedded SQLite file.

    python benchmarks/service.py [--repeats 3] [--rounds 3] [--real-load]
        [--grade-seconds 8] [--web-processes 1] [--db sqlite|postgresql]
        [--only latency|load]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from common import NOTEBOOK, ROOT, notebook_as_script, setting, stage_bare, timed

PASSWORD = "benchmark password"


def course(folder: Path, students: list[str], db_url: str | None = None) -> dict[str, str]:
    sys.path.insert(0, str(ROOT))
    from grader.service import courses

    courses.init(folder, "prof", PASSWORD, db_url)
    _, engine = courses.open_service(folder)
    courses.add_assignment(engine, "bench", "happy-or-sad")
    links, _ = courses.import_roster(engine, students, "bench", "http://127.0.0.1")
    engine.dispose()
    return {link.student: link.token for link in links}


def start(folder: Path, workers: int, env: dict[str, str],
          extra: list[str] | None = None) -> tuple[subprocess.Popen[bytes], str, Path]:
    """The service, once it answers (its web processes may still be starting when it
    prints where it listens)."""
    log = folder / "service.log"
    process = subprocess.Popen([sys.executable, "-m", "grader.cli", "serve", "--dir",
                                str(folder), "--port", "0", "--workers", str(workers),
                                "--uploads-per-minute", "0", "--queued-per-student", "0",
                                "--upload-mb-per-day", "0", "--public-health-counts",
                                *(extra or [])],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://\S+)", log.read_text(errors="replace"))
        if found:
            try:
                if httpx.get(f"{found.group(1)}/healthz", timeout=5).status_code == 200:
                    return process, found.group(1), log
            except httpx.HTTPError:
                pass
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(log.read_text()[-2000:])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def web_cpu_seconds(pid: int) -> float:
    """The CPU time of the service's web tier: the service process and the web processes
    it spawned, not its grading workers."""
    pids = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            pids += [int(p) for p in children.read_text().split()]
        except OSError:
            continue
    total = 0.0
    for child in pids:
        try:
            if b"grader.service.workers" in Path(f"/proc/{child}/cmdline").read_bytes():
                continue
            total += cpu_seconds(child)
        except OSError:
            continue
    return total


def submit_and_wait(url: str, token: str, data: bytes, name: str) -> dict[str, float]:
    """Upload, poll the job every 0.2 s, fetch the report: one client, one kept-alive
    connection, as a browser holds. (A new httpx client per poll builds a TLS context and
    a connection each time: 20-40 ms of this process's CPU per poll, taken from the
    grading on the same 2 cores.)"""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        started = time.perf_counter()
        answer = client.post("/api/v1/submissions", files={"file": (name, data)})
        answer.raise_for_status()
        uploaded = time.perf_counter()
        accepted = answer.json()
        while True:
            status = client.get(accepted["status_url"]).json()
            if status["state"] in ("done", "error"):
                break
            time.sleep(0.2)
        before_report = time.perf_counter()
        report = client.get(accepted["report_url"])
        report.raise_for_status()
        ended = time.perf_counter()
    result = status["attempt"]["result"]
    if result["score"] != result["max_score"]:
        raise RuntimeError(f"the reference did not score full marks: {result}")
    return {"total": ended - started, "upload": uploaded - started,
            "report": ended - before_report, "job": accepted["job"]}


def phases(folder: Path, job: int) -> dict[str, float]:
    from sqlalchemy import select

    from grader.results.result import GradeResult
    from grader.service import courses, db

    _, engine = courses.open_service(folder)
    with db.reading(engine) as connection:
        row = connection.execute(select(db.jobs).where(db.jobs.c.id == job)).one()
        text = connection.execute(
            select(db.gradings.c.result_json).join(
                db.job_results, db.job_results.c.grading_id == db.gradings.c.id)
            .where(db.job_results.c.job_id == job)).scalar_one()
    engine.dispose()
    timings = GradeResult.from_json(text).timings
    return {"queued": db.seconds_between(row.created_at, row.started_at) or 0.0,
            "grading": db.seconds_between(row.started_at, row.finished_at) or 0.0,
            "run": timings.get("run", 0.0), "score": timings.get("score", 0.0)}


def upload_to_report(repeats: int) -> None:
    _, data, env = setting()
    scratch = Path(tempfile.mkdtemp(prefix="bench-service-"))
    bare_script = notebook_as_script(NOTEBOOK, scratch / "notebook.py")
    bare = []
    for _ in range(repeats):
        stage_bare(data.train_zip)
        bare.append(timed([sys.executable, str(bare_script)], env, cwd=scratch))
    folder = scratch / "course"
    tokens = course(folder, ["ada"])
    service_env = {k: v for k, v in env.items() if k != "GRADER_SERVICE_TEST_GRADE"}
    process, url, _ = start(folder, 1, service_env)
    try:
        submit_and_wait(url, tokens["ada"], NOTEBOOK.read_bytes(), NOTEBOOK.name)  # warm-up
        runs = [submit_and_wait(url, tokens["ada"], NOTEBOOK.read_bytes(), NOTEBOOK.name)
                for _ in range(repeats)]
    finally:
        process.terminate()
        process.wait(60)
    split = [phases(folder, int(r["job"])) for r in runs]
    bare_median = statistics.median(bare)
    total = statistics.median(r["total"] for r in runs)

    def median(key: str, rows: list[dict[str, float]]) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"upload→report: bare python median {bare_median:6.2f} s  runs "
          f"{[round(t, 2) for t in bare]}")
    print(f"upload→report: service median     {total:6.2f} s  runs "
          f"{[round(r['total'], 2) for r in runs]}")
    print(f"upload→report:   upload request {median('upload', runs) * 1000:.0f} ms, queue "
          f"wait {median('queued', split):.2f} s, grading {median('grading', split):.2f} s "
          f"(run in sandbox {median('run', split):.2f} s, trusted scoring "
          f"{median('score', split):.2f} s), report request "
          f"{median('report', runs) * 1000:.0f} ms")
    print(f"upload→report: ratio {total / bare_median:.3f} (target <= 0.8, warm)")


def with_outputs(student: str, number: int, grade_seconds: float,
                 size: int = 400_000) -> bytes:
    """The reference notebook as a student's file with outputs: ~0.4 MB (a plot's PNG in
    the first code cell's outputs), different bytes for every upload. The test hook
    grades it in `grade_seconds` (`fake: sleep=N`, tests/service/fakegrade.py)."""
    notebook = json.loads(NOTEBOOK.read_text())
    cell = next(c for c in notebook["cells"] if c["cell_type"] == "code")
    blob = base64.b64encode(os.urandom(size * 3 // 4)).decode()
    cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                        "data": {"image/png": blob, "text/plain": ["<Figure>"]}}]
    notebook["cells"].append({"cell_type": "markdown", "metadata": {},
                              "source": [f"fake: sleep={grade_seconds:g}"]})
    notebook["metadata"]["benchmark"] = {"student": student, "attempt": number}
    return json.dumps(notebook).encode()


def one_round(env: dict[str, str], web_processes: int, grade_seconds: float,
              db_url: str | None, wait_for_grading: bool) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-service-load-"))
    students = [f"s{i:02d}" for i in range(20)]
    tokens = course(scratch / "course", [*students, "warm-up"], db_url)
    process, url, _ = start(scratch / "course", 2, env, ["--web-processes", str(web_processes)])
    uploads = [(s, with_outputs(s, n, grade_seconds)) for s in students for n in range(3)]
    warm_ups = 2 * web_processes
    try:
        # a running service has served uploads before: one per web process first, so that
        # the 60 do not also pay each process's first-use costs (statements compiled,
        # modules imported on first use), which a service pays once in its life
        for n in range(warm_ups):
            httpx.post(f"{url}/api/v1/submissions", timeout=60,
                       headers={"Authorization": f"Bearer {tokens['warm-up']}"},
                       files={"file": ("solution.ipynb", with_outputs("warm-up", n, 0))}
                       ).raise_for_status()
        cpu_before = web_cpu_seconds(process.pid)

        # one connection pool for the 20 students' threads: `httpx.post` alone builds a
        # client (and its TLS context) per call, ~25 ms of this process's CPU each, which
        # on 2 cores is taken from the server being measured; a student's own machine pays
        # that, not the service's
        client = httpx.Client(timeout=120, limits=httpx.Limits(max_connections=20))

        def one(upload: tuple[str, bytes]) -> float:
            started = time.perf_counter()
            answer = client.post(f"{url}/api/v1/submissions",
                                 headers={"Authorization": f"Bearer {tokens[upload[0]]}"},
                                 files={"file": ("solution.ipynb", upload[1])})
            answer.raise_for_status()
            return time.perf_counter() - started

        started = time.perf_counter()
        client_cpu = time.process_time()
        with client, ThreadPoolExecutor(max_workers=20) as pool:
            latencies = sorted(pool.map(one, uploads))
        client_cpu = time.process_time() - client_cpu
        accepted_in = time.perf_counter() - started
        cpu_uploads = web_cpu_seconds(process.pid) - cpu_before
        graded_in = cpu_web = None
        if wait_for_grading:
            while httpx.get(f"{url}/healthz", timeout=60).json()["done"] < \
                    len(uploads) + warm_ups:
                time.sleep(0.5)
            graded_in = time.perf_counter() - started
            cpu_web = web_cpu_seconds(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait(60)
    return {"latencies": latencies, "accepted_in": accepted_in, "graded_in": graded_in,
            "cpu_uploads": cpu_uploads, "cpu_web": cpu_web, "client_cpu": client_cpu,
            "size": len(uploads[0][1]) / 1e6}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(0.95 * len(ordered)) - 1)]


def load(real: bool, grade_seconds: float, rounds: int, web_processes: int,
         database: str) -> None:
    _, _, env = setting()
    service_env = dict(env)
    if not real:
        service_env["GRADER_SERVICE_TEST_GRADE"] = "fakegrade:grade"
        service_env["PYTHONPATH"] = str(ROOT / "tests" / "service")
    with postgres_server(database) as new_database:
        results = [one_round(service_env, web_processes, grade_seconds, new_database(),
                             wait_for_grading=n == rounds - 1) for n in range(rounds)]
    kind = "real gradings" if real else \
        f"test-hook gradings of {grade_seconds:g} s each, without their CPU (web tier only)"
    print(f"load: 60 uploads ({results[0]['size']:.2f} MB notebooks) from 20 students at "
          f"once, 2 workers, {kind}; {web_processes} web process(es), {database}")
    for n, result in enumerate(results, 1):
        latencies = result["latencies"]
        print(f"load:   round {n}: upload request p50 {statistics.median(latencies) * 1000:.0f}"
              f" ms, p95 {p95(latencies) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms; "
              f"all accepted in {result['accepted_in']:.2f} s; web CPU "
              f"{result['cpu_uploads'] / 60 * 1000:.1f} ms per upload")
    pooled = [t for result in results for t in result["latencies"]]
    print(f"load:   all {len(pooled)} uploads: p50 {statistics.median(pooled) * 1000:.0f} ms, "
          f"p95 {p95(pooled) * 1000:.0f} ms (target p95 <= 200 ms)")
    last = results[-1]
    print(f"load:   last round: all graded in {last['graded_in']:.1f} s; web CPU "
          f"{last['cpu_web']:.2f} s until then (with the workers' status writes and this "
          f"benchmark's health polls); the 20 clients' CPU {last['client_cpu']:.2f} s, on "
          f"the same 2 cores")


@contextmanager
def postgres_server(database: str) -> Iterator[Callable[[], str | None]]:
    """A maker of fresh databases: None (each course folder's SQLite file), or a new
    database on a PostgreSQL server started here as the tests start theirs."""
    if database == "sqlite":
        yield lambda: None
        return
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "service")]
    import components
    from service_fixtures import started_postgres

    binaries = components.postgresql()
    if binaries is None:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    with started_postgres(binaries, durable=True) as server:
        yield server.new_database


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--real-load", action="store_true")
    # a real grading holds its worker ~9 s; a test-hook grading that returned at once
    # would have the two workers write to the database 30 times a second, which no
    # service grading for real does, and measure that contention instead of the uploads
    parser.add_argument("--grade-seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--web-processes", type=int, default=1)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--only", choices=("latency", "load"))
    args = parser.parse_args()
    if args.only in (None, "latency"):
        upload_to_report(args.repeats)
    if args.only in (None, "load"):
        load(args.real_load, args.grade_seconds, args.rounds, args.web_processes, args.db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
