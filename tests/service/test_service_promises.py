"""Promises of docs/service.md that no other test would catch breaking (issue 21), each
checked against the behaviour the page describes, not against the code's own output:

* a job cut short three times ends in error; students' uploads are claimed before regrades;
* deadlines: a bare date means 23:59:59 UTC, a date-time without a zone is UTC;
* the late penalty counts each day *or part of a day* (1.5 days late at 10 %/day: −20 %);
* the writers' lock answers 503 once it waited its time (30 s; shortened here), never hangs;
* two processes migrating one fresh database at once both succeed, the schema made once;
* `roster import --reissue`: the old links stop working, the new ones work.

The promises that need the service as real processes (heartbeat re-queue, `nice 5`, the
database URL in the environment, Content-Length refusal, X-Forwarded-Proto) are in
test_service_processes.py."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from service_fixtures import Course, client, make_course, module
from sqlalchemy import func, inspect, select
from test_service_writers import _another_process_writing  # holds the writer lock

from grader.cli import main
from grader.results.result import CheckResult, GradeResult
from grader.service import db, migrate, policy, queue

pytestmark = pytest.mark.timeout(300)


def _upload(course: Course, student: str, text: str = "") -> dict[str, Any]:
    answer = client(course.app()).post("/api/v1/submissions", headers=course.headers(student),
                                       files={"file": ("sol.py", module(text))})
    assert answer.status_code == 202, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _job(course: Course, job_id: int) -> Any:
    with db.reading(course.engine) as connection:
        return connection.execute(select(db.jobs).where(db.jobs.c.id == job_id)).one()


# -- a job cut short three times ends in error ------------------------------------------

def _cut_short(course: Course, times: int) -> None:
    """What the pool does when the worker holding the job dies: requeue its jobs."""
    for index in range(times):
        claimed = queue.claim(course.engine, f"doomed-{index}")
        assert claimed is not None
        assert queue.requeue(course.engine, claimed_by=f"doomed-{index}") == 1


def test_a_job_cut_short_three_times_ends_in_error_and_twice_is_still_graded(
        course: Course) -> None:
    twice = _upload(course, "ada", "# cut short twice")
    _cut_short(course, 2)
    course.grade_queued()
    assert _job(course, twice["job"]).state == db.DONE  # two cuts: graded as usual

    thrice = _upload(course, "bo", "# cut short three times")
    _cut_short(course, 3)
    course.grade_queued()
    job = _job(course, thrice["job"])
    assert (job.state, job.tries) == (db.ERROR, 3)
    assert "interrupted 3 times" in job.error
    status = client(course.app()).get(thrice["status_url"], headers=course.headers("bo"))
    assert status.json()["state"] == "error"  # the attempt shows it
    with db.reading(course.engine) as connection:  # and it has its one (error) result
        assert connection.execute(select(func.count()).select_from(db.job_results).where(
            db.job_results.c.job_id == thrice["job"])).scalar() == 1


# -- students' uploads before regrades --------------------------------------------------

def test_a_students_upload_is_claimed_before_an_older_regrade(course: Course) -> None:
    first = _upload(course, "ada")
    course.grade_queued()
    with db.writing(course.engine) as connection:  # the instructor regrades ada first...
        regrade = queue.enqueue(connection, first["attempt"], db.REGRADE)
    upload = _upload(course, "bo")  # ...then bo uploads: bo's upload goes first
    assert upload["job"] > regrade and upload["position"] == 1
    claimed = queue.claim(course.engine, "w")
    assert claimed is not None and claimed.job_id == upload["job"]
    claimed = queue.claim(course.engine, "w")
    assert claimed is not None and claimed.job_id == regrade


# -- deadlines: bare dates and zone-less date-times -------------------------------------

def test_deadline_examples_from_the_page() -> None:
    assert policy.parse_deadline("2026-03-01") == "2026-03-01T23:59:59.000Z"
    assert policy.parse_deadline("2026-03-01T12:30:00") == "2026-03-01T12:30:00.000Z"
    assert policy.parse_deadline("2026-03-01T23:59:00Z") == "2026-03-01T23:59:00.000Z"
    assert policy.parse_deadline("2026-03-02T01:00:00+02:00") == "2026-03-01T23:00:00.000Z"


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(1971, 1, 2), max_value=date(9998, 12, 30)))
def test_a_bare_date_means_the_end_of_that_day_in_utc(day: date) -> None:
    stored = policy.parse_deadline(day.isoformat())
    assert db.parse(stored) == datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(9998, 12, 30)),
       st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_a_date_time_without_a_zone_is_utc_and_one_with_a_zone_is_converted(
        moment: datetime, offset_minutes: int) -> None:
    moment = moment.replace(microsecond=0)
    naive = policy.parse_deadline(moment.isoformat())
    assert db.parse(naive) == moment.replace(tzinfo=UTC)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    zoned = f"{moment.isoformat()}{sign}{hours:02d}:{minutes:02d}"
    assert db.parse(policy.parse_deadline(zoned)) == \
        moment.replace(tzinfo=UTC) - timedelta(minutes=offset_minutes)


@pytest.mark.parametrize("zone", ["America/Sao_Paulo", "Asia/Kolkata"])
def test_a_zone_less_deadline_is_utc_whatever_the_machines_zone(
        zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", zone)  # a machine whose local time is not UTC
    time.tzset()
    try:
        assert datetime(2026, 3, 1, 12).astimezone().utcoffset() != timedelta(0)
        assert policy.parse_deadline("2026-03-01T12:30:00") == "2026-03-01T12:30:00.000Z"
        assert policy.parse_deadline("2026-03-01") == "2026-03-01T23:59:59.000Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_add_assignment_stores_a_bare_date_as_its_last_second(tmp_path: Path,
                                                              database: str | None) -> None:
    made = make_course(tmp_path / "course", database, ["ada"])
    from grader.service import courses

    added = courses.add_assignment(made.engine, "hw2", "happy-or-sad", deadline="2030-05-17")
    assert added.deadline == "2030-05-17T23:59:59.000Z"
    made.engine.dispose()


# -- the late penalty: each day or part of a day ----------------------------------------

def _assignment(per_day: float, deadline: str = "2026-03-01T23:59:00.000Z") -> Any:
    return policy.Assignment(id=1, name="hw", exercise="happy-or-sad", title=None,
                             deadline=deadline, late_policy=db.LATE_PENALTY,
                             late_penalty_per_day=per_day, max_attempts=None,
                             cooldown_seconds=0, counting=db.COUNT_BEST,
                             created_at="2026-01-01T00:00:00.000Z")


def _hundred() -> GradeResult:
    return GradeResult(submission="s.py", student="ada", exercise="happy-or-sad",
                       status="graded", score=100.0, max_score=100.0,
                       checks=[CheckResult(id="runs", title="Runs", status="passed",
                                           passed=True, score=100.0, max_score=100.0,
                                           message="ran")])


def _late_by(seconds: float) -> str:
    return db.stamp(db.parse("2026-03-01T23:59:00.000Z") + timedelta(seconds=seconds))


def test_one_and_a_half_days_late_at_ten_percent_a_day_loses_twenty_percent() -> None:
    counted = policy.counted(_hundred(), _assignment(10), _late_by(1.5 * 86400))
    assert counted.score == 80
    penalty = counted.checks[-1]
    assert (penalty.id, penalty.score, penalty.max_score) == ("late_penalty", -20, 0)
    assert sum(c.score for c in counted.checks) == counted.score  # the checks add up


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=1, max_value=200 * 86400),
       st.floats(min_value=0.5, max_value=100, allow_nan=False))
def test_each_day_or_part_of_a_day_costs_the_daily_penalty_up_to_all(
        seconds: int, per_day: float) -> None:
    days = -(-seconds // 86400)  # a second late is a day late; exactly one day is one
    expected = min(100.0, days * per_day)
    counted = policy.counted(_hundred(), _assignment(per_day), _late_by(seconds))
    assert math.isclose(100 - counted.score, expected, abs_tol=0.011)


def test_on_time_costs_nothing() -> None:
    assert policy.counted(_hundred(), _assignment(10), _late_by(0)).score == 100


# -- the writers' lock: 503 after its wait ----------------------------------------------

def test_the_writer_lock_documented_wait_is_30_seconds() -> None:
    assert db.LOCK_SECONDS == 30  # docs/service.md: "both give up after 30 s"


def test_an_upload_that_cannot_get_the_writer_lock_gets_503_not_a_hang(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = make_course(tmp_path / "course", None, ["ada"])
    monkeypatch.setattr(db, "LOCK_SECONDS", 1.0)  # the wait, shortened for the test
    api = client(made.app())
    answers: list[Any] = []
    with _another_process_writing(str(made.root / "service.sqlite")):
        uploader = threading.Thread(target=lambda: answers.append(api.post(
            "/api/v1/submissions", headers=made.headers("ada"),
            files={"file": ("sol.py", module())})))
        uploader.start()
        uploader.join(60)  # far beyond the 1 s wait: a hang fails here
        assert not uploader.is_alive() and answers
        assert answers[0].status_code == 503, answers[0].text
        assert answers[0].json()["status"] == 503
    monkeypatch.setattr(db, "LOCK_SECONDS", 30)
    again = api.post("/api/v1/submissions", headers=made.headers("ada"),
                     files={"file": ("sol.py", module())})
    assert again.status_code == 202  # the lock freed, writing works again
    made.engine.dispose()


# -- migrations: two processes on one fresh database at once ----------------------------

MIGRATE_TWICE = """
import sys
from grader.service import db, migrate
engine = db.connect(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # start together
migrate.upgrade(engine)
print(migrate.current(engine))
"""


def test_two_processes_migrating_one_fresh_database_at_once_both_succeed(
        tmp_path: Path, databases: Any) -> None:
    url = databases() or f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    runs = [subprocess.Popen([sys.executable, "-c", MIGRATE_TWICE, url], text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE) for _ in range(2)]
    for run in runs:  # wait until both have imported everything and wait for the word
        assert run.stdout is not None and run.stdout.readline() == "ready\n"
    for run in runs:  # then release them together
        assert run.stdin is not None
        run.stdin.write("go\n")
        run.stdin.flush()
    outputs = [run.communicate(timeout=180) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err[-3000:]
        assert out.strip() == migrate.head()
    engine = db.connect(url)
    try:
        with engine.connect() as connection:
            versions = connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version").scalars().all()
        assert versions == [migrate.head()]  # one row: the schema was made once
        assert set(db.SERVICE.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- roster import --reissue ------------------------------------------------------------

def test_roster_reissue_stops_the_old_links_and_the_new_ones_work(course: Course,
                                                                   tmp_path: Path) -> None:
    roster, links = tmp_path / "roster.csv", tmp_path / "links.csv"
    roster.write_text("student\nada\nbo\n")
    api = client(course.app())
    old = dict(course.tokens)
    assert all(api.get("/api/v1/me", headers=course.headers(s)).status_code == 200
               for s in old)
    assert main(["serve", "roster", "import", str(roster), "--dir", str(course.root),
                 "--assignment", "hw1", "--links", str(links), "--reissue"]) == 0
    with links.open() as handle:
        new = {row["student"]: row["token"] for row in csv.DictReader(handle)}
    assert set(new) == {"ada", "bo"} and not set(new.values()) & set(old.values())
    for student in old:
        assert api.get("/api/v1/me", headers={
            "Authorization": f"Bearer {old[student]}"}).status_code == 401
        assert api.get("/api/v1/me", headers={
            "Authorization": f"Bearer {new[student]}"}).status_code == 200
    # without --reissue, importing again leaves the (new) links alone
    assert main(["serve", "roster", "import", str(roster), "--dir", str(course.root),
                 "--assignment", "hw1", "--links", str(tmp_path / "again.csv")]) == 0
    assert all(api.get("/api/v1/me", headers={"Authorization": f"Bearer {t}"}).status_code
               == 200 for t in new.values())
