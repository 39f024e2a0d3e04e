"""What the service accepts from a student, checked before any job exists.

In order, each with its own status so a client can tell what to fix: the file is named
.ipynb or .py (415), the body is no larger than the limit (413); then, on a snapshot,
the link is still valid (401), the deadline allows it (409), an attempt is left (409),
the cooldown has passed (429), the same file is not already waiting (409), the
student's fair use (429: uploads waiting, bytes today; `FairUse`); then the bytes are a
valid submission by the grader's own check (422). The bytes are stored (fsynced) before
the transaction that judges the rules again and creates the attempt and its job
commits; only then does the client hear "accepted".

Why the grader's full notebook validation here (grader.submission.check, nbformat's
parse and schema): whatever the service accepts must be a file the grader can read, or
the student learns of a malformed notebook only from a failed attempt, and a malformed
one (a 5,000-digit number, a `source` of `[1, 2]`) reached code that did not expect it
and answered 500. It costs ~1 ms of CPU for a typical notebook once nbformat has built its
validator (~40 ms, the first time in a process).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from grader import submission
from grader.ids import display_name
from grader.results.gradebook import retrying
from grader.service import auth, courses, db, groupcommit, policy, queue
from grader.service.storage import Storage, TooLarge

SUFFIXES = {".ipynb": "notebook", ".py": "module"}
DEFAULT_LIMIT = 20 * 1024 * 1024
DEFAULT_QUEUED = 2  # uploads of one student waiting at once (FairUse)
DEFAULT_BYTES_PER_DAY = 100 * 1024 * 1024  # of one student's accepted uploads (FairUse)
QUEUED_RETRY_SECONDS = 30  # Retry-After of a full queue: about one grading's time
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class Refused(Exception):
    """An upload the service will not take; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass(frozen=True)
class Accepted:
    job_id: int
    attempt_id: int
    number: int
    sha256: str
    position: int  # in the queue when accepted


def shown_name(filename: str | None) -> str:
    """The name to show and store: the last part of what the browser sent, bounded, with
    every control character (NUL, which PostgreSQL refuses in text; a newline or an
    escape, which would forge lines where it is shown) as "?"."""
    last = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _CONTROL.sub("?", display_name(last))[:200] or "submission"


def suffix_of(filename: str | None) -> str:
    name = shown_name(filename).lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    raise Refused(415, "only a Jupyter notebook (.ipynb) or a Python module (.py) can be "
                       f"submitted; got {shown_name(filename)!r}")


def check_content(data: bytes, suffix: str) -> None:
    """The grader's own judgement of the file (grader.submission.check), as a 422."""
    try:
        submission.check(data, SUFFIXES[suffix])
    except submission.SubmissionError as refused:
        raise Refused(422, str(refused)) from None


@dataclass(frozen=True)
class FairUse:
    """What one student may hold of the service's shared capacity (0: no limit). Why
    per student rather than per link: a student with two assignments is still one person
    in front of the class's queue and disk."""

    queued: int = DEFAULT_QUEUED  # their uploads waiting for a worker at once
    bytes_per_day: int = DEFAULT_BYTES_PER_DAY  # bytes of accepted uploads per UTC day


def accept(engine: Engine, storage: Storage, student: auth.Student, source: BinaryIO,
           filename: str | None, limit: int = DEFAULT_LIMIT,
           fair: FairUse = FairUse()) -> Accepted:
    """Check, store and enqueue one upload; raises Refused with the reason otherwise.

    The rules are judged twice: once the bytes are staged and hashed, on a snapshot, so
    that an upload the rules refuse never reaches the store (refused uploads would
    otherwise fill the disk at the rate limit's pace); and again in the transaction that
    records it, the judgement that holds under concurrency, across web processes."""
    suffix = suffix_of(filename)
    try:
        with storage.staged(source, limit) as staged:
            with db.reading(engine) as connection:
                _judge(connection, student, fair, staged.size, staged.sha256)
            with staged.path.open("rb") as handle:
                check_content(handle.read(), suffix)
            storage.keep(staged)
    except TooLarge:
        raise Refused(413, f"the file is larger than {limit / 2**20:g} MB") from None
    recorder = groupcommit.group_commit(engine)
    return retrying(lambda: recorder.run(lambda connection: _record(
        connection, student, fair, staged.sha256, staged.size, suffix,
        shown_name(filename))))


# Built once, with bound parameters: building a statement costs more CPU than SQLite
# takes to run it, and every upload runs these. Few: on PostgreSQL each is a round trip,
# and each round trip of twenty uploads at once waits its turn for this process's GIL.
def _state_of_link() -> Any:
    """The link's assignment rules, whether it was revoked, the attempts made with it,
    and what its student holds of the shared capacity: in one query."""
    tokens, attempts, jobs = db.tokens, db.attempts.c, db.jobs.c
    mine = (attempts.assignment_id == tokens.c.assignment_id) & \
        (attempts.student_id == tokens.c.student_id)
    waiting = db.attempts.join(db.jobs, jobs.attempt_id == attempts.id)
    return select(
        *courses.assignment_columns(),  # first: policy.Assignment(*row[:_RULES])
        tokens.c.revoked_at,
        select(func.count()).where(mine).scalar_subquery().label("used"),
        select(func.max(attempts.submitted_at)).where(mine).scalar_subquery().label("last"),
        select(func.coalesce(func.max(attempts.number), 0)).where(mine).scalar_subquery()
        .label("highest"),
        select(func.count()).select_from(waiting)
        .where(jobs.state == db.QUEUED, jobs.kind == db.SUBMISSION,
               attempts.student_id == tokens.c.student_id).scalar_subquery()
        .label("queued"),
        select(func.min(attempts.number)).select_from(waiting)
        .where(mine, jobs.state.in_([db.QUEUED, db.RUNNING]),
               attempts.upload_sha256 == bindparam("sha256"))
        .scalar_subquery().label("same"),
        select(func.coalesce(func.sum(db.uploads.c.size), 0))
        .select_from(db.attempts.join(db.uploads,
                                      db.uploads.c.sha256 == attempts.upload_sha256))
        .where(attempts.student_id == tokens.c.student_id,
               attempts.submitted_at >= bindparam("since")).scalar_subquery()
        .label("today"),
    ).select_from(tokens.join(db.assignments, db.assignments.c.id == tokens.c.assignment_id)) \
        .where(tokens.c.id == bindparam("token_id"))


_RULES = len(fields(policy.Assignment))
_LINK = _state_of_link()
# PostgreSQL: one upload at a time per student, by locking the link's token row and then
# the student's row (never the assignment's, which other students share) in statements
# of their own: the student's row, because the queue and the day's bytes are counted
# over all of that student's links. A query that waited for the lock would still count
# the attempts of the snapshot it began with, before the upload that held the lock
# committed; the next statement sees it.
_LOCK_LINK = select(db.tokens.c.id).where(db.tokens.c.id == bindparam("token_id")) \
    .with_for_update()
_LOCK_STUDENT = select(db.students.c.id).where(db.students.c.id == bindparam("student_id")) \
    .with_for_update()
_STORE = {"sqlite": sqlite_insert(db.uploads).on_conflict_do_nothing(),
          "postgresql": postgresql_insert(db.uploads).on_conflict_do_nothing()}
_ATTEMPT = db.attempts.insert()


def _judge(connection: Connection, student: auth.Student, fair: FairUse, size: int,
           sha256: str) -> tuple[policy.Assignment, int]:
    """The course's rules and the fair-use caps for one more upload of these bytes:
    Refused, or the assignment and the highest attempt number so far."""
    moment = datetime.now(UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    link = connection.execute(_LINK, {"token_id": student.token_id, "sha256": sha256,
                                      "since": db.stamp(midnight)}).first()
    if link is None or link.revoked_at is not None:
        raise Refused(401, "this link has been revoked; ask your instructor for a new one")
    assignment = policy.Assignment(*link[:_RULES])
    if policy.refuses(assignment, db.stamp(moment)):
        raise Refused(409, f"the deadline ({assignment.deadline} UTC) has passed and this "
                           "assignment does not accept late work")
    if assignment.max_attempts is not None and link.used >= assignment.max_attempts:
        raise Refused(409, f"all {assignment.max_attempts} attempt(s) are used")
    if assignment.cooldown_seconds and link.last:
        waited = (moment - db.parse(link.last)).total_seconds()
        if waited < assignment.cooldown_seconds:
            wait = int(assignment.cooldown_seconds - waited) + 1
            raise Refused(429, f"wait {wait} s before the next attempt (at least "
                               f"{assignment.cooldown_seconds} s between attempts)", wait)
    if link.same is not None:  # queued or running: the same bytes get the same grade
        raise Refused(409, "this file is already waiting to be graded: attempt "
                           f"{link.same}")
    if fair.queued and link.queued >= fair.queued:
        raise Refused(429, f"you already have {link.queued} upload(s) waiting to be graded "
                           f"(at most {fair.queued} may wait at once); submit again when "
                           "one of them has started", QUEUED_RETRY_SECONDS)
    if fair.bytes_per_day and size > fair.bytes_per_day:  # no day would take it: not 429
        raise Refused(413, f"the file is larger than the {fair.bytes_per_day / 2**20:g} MB "
                           "each student may upload in a day")
    if fair.bytes_per_day and link.today + size > fair.bytes_per_day:
        tomorrow = int((midnight + timedelta(days=1) - moment).total_seconds()) + 1
        raise Refused(429, f"this upload would pass the {fair.bytes_per_day / 2**20:g} MB "
                           "each student may upload in a day (UTC); you have uploaded "
                           f"{link.today / 2**20:.1f} MB today. Try again after 00:00 UTC",
                      tomorrow)
    return assignment, int(link.highest or 0)


def _record(connection: Connection, student: auth.Student, fair: FairUse, sha256: str,
            size: int, suffix: str, filename: str) -> Accepted:
    """The attempt and its job, in the write transaction of its group (groupcommit)."""
    if not db.is_sqlite(connection):
        connection.execute(_LOCK_LINK, {"token_id": student.token_id})
        connection.execute(_LOCK_STUDENT, {"student_id": student.student_id})
    assignment, highest = _judge(connection, student, fair, size, sha256)
    moment = db.now()
    connection.execute(_STORE[connection.dialect.name], {
        "sha256": sha256, "size": size, "kind": SUFFIXES[suffix], "stored_at": moment})
    number = highest + 1
    attempt = int(connection.execute(_ATTEMPT, {
        "assignment_id": assignment.id, "student_id": student.student_id,
        "number": number, "upload_sha256": sha256, "filename": filename,
        "suffix": suffix, "submitted_at": moment}).inserted_primary_key[0])
    job = queue.enqueue(connection, attempt)
    return Accepted(job, attempt, number, sha256, queue.position_of_new(connection, job))
