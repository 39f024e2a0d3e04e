"""What the pages and the API show, read from the database as plain values.

Why one module for both: a student's page, `grader submit` and the instructor's dashboard
must never disagree about an attempt (its state, its score, whether it counts), so they
are all made here from the same rows. An attempt's result is its latest finished job's
(a regrade adds a job); the score that counts comes from policy.counted, so the late
penalty a page shows is the one the report and the exports show.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from grader.reports import view
from grader.results.result import GradeResult
from grader.service import courses, db, policy, queue


@dataclass
class Attempt:
    id: int
    number: int
    student_id: int
    filename: str
    submitted_at: str
    sha256: str
    job_id: int | None = None  # the latest job of the attempt
    state: str = db.QUEUED
    position: int | None = None
    started_at: str | None = None
    result: GradeResult | None = None  # as graded
    counted: GradeResult | None = None  # as it counts (late penalty applied)
    late_seconds: float = 0.0
    counts: bool = False

    @property
    def days_late(self) -> int:
        return policy.days_late(self.late_seconds)

    @property
    def running_seconds(self) -> float | None:
        return db.seconds_between(self.started_at, db.now()) if self.state == db.RUNNING \
            else None


@dataclass
class StudentRow:
    student_id: int
    student: str
    name: str
    linked: bool
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def counting(self) -> Attempt | None:
        return next((a for a in self.attempts if a.counts), None)

    @property
    def pending(self) -> int:
        return sum(1 for a in self.attempts if a.state in (db.QUEUED, db.RUNNING))


def attempts(connection: Connection, assignment: policy.Assignment,
             student_id: int | None = None) -> list[Attempt]:
    """The attempts of one student (or of everyone), oldest first, with their latest job,
    latest result and whether each is the one that counts."""
    query = select(db.attempts.c.id, db.attempts.c.number, db.attempts.c.student_id,
                   db.attempts.c.filename, db.attempts.c.submitted_at,
                   db.attempts.c.upload_sha256) \
        .where(db.attempts.c.assignment_id == assignment.id)
    if student_id is not None:
        query = query.where(db.attempts.c.student_id == student_id)
    found = {row[0]: Attempt(*row) for row in
             connection.execute(query.order_by(db.attempts.c.student_id,
                                               db.attempts.c.number))}
    if not found:
        return []
    ids = list(found)
    for job_id, attempt_id, state, started in connection.execute(
            select(db.jobs.c.id, db.jobs.c.attempt_id, db.jobs.c.state, db.jobs.c.started_at)
            .where(db.jobs.c.attempt_id.in_(ids)).order_by(db.jobs.c.id)):
        attempt = found[attempt_id]
        attempt.job_id, attempt.state, attempt.started_at = job_id, state, started
    for attempt_id, text in connection.execute(
            select(db.jobs.c.attempt_id, db.gradings.c.result_json)
            .select_from(db.job_results.join(db.jobs, db.jobs.c.id == db.job_results.c.job_id)
                         .join(db.gradings, db.gradings.c.id == db.job_results.c.grading_id))
            .where(db.jobs.c.attempt_id.in_(ids)).order_by(db.job_results.c.job_id)):
        found[attempt_id].result = GradeResult.from_json(text)
    by_student: dict[int, list[Attempt]] = defaultdict(list)
    for attempt in found.values():
        attempt.late_seconds = policy.late_seconds(assignment, attempt.submitted_at)
        if attempt.result is not None:
            attempt.counted = policy.counted(attempt.result, assignment, attempt.submitted_at)
        if attempt.state == db.QUEUED and attempt.job_id is not None:
            attempt.position = queue.position(connection, attempt.job_id)
        by_student[attempt.student_id].append(attempt)
    for mine in by_student.values():
        scored = [(a.number, a.counted.score) for a in mine if a.counted is not None]
        chosen = policy.counting_choice(scored, assignment.counting)
        for attempt in mine:
            attempt.counts = attempt.number == chosen
    return list(found.values())


def class_rows(connection: Connection, assignment: policy.Assignment) -> list[StudentRow]:
    """Every enrolled student with their attempts (the dashboard and the exports)."""
    rows = {sid: StudentRow(sid, student, name, linked)
            for sid, student, name, linked in courses.roster(connection, assignment.id)}
    for attempt in attempts(connection, assignment):
        if attempt.student_id in rows:
            rows[attempt.student_id].attempts.append(attempt)
    return list(rows.values())


def counting_results(connection: Connection, assignment: policy.Assignment
                     ) -> list[GradeResult]:
    """The result that counts for each student who has one, late penalty applied."""
    return [row.counting.counted for row in class_rows(connection, assignment)
            if row.counting is not None and row.counting.counted is not None]


def attempt_owner(connection: Connection, attempt_id: int) -> tuple[int, int] | None:
    """(student id, assignment id) of an attempt, or None when there is no such attempt."""
    row = connection.execute(select(db.attempts.c.student_id, db.attempts.c.assignment_id)
                             .where(db.attempts.c.id == attempt_id)).first()
    return (int(row[0]), int(row[1])) if row else None


def job_attempt(connection: Connection, job_id: int) -> int | None:
    return connection.execute(select(db.jobs.c.attempt_id)
                              .where(db.jobs.c.id == job_id)).scalar()


def one_attempt(connection: Connection, attempt_id: int) -> tuple[policy.Assignment, Attempt]:
    student, assignment_id = attempt_owner(connection, attempt_id) or (None, None)
    assert student is not None and assignment_id is not None
    assignment = courses.assignment_by_id(connection, assignment_id)
    mine = attempts(connection, assignment, student)
    return assignment, next(a for a in mine if a.id == attempt_id)


def result_summary(result: GradeResult) -> dict[str, Any]:
    """What a student's report says, as JSON: the total, the verdict and each check (the
    student view: no hidden-split detail, no run logs)."""
    return {
        "status": result.status, "score": result.score, "max_score": result.max_score,
        "verdict": view.verdict(result), "error": result.error,
        "checks": [{"id": c.id, "title": c.title, "status": c.status, "score": c.score,
                    "max_score": c.max_score, "message": c.message, "hint": c.hint}
                   for c in result.checks],
    }


def attempt_json(attempt: Attempt, base_url: str = "") -> dict[str, Any]:
    return {
        "id": attempt.id, "number": attempt.number, "filename": attempt.filename,
        "submitted_at": attempt.submitted_at, "sha256": attempt.sha256,
        "state": attempt.state, "position": attempt.position, "job": attempt.job_id,
        "late_days": attempt.days_late, "counts": attempt.counts,
        "result": result_summary(attempt.counted) if attempt.counted else None,
        "report_url": f"{base_url}/attempts/{attempt.id}/report",
    }
