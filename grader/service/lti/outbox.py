"""Grade passback (LTI Assignment and Grade Services): a durable queue of scores to send,
in the service database, and the thread that sends them.

    queued ──claim──▶ sending ──▶ sent      (the LMS took it)
       ▲                 │     └─▶ failed    (the LMS refused it for good, e.g. 404)
       └──── retry ──────┘                   (unreachable, 5xx, 401, 429: later, backing off)

Why a queue, written in the transaction that records the grading (owed.after_grading,
called by queue.finish): a score is owed exactly when a grading is recorded, and an LMS
that is down when grades are due must get them once it is back — after a restart too.
Why each row sends the score that counts *when it is sent* (best or last attempt, late
penalty applied: views.attempts, as the student's page shows it) and not a copy taken
at grading time: a regrade or a changed deadline is sent as it stands, and two gradings
in a row send the newest state once (a seat has at most one queued row).
Why once: a row is claimed (a random claim id, PostgreSQL's SKIP LOCKED) before it is
sent and marked sent by that claim only; a sender that dies mid-send leaves its row
`sending`, put back by `requeue_stale` at start — the one case an LMS may get a score
twice, with the same value (AGS keeps the newest by timestamp: harmless).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pylti1p3.exception import LtiServiceException
from pylti1p3.service_connector import ServiceConnector
from requests import RequestException
from sqlalchemy import Connection, Engine, and_, select, update

from grader.service import courses, db, views
from grader.service.lti import platforms
from grader.service.lti.adapter import TimedSession
from grader.service.lti.owed import FAILED, QUEUED, SENDING, SENT

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINEITEM_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
LINEITEMS_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
TAG = "grader"
BACKOFF_MAX = 300.0  # seconds between tries of an unreachable LMS, at most
MAX_TRIES = 200  # then `failed` (about 16 hours of an LMS that never answers)
POLL_SECONDS = 1.0
BATCH = 20
LOG = logging.getLogger("grader.service.lti")


class Refused(Exception):
    """The LMS answered that this score will never be taken: do not try again."""


def has_seat(connection: Connection, student_id: int, assignment_id: int) -> bool:
    """Whether the student's scores in the assignment go to an LMS."""
    return connection.execute(
        select(db.lti_seats.c.id)
        .join(db.lti_users, db.lti_users.c.id == db.lti_seats.c.user_id)
        .join(db.lti_links, db.lti_links.c.id == db.lti_seats.c.link_id)
        .where(db.lti_users.c.student_id == student_id,
               db.lti_links.c.assignment_id == assignment_id,
               db.lti_seats.c.active == 1).limit(1)).first() is not None


def seated_students(connection: Connection, assignment_id: int) -> set[int]:
    """The students (ids) whose scores in the assignment go to an LMS (the dashboard)."""
    return set(connection.execute(
        select(db.lti_users.c.student_id)
        .join(db.lti_seats, db.lti_seats.c.user_id == db.lti_users.c.id)
        .join(db.lti_links, db.lti_links.c.id == db.lti_seats.c.link_id)
        .where(db.lti_links.c.assignment_id == assignment_id, db.lti_seats.c.active == 1,
               db.lti_users.c.student_id.is_not(None))).scalars())


def requeue_stale(engine: Engine) -> int:
    """At start: rows a stopped sender left `sending` go back to the queue."""
    with db.writing(engine) as connection:
        return int(connection.execute(update(db.lti_scores)
                                      .where(db.lti_scores.c.state == SENDING)
                                      .values(state=QUEUED, claim=None)).rowcount)


@dataclass(frozen=True)
class _Due:
    row_id: int
    claim: str
    tries: int
    seat_id: int
    sub: str
    student_id: int
    link_id: int
    platform_id: int
    assignment_id: int


def _claim(engine: Engine, limit: int) -> list[_Due]:
    with db.reading(engine) as connection:
        if connection.execute(select(db.lti_scores.c.id).where(
                db.lti_scores.c.state == QUEUED, db.lti_scores.c.due_at <= db.now())
                .limit(1)).first() is None:
            return []
    token = uuid.uuid4().hex
    with db.writing(engine) as connection:
        query = (select(db.lti_scores.c.id).where(db.lti_scores.c.state == QUEUED,
                                                  db.lti_scores.c.due_at <= db.now())
                 .order_by(db.lti_scores.c.due_at, db.lti_scores.c.id).limit(limit))
        if not db.is_sqlite(connection):
            query = query.with_for_update(skip_locked=True)
        ids = connection.execute(query).scalars().all()
        if not ids:
            return []
        connection.execute(update(db.lti_scores).where(db.lti_scores.c.id.in_(ids))
                           .values(state=SENDING, claim=token))
        rows = connection.execute(
            select(db.lti_scores.c.id, db.lti_scores.c.tries, db.lti_seats.c.id,
                   db.lti_users.c.sub, db.lti_users.c.student_id, db.lti_links.c.id,
                   db.lti_links.c.platform_id, db.lti_links.c.assignment_id)
            .join(db.lti_seats, db.lti_seats.c.id == db.lti_scores.c.seat_id)
            .join(db.lti_users, db.lti_users.c.id == db.lti_seats.c.user_id)
            .join(db.lti_links, db.lti_links.c.id == db.lti_seats.c.link_id)
            .where(db.lti_scores.c.id.in_(ids)).order_by(db.lti_scores.c.id)).all()
    return [_Due(int(r[0]), token, int(r[1]), int(r[2]), r[3], int(r[4]), int(r[5]),
                 int(r[6]), int(r[7])) for r in rows]


def _score(engine: Engine, due: _Due) -> dict[str, Any] | None:
    """The AGS score body of what counts now for this student, or None (nothing graded)."""
    with db.reading(engine) as connection:
        assignment = courses.assignment_by_id(connection, due.assignment_id)
        mine = views.attempts(connection, assignment, due.student_id)
    counting = next((a for a in mine if a.counts and a.counted is not None), None)
    if counting is None or counting.counted is None:
        return None
    result = counting.counted
    pending = any(a.state in (db.QUEUED, db.RUNNING) for a in mine)
    if counting.state == db.ERROR:  # the grader failed, not the student: no score of 0
        return {"userId": due.sub, "activityProgress": "Submitted",
                "gradingProgress": "Failed",
                "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "comment": f"Attempt {counting.number} could not be graded (a fault of the "
                           "grader, not of the work); your instructor will regrade it."}
    return {"userId": due.sub, "scoreGiven": round(float(result.score), 2),
            "scoreMaximum": float(result.max_score), "activityProgress": "Submitted",
            "gradingProgress": "Pending" if pending else "FullyGraded",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "comment": f"Attempt {counting.number} of {len(mine)}"
                       f" ({assignment.counting} attempt counts)"}


def _lineitem(engine: Engine, connector: ServiceConnector, link_id: int) -> str:
    """The line item of a link: the one the LMS named, or found / made (tag "grader")."""
    with db.reading(engine) as connection:
        link = connection.execute(select(db.lti_links).where(db.lti_links.c.id == link_id)
                                  ).one()
        assignment = courses.assignment_by_id(connection, link.assignment_id)
    if link.lineitem_url:
        return str(link.lineitem_url)
    scopes = json.loads(link.ags_scopes or "[]")
    if not link.lineitems_url or LINEITEM_SCOPE not in scopes:
        raise Refused("the LMS gave this link no grade column and no right to make one: "
                      "turn on grade sync (AGS) for the tool")
    found = connector.make_service_request(
        [LINEITEM_SCOPE], _with_query(link.lineitems_url,
                                      f"resource_link_id={link.resource_link_id}"),
        accept=LINEITEMS_TYPE)["body"] or []
    url = next((item.get("id") for item in found if isinstance(item, dict)
                and item.get("resourceLinkId") == link.resource_link_id), None)
    if not url:
        made = connector.make_service_request(
            [LINEITEM_SCOPE], link.lineitems_url, is_post=True, content_type=LINEITEM_TYPE,
            accept=LINEITEM_TYPE, data=json.dumps({
                "label": link.title or assignment.title or assignment.name,
                "scoreMaximum": 100, "resourceLinkId": link.resource_link_id,
                "resourceId": assignment.name, "tag": TAG}))["body"] or {}
        url = made.get("id")
    if not isinstance(url, str) or not url:
        raise Refused("the LMS did not say where the grade column is")
    with db.writing(engine) as connection:
        connection.execute(update(db.lti_links).where(db.lti_links.c.id == link_id)
                           .values(lineitem_url=url))
    return url


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def _scores_url(lineitem: str) -> str:
    path, _, query = lineitem.partition("?")
    return path.rstrip("/") + "/scores" + (f"?{query}" if query else "")


def _finish(engine: Engine, due: _Due, values: dict[str, Any]) -> None:
    with db.writing(engine) as connection:
        connection.execute(update(db.lti_scores).where(
            db.lti_scores.c.id == due.row_id, db.lti_scores.c.claim == due.claim,
            db.lti_scores.c.state == SENDING).values(claim=None, **values))


def _retry_values(due: _Due, error: str) -> dict[str, Any]:
    tries = due.tries + 1
    if tries >= MAX_TRIES:
        return {"state": FAILED, "tries": tries, "error": error}
    wait = min(BACKOFF_MAX, 2.0 ** min(tries - 1, 12))
    return {"state": QUEUED, "tries": tries, "error": error,
            "due_at": db.stamp(datetime.now(UTC) + timedelta(seconds=wait))}


def _describe(exc: Exception) -> tuple[str, bool]:
    """(one line for the dashboard, whether trying again may help)."""
    if isinstance(exc, LtiServiceException):
        status = exc.response.status_code
        transient = status >= 500 or status in (401, 408, 429)
        return f"the LMS answered {status}", transient
    if isinstance(exc, RequestException):
        return f"the LMS could not be reached ({type(exc).__name__})", True
    if isinstance(exc, Refused):
        return str(exc), False
    return f"{type(exc).__name__}: {exc}"[:300], True


def deliver_due(engine: Engine, limit: int = BATCH) -> int:
    """Send what is due; returns how many rows were sent."""
    due = _claim(engine, limit)
    sent = 0
    connectors: dict[int, ServiceConnector] = {}
    for row in due:
        try:
            if row.platform_id not in connectors:
                with db.reading(engine) as connection:
                    platform = platforms.by_id(connection, row.platform_id)
                registration = platforms.registration(engine, platform)
                connectors[row.platform_id] = ServiceConnector(registration, TimedSession())
            connector = connectors[row.platform_id]
            body = _score(engine, row)
            if body is None:
                _finish(engine, row, {"state": SENT, "sent_at": db.now(),
                                      "error": "nothing graded to send"})
                continue
            lineitem = _lineitem(engine, connector, row.link_id)
            connector.make_service_request([SCORE_SCOPE], _scores_url(lineitem),
                                           is_post=True, data=json.dumps(body),
                                           content_type=SCORE_TYPE)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on its row
            text, transient = _describe(exc)
            LOG.warning("grade passback %d: %s", row.row_id, text)
            connectors.pop(row.platform_id, None)  # a new access token next time
            _finish(engine, row, _retry_values(row, text) if transient
                    else {"state": FAILED, "tries": row.tries + 1, "error": text})
            continue
        _finish(engine, row, {"state": SENT, "sent_at": db.now(), "error": None,
                              "tries": row.tries + 1, "score_given": body.get("scoreGiven"),
                              "score_maximum": body.get("scoreMaximum"),
                              "grading_progress": body["gradingProgress"]})
        sent += 1
    return sent


class Sender:
    """The thread of `grader serve` that sends the queued scores (one per service)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="lti-passback", daemon=True)

    def start(self) -> None:
        requeue_stale(self.engine)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop_event.wait(POLL_SECONDS):
            try:
                while deliver_due(self.engine) and not self.stop_event.is_set():
                    pass
            except Exception as exc:  # noqa: BLE001 - the database may be busy: next turn
                LOG.warning("grade passback: %s", exc)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=15)


@dataclass(frozen=True)
class Delivery:
    student: str
    name: str
    state: str
    tries: int
    score_given: float | None
    score_maximum: float | None
    grading_progress: str | None
    created_at: str
    sent_at: str | None
    error: str | None


def deliveries(connection: Connection, assignment_id: int, last: int = 200) -> list[Delivery]:
    """What was sent to the LMS for an assignment, newest first (the dashboard)."""
    rows = connection.execute(
        select(db.students.c.student, db.students.c.name, db.lti_scores.c.state,
               db.lti_scores.c.tries, db.lti_scores.c.score_given,
               db.lti_scores.c.score_maximum, db.lti_scores.c.grading_progress,
               db.lti_scores.c.created_at,
               db.lti_scores.c.sent_at, db.lti_scores.c.error)
        .join(db.lti_seats, db.lti_seats.c.id == db.lti_scores.c.seat_id)
        .join(db.lti_users, db.lti_users.c.id == db.lti_seats.c.user_id)
        .join(db.students, db.students.c.id == db.lti_users.c.student_id)
        .join(db.lti_links, and_(db.lti_links.c.id == db.lti_seats.c.link_id,
                                 db.lti_links.c.assignment_id == assignment_id))
        .order_by(db.lti_scores.c.id.desc()).limit(last)).all()
    return [Delivery(*row) for row in rows]
