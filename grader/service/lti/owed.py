"""What a recorded grading owes an LMS: a row in the outbox of grade passback (outbox.py
sends it). Its own module, importing only the database, because every grading process
calls it (queue.finish's hook in workers.py and dispatch.py) and must not pay for the
LTI libraries it never uses.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from grader.service import db

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"


def after_grading(connection: Connection, attempt_id: int) -> int:
    """Queue a score for every LMS seat of the attempt's student in its assignment (in
    the transaction that recorded the grading). Returns how many rows were added."""
    owner = connection.execute(select(db.attempts.c.student_id, db.attempts.c.assignment_id)
                               .where(db.attempts.c.id == attempt_id)).first()
    if owner is None:
        return 0
    seats = connection.execute(
        select(db.lti_seats.c.id)
        .join(db.lti_users, db.lti_users.c.id == db.lti_seats.c.user_id)
        .join(db.lti_links, db.lti_links.c.id == db.lti_seats.c.link_id)
        .where(db.lti_users.c.student_id == owner.student_id,
               db.lti_links.c.assignment_id == owner.assignment_id,
               db.lti_seats.c.active == 1)).scalars().all()
    added = 0
    for seat in seats:
        waiting = connection.execute(select(db.lti_scores.c.id).where(
            db.lti_scores.c.seat_id == seat, db.lti_scores.c.state == QUEUED)).first()
        if waiting is None:
            moment = db.now()
            connection.execute(db.lti_scores.insert().values(
                seat_id=seat, state=QUEUED, created_at=moment, due_at=moment, tries=0))
            added += 1
    return added
