"""The durable queue: one row per grading to do, in the service database itself.

    queued ──claim──▶ running ──finish──▶ done   (a result was recorded)
       ▲                 │                 error  (the grader could not grade it; its
       └────requeue──────┘                         error result was recorded)

Why the job table is the queue (and not a queue library): the embedded default must stay
serverless, and the job row, the gradebook row and the job's result must change in one
transaction. Claiming: PostgreSQL locks the oldest queued row with FOR UPDATE SKIP LOCKED,
so two workers never wait on or take the same row; SQLite takes its single write lock
(BEGIN IMMEDIATE), after a plain read has seen that there is work, so idle workers never
hold the lock. Each claim gets a random `claim` id; `finish` changes the row only if it
still holds that claim and is running, and job_results' primary key is the job id: a
grading whose job was meanwhile re-queued (its worker was thought dead) is discarded, and
a job never has two results.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, update

from grader.results.gradebook import Gradebook, stored_text
from grader.results.result import GradeResult
from grader.service import db

MAX_TRIES = 3  # a job whose grading was cut short this often is recorded as an error
PRIORITY = {db.SUBMISSION: 0, db.REGRADE: 1}  # students' uploads before regrades
DEFAULT_SECONDS = 30.0  # the typical grading time shown before any grading has finished


class _Lost(Exception):
    """The job no longer holds the claim: roll back, record nothing."""


@dataclass(frozen=True)
class Claimed:
    job_id: int
    claim: str
    tries: int
    attempt_id: int
    student: str
    assignment: str
    exercise: str
    sha256: str
    suffix: str
    filename: str


_ENQUEUE = db.jobs.insert()


def enqueue(connection: Connection, attempt_id: int, kind: str = db.SUBMISSION) -> int:
    return int(connection.execute(_ENQUEUE, {
        "attempt_id": attempt_id, "kind": kind, "priority": PRIORITY[kind],
        "state": db.QUEUED, "created_at": db.now(), "tries": 0}).inserted_primary_key[0])


def _has_work(engine: Engine) -> bool:
    with db.reading(engine) as connection:
        return connection.execute(select(db.jobs.c.id).where(db.jobs.c.state == db.QUEUED)
                                  .limit(1)).first() is not None


def claim(engine: Engine, worker: str) -> Claimed | None:
    """Take the next job (students' uploads first, then oldest first), or None."""
    if not _has_work(engine):
        return None
    with db.writing(engine) as connection:
        query = (select(db.jobs.c.id, db.jobs.c.tries).where(db.jobs.c.state == db.QUEUED)
                 .order_by(db.jobs.c.priority, db.jobs.c.id).limit(1))
        if not db.is_sqlite(connection):
            query = query.with_for_update(skip_locked=True)
        row = connection.execute(query).first()
        if row is None:
            return None
        token, moment = uuid.uuid4().hex, db.now()
        connection.execute(update(db.jobs).where(db.jobs.c.id == row.id).values(
            state=db.RUNNING, claim=token, claimed_by=worker[:128], started_at=moment,
            heartbeat_at=moment, finished_at=None, error=None))
        info = connection.execute(
            select(db.attempts.c.id, db.students.c.student, db.assignments.c.name,
                   db.assignments.c.exercise, db.attempts.c.upload_sha256,
                   db.attempts.c.suffix, db.attempts.c.filename)
            .select_from(db.jobs.join(db.attempts, db.attempts.c.id == db.jobs.c.attempt_id)
                         .join(db.students, db.students.c.id == db.attempts.c.student_id)
                         .join(db.assignments,
                               db.assignments.c.id == db.attempts.c.assignment_id))
            .where(db.jobs.c.id == row.id)).one()
    return Claimed(int(row.id), token, int(row.tries), int(info[0]), *info[1:])


def heartbeat(engine: Engine, held: list[tuple[int, str]]) -> None:
    """Tell the others these jobs are still being graded (see requeue_stale)."""
    if not held:
        return
    with db.writing(engine) as connection:
        moment = db.now()
        for job_id, token in held:
            connection.execute(update(db.jobs).where(
                db.jobs.c.id == job_id, db.jobs.c.claim == token,
                db.jobs.c.state == db.RUNNING).values(heartbeat_at=moment))


def finish(engine: Engine, job: Claimed, result: GradeResult, state: str,
           book: Gradebook, after: Callable[[Connection, int], object] | None = None) -> bool:
    """Record the job's result in the gradebook and mark it `state` (done or error), in
    one transaction; False (nothing recorded) when the job no longer holds this claim.
    `after(connection, attempt id)` runs in that transaction too: what a recorded grading
    owes (the LMS's score: lti.owed.after_grading) is owed exactly when it is recorded."""
    try:
        with db.writing(engine) as connection:
            held = connection.execute(update(db.jobs).where(
                db.jobs.c.id == job.job_id, db.jobs.c.claim == job.claim,
                db.jobs.c.state == db.RUNNING).values(
                state=state, finished_at=db.now(),
                error=stored_text((result.error or "")[:2000]) if state == db.ERROR
                else None)).rowcount
            if held != 1:
                raise _Lost
            grading = book.record(result, None, connection=connection)
            connection.execute(db.job_results.insert().values(job_id=job.job_id,
                                                              grading_id=grading))
            if after is not None:
                after(connection, job.attempt_id)
    except _Lost:
        return False
    return True


def requeue(engine: Engine, claimed_by: str | None = None,
            stale_seconds: float | None = None, interrupted: bool = True) -> int:
    """Put running jobs back in the queue: all of them (at start: the service that ran
    them is gone), those of one dead worker, or those whose heartbeat is older than
    `stale_seconds`. Each counts as one interrupted try, unless the service stopped them
    itself (`interrupted` False: a clean stop is not the submission's doing)."""
    condition = db.jobs.c.state == db.RUNNING
    if claimed_by is not None:
        condition = and_(condition, db.jobs.c.claimed_by == claimed_by)
    if stale_seconds is not None:
        limit = db.stamp(datetime.now(UTC) - timedelta(seconds=stale_seconds))
        condition = and_(condition, or_(db.jobs.c.heartbeat_at.is_(None),
                                        db.jobs.c.heartbeat_at < limit))
    with db.writing(engine) as connection:
        return int(connection.execute(update(db.jobs).where(condition).values(
            state=db.QUEUED, claim=None, claimed_by=None, started_at=None,
            heartbeat_at=None, tries=db.jobs.c.tries + (1 if interrupted else 0))).rowcount)


_JOB = select(db.jobs.c.state, db.jobs.c.priority).where(db.jobs.c.id == bindparam("job"))
_AHEAD = select(func.count()).select_from(db.jobs).where(
    db.jobs.c.state == db.QUEUED,
    or_(db.jobs.c.priority < bindparam("priority"),
        and_(db.jobs.c.priority == bindparam("priority"), db.jobs.c.id < bindparam("job"))))


def position_of_new(connection: Connection, job_id: int, kind: str = db.SUBMISSION) -> int:
    """The position of a job enqueued in this very transaction (nobody can have claimed
    it yet): one query fewer than `position`."""
    return int(connection.execute(_AHEAD, {"job": job_id, "priority": PRIORITY[kind]})
               .scalar() or 0) + 1


def position(connection: Connection, job_id: int) -> int | None:
    """1 for the next job to be claimed; None when the job is not queued."""
    row = connection.execute(_JOB, {"job": job_id}).first()
    if row is None or row.state != db.QUEUED:
        return None
    ahead = connection.execute(_AHEAD, {"job": job_id, "priority": row.priority}).scalar()
    return int(ahead or 0) + 1


def counts(connection: Connection) -> dict[str, int]:
    rows = connection.execute(select(db.jobs.c.state, func.count())
                              .group_by(db.jobs.c.state)).all()
    found = {state: int(n) for state, n in rows}
    return {state: found.get(state, 0) for state in (db.QUEUED, db.RUNNING, db.DONE,
                                                     db.ERROR)}


def typical_seconds(connection: Connection, last: int = 20) -> float:
    """The median time from claim to result of the last `last` finished jobs."""
    rows = connection.execute(select(db.jobs.c.started_at, db.jobs.c.finished_at)
                              .where(db.jobs.c.state.in_([db.DONE, db.ERROR]),
                                     db.jobs.c.started_at.is_not(None))
                              .order_by(db.jobs.c.id.desc()).limit(last)).all()
    spans = [s for s in (db.seconds_between(a, b) for a, b in rows) if s is not None]
    return round(statistics.median(spans), 1) if spans else DEFAULT_SECONDS
