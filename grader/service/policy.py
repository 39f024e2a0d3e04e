"""An assignment's rules: its deadline, what lateness costs, how many attempts, how soon
again, and which attempt's score counts. Pure functions of the rows, in UTC.

Why the late penalty is a check of its own: the score a student's LMS gets must be the
one their report shows, and the checks of a report must add up to its total. So the
result that counts is the grading's result plus one more line, `late_penalty` (0 points
possible, minus what lateness cost), made here and used alike by the report the student
sees, the class summary and every export. The gradebook keeps the grading as the grader
made it: a changed deadline or penalty changes what counts, never what was found.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from grader.errors import UsageError
from grader.results.result import CheckResult, GradeResult
from grader.service import db

DAY = 86400.0
LATE_CHECK = "late_penalty"


@dataclass(frozen=True)
class Assignment:
    id: int
    name: str
    exercise: str
    title: str | None
    deadline: str | None
    late_policy: str
    late_penalty_per_day: float  # percent of the score per day or part of a day late
    max_attempts: int | None
    cooldown_seconds: int
    counting: str
    created_at: str


def parse_deadline(text: str) -> str:
    """An ISO 8601 date-time as stored (UTC); one without a zone is taken as UTC, and a
    bare date means the end of that day (23:59:59 UTC)."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            moment = datetime.fromisoformat(raw + "T23:59:59")
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"deadline {text!r} is not an ISO 8601 date-time, e.g. "
                         "2026-03-01T23:59:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return db.stamp(moment.astimezone(UTC))


def late_seconds(assignment: Assignment, submitted_at: str) -> float:
    """How long after the deadline an attempt came (0 when on time or no deadline)."""
    if not assignment.deadline:
        return 0.0
    return max(0.0, (db.parse(submitted_at) - db.parse(assignment.deadline)).total_seconds())


def days_late(seconds: float) -> int:
    """Each day or part of a day after the deadline counts as one."""
    return math.ceil(seconds / DAY) if seconds > 0 else 0


def penalty_fraction(assignment: Assignment, submitted_at: str) -> float:
    if assignment.late_policy != db.LATE_PENALTY:
        return 0.0
    days = days_late(late_seconds(assignment, submitted_at))
    return min(1.0, days * assignment.late_penalty_per_day / 100.0)


def describe_late(seconds: float) -> str:
    hours = seconds / 3600
    if hours < 1:
        return f"{max(1, round(seconds / 60))} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{seconds / DAY:.1f} days"


def counted(result: GradeResult, assignment: Assignment, submitted_at: str) -> GradeResult:
    """The result as it counts for this assignment: unchanged when on time; otherwise a
    copy with the late_penalty check and the total reduced by it."""
    fraction = penalty_fraction(assignment, submitted_at)
    if fraction <= 0 or result.status == "error":
        return result
    seconds = late_seconds(assignment, submitted_at)
    days = days_late(seconds)
    lost = round(result.score * fraction, 2)
    adjusted = copy.deepcopy(result)
    adjusted.checks.append(CheckResult(
        id=LATE_CHECK, title="Late penalty", status="failed", passed=False,
        score=-lost, max_score=0.0,
        message=(f"submitted {describe_late(seconds)} after the deadline "
                 f"({assignment.deadline}): {days} day(s) late × "
                 f"{assignment.late_penalty_per_day:g} % per day = {fraction * 100:g} % "
                 f"of {result.score:g} points"),
        found={"days_late": days, "seconds_late": round(seconds)},
        expected={"deadline": assignment.deadline}))
    adjusted.score = round(result.score - lost, 2)
    adjusted.notes = [*adjusted.notes,
                      f"late: {days} day(s) after the deadline; {lost:g} point(s) deducted "
                      f"by the assignment's late policy"]
    return adjusted


def refuses(assignment: Assignment, moment: str) -> bool:
    return assignment.late_policy == db.LATE_REFUSE and late_seconds(assignment, moment) > 0


def counting_choice(scored: list[tuple[int, float]], counting: str) -> int | None:
    """The attempt that counts among (attempt number, counted score), oldest first:
    the last one, or the best (the latest of equal bests)."""
    if not scored:
        return None
    if counting == db.COUNT_LAST:
        return scored[-1][0]
    best = max(score for _, score in scored)
    return [number for number, score in scored if score == best][-1]


def rules_text(assignment: Assignment) -> list[str]:
    """The rules in words, as both the student's and the instructor's pages show them."""
    lines = []
    if assignment.deadline:
        late = {db.LATE_ACCEPT: "late work is accepted without penalty",
                db.LATE_REFUSE: "late work is refused",
                db.LATE_PENALTY: f"late work loses {assignment.late_penalty_per_day:g} % of "
                                 "its score per day or part of a day"}[assignment.late_policy]
        lines.append(f"Deadline {assignment.deadline} (UTC); {late}.")
    else:
        lines.append("No deadline.")
    lines.append(f"{assignment.max_attempts} attempt(s) at most." if assignment.max_attempts
                 else "Attempts are not limited.")
    if assignment.cooldown_seconds:
        lines.append(f"At least {assignment.cooldown_seconds} s between two attempts.")
    lines.append("The best attempt counts." if assignment.counting == db.COUNT_BEST
                 else "The last graded attempt counts.")
    return lines
