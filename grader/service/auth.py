"""Who is asking: instructors (argon2 password, then a session), students (a token from
their personal link or `grader submit`), and the CSRF token of every form.

Why these choices:
* Tokens are 32 random bytes (secrets.token_urlsafe) and stored only as their sha256: a
  token has 256 bits of entropy, so a fast hash cannot be brute-forced, and a stolen
  database yields no usable link. A token is shown once, by `roster import`.
* Passwords are argon2id (argon2-cffi's defaults): people choose weak ones.
* A browser session is a random id in an HttpOnly, SameSite=Strict cookie, stored hashed,
  with its own CSRF token (the synchronizer pattern): every form carries it and every POST
  checks it. Before there is a session (the login form, a student's link) the form's
  token is double-submitted: a random cookie and the same value in the form. (web.py
  names the cookies, with the `__Host-` prefix, and checks the token and the Origin.)
* A session id is new at every login and link opening (the one the browser held ends
  with it), so an id planted in a browser before sign-in is worth nothing after it; a new
  password or a revoked link deletes the sessions they opened; and an owner keeps only
  their newest SESSIONS_KEPT sessions, so opening a link 2,000 times a minute leaves 5
  rows, not 2,000 valid for two weeks.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, bindparam, delete, select, update

from grader.service import db

SESSION_COOKIE = "grader_session"
CSRF_COOKIE = "grader_csrf"  # the double-submitted token of forms shown before a session
SESSION_HOURS = {"instructor": 12, "student": 24 * 14}
SESSIONS_KEPT = 5  # per instructor and per student link; older ones are deleted
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")


def new_token() -> str:
    """32 random bytes, URL-safe; never starting with "-", which a command line reads as an
    option: `grader submit … --token -cTm…` failed with argparse's usage error."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two secrets; False when either is missing."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Checks against a dummy hash when there is no such user, so that a missing name
    takes as long as a wrong password."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Student:
    """A student as their token (or their session, made from it) names them."""

    token_id: int
    student_id: int
    student: str  # the grader's student id
    name: str
    assignment_id: int
    assignment: str


@dataclass(frozen=True)
class Session:
    kind: str  # instructor | student
    csrf: str
    instructor_id: int | None = None
    instructor: str | None = None
    student: Student | None = None


def _student_query():  # type: ignore[no-untyped-def]
    return (select(db.tokens.c.id, db.students.c.id, db.students.c.student,
                   db.students.c.name, db.assignments.c.id, db.assignments.c.name)
            .join(db.students, db.students.c.id == db.tokens.c.student_id)
            .join(db.assignments, db.assignments.c.id == db.tokens.c.assignment_id)
            .where(db.tokens.c.revoked_at.is_(None)))


# built once: every call a student's script makes starts with it
_STUDENT_FOR_TOKEN = _student_query().where(db.tokens.c.token_hash == bindparam("hash"))


def student_for_token(engine: Engine, token: str) -> Student | None:
    """The student a token belongs to; None when it is unknown or revoked."""
    if not token or len(token) > 200:
        return None
    with db.reading(engine) as connection:
        row = connection.execute(_STUDENT_FOR_TOKEN, {"hash": token_hash(token)}).first()
    return Student(*row) if row else None


def instructor_id(engine: Engine, name: str, password: str) -> int | None:
    with db.reading(engine) as connection:
        row = connection.execute(select(db.instructors.c.id, db.instructors.c.password_hash)
                                 .where(db.instructors.c.name == name)).first()
    if not verify_password(row[1] if row else None, password):
        return None
    return int(row[0]) if row else None


def add_instructor(connection: Connection, name: str, password: str) -> int:
    return int(connection.execute(db.instructors.insert().values(
        name=name, password_hash=hash_password(password),
        created_at=db.now())).inserted_primary_key[0])


def set_password(connection: Connection, name: str, password: str) -> bool:
    """A new password ends every session the old one opened: whoever knew it is out."""
    changed = connection.execute(update(db.instructors).where(db.instructors.c.name == name)
                                 .values(password_hash=hash_password(password))).rowcount == 1
    connection.execute(delete(db.sessions).where(db.sessions.c.instructor_id.in_(
        select(db.instructors.c.id).where(db.instructors.c.name == name))))
    return changed


def drop_revoked_sessions(engine: Engine) -> int:
    """Delete the sessions opened by links since revoked (they already open nothing:
    session_for checks the link; this removes the rows). Returns how many."""
    revoked = select(db.tokens.c.id).where(db.tokens.c.revoked_at.is_not(None))
    with db.writing(engine) as connection:
        return int(connection.execute(delete(db.sessions)
                                      .where(db.sessions.c.token_id.in_(revoked))).rowcount)


def start_session(engine: Engine, kind: str, instructor: int | None = None,
                  token_id: int | None = None, replaces: str | None = None,
                  kept: int = SESSIONS_KEPT) -> tuple[str, str]:
    """A new session, never a reused id; returns (the cookie's value, the session's CSRF
    token). `replaces`: the session id the browser sent, ended here. Only the owner's
    newest `kept` sessions stay."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    started = datetime.now(UTC)
    column = db.sessions.c.instructor_id if kind == "instructor" else db.sessions.c.token_id
    owner = instructor if kind == "instructor" else token_id
    with db.writing(engine) as connection:
        connection.execute(delete(db.sessions).where(db.sessions.c.expires_at < db.now()))
        if replaces and len(replaces) <= 200:
            connection.execute(delete(db.sessions)
                               .where(db.sessions.c.id_hash == token_hash(replaces)))
        new_hash = token_hash(session_id)
        connection.execute(db.sessions.insert().values(
            id_hash=new_hash, kind=kind, instructor_id=instructor,
            token_id=token_id, csrf=csrf, created_at=db.stamp(started),
            expires_at=db.stamp(started + timedelta(hours=SESSION_HOURS[kind]))))
        older = [row[0] for row in connection.execute(  # the new one always stays
            select(db.sessions.c.id_hash).where(column == owner,
                                                db.sessions.c.id_hash != new_hash)
            .order_by(db.sessions.c.created_at.desc(), db.sessions.c.id_hash)
            .offset(max(0, kept - 1)))]
        if older:
            connection.execute(delete(db.sessions).where(db.sessions.c.id_hash.in_(older)))
    return session_id, csrf


def session_for(engine: Engine, session_id: str | None) -> Session | None:
    if not session_id or len(session_id) > 200:
        return None
    with db.reading(engine) as connection:
        row = connection.execute(
            select(db.sessions.c.kind, db.sessions.c.csrf, db.sessions.c.instructor_id,
                   db.sessions.c.token_id, db.sessions.c.expires_at)
            .where(db.sessions.c.id_hash == token_hash(session_id))).first()
        if row is None or row.expires_at < db.now():
            return None
        if row.kind == "instructor":
            name = connection.execute(select(db.instructors.c.name).where(
                db.instructors.c.id == row.instructor_id)).scalar()
            return Session("instructor", row.csrf, instructor_id=row.instructor_id,
                           instructor=name) if name else None
        student = connection.execute(_student_query()
                                     .where(db.tokens.c.id == row.token_id)).first()
    # a revoked token ends the sessions made from it
    return Session("student", row.csrf, student=Student(*student)) if student else None


def end_session(engine: Engine, session_id: str | None) -> None:
    if session_id:
        with db.writing(engine) as connection:
            connection.execute(delete(db.sessions)
                               .where(db.sessions.c.id_hash == token_hash(session_id)))
