"""The service's tables beyond the gradebook's, its engines, and its two kinds of
transaction.

Why the gradebook's own tables live in the same database: a graded attempt is recorded
with `Gradebook(engine).record(..., connection=conn)` in the very transaction that marks
its job done, so a job has a result exactly when it is done (job_results holds one row per
job: its primary key is the job). The gradebook tables are copied into SERVICE so that
foreign keys to `gradings` resolve; migrations/versions/0001 creates all of them, and a
test compares that migration with these definitions.

Why two kinds of transaction: SQLite has one writer. A write transaction that began as a
reader and later wants to write can fail with "database is locked" however long it
waits, so every write here starts with BEGIN IMMEDIATE (`writing`), and readers use a
plain BEGIN (`reading`), which WAL lets run beside the writer. On PostgreSQL both are
ordinary transactions and row locks (FOR UPDATE [SKIP LOCKED]) do the rest.

Why SQLite writers queue on a lock of ours before BEGIN IMMEDIATE: SQLite's busy handler
does not wake a waiter when the write lock frees; it sleeps (1 ms, growing to 100 ms) and
tries again. Under 20 uploads at once, the unlucky ones slept through many free moments
and waited over half a second for a transaction that holds the lock ~5 ms. A thread lock
hands the database to the next thread of this process at once, and an flock on
`<database>.writer` (released by the kernel if its holder dies) does the same between
the web process and the grading processes. Both give up after `LOCK_SECONDS`, like
SQLite's own busy timeout: a write that cannot start is an error (503), never a hang.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.exc import OperationalError

from grader.results import gradebook

SERVICE = MetaData()
for _table in gradebook.METADATA.tables.values():
    _table.to_metadata(SERVICE)
gradings = SERVICE.tables["gradings"]  # the gradebook's, as the service's queries join it

# job states (queued → running → done | error) and kinds
QUEUED, RUNNING, DONE, ERROR = "queued", "running", "done", "error"
SUBMISSION, REGRADE = "submission", "regrade"
# late policies and which score counts
LATE_ACCEPT, LATE_PENALTY, LATE_REFUSE = "accept", "penalty", "refuse"
COUNT_BEST, COUNT_LAST = "best", "last"
STAMP = 32  # length of an ISO 8601 UTC timestamp column
LOCK_SECONDS = 30  # how long a writer waits for the database (SQLite's busy timeout too)

instructors = Table(
    "instructors", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", String(STAMP), nullable=False),
    UniqueConstraint("name", name="instructors_name"),
)
assignments = Table(
    "assignments", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("exercise", String(255), nullable=False),
    Column("title", Text),
    Column("deadline", String(STAMP)),
    Column("late_policy", String(16), nullable=False),
    Column("late_penalty_per_day", Float, nullable=False),
    Column("max_attempts", Integer),
    Column("cooldown_seconds", Integer, nullable=False),
    Column("counting", String(8), nullable=False),
    Column("created_at", String(STAMP), nullable=False),
    UniqueConstraint("name", name="assignments_name"),
)
students = Table(
    "students", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("student", String(255), nullable=False),  # grader.ids.student_id of the roster
    Column("name", Text, nullable=False),  # as the roster wrote it
    Column("created_at", String(STAMP), nullable=False),
    UniqueConstraint("student", name="students_student"),
)
tokens = Table(
    "tokens", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("student_id", Integer, ForeignKey("students.id"), nullable=False),
    Column("assignment_id", Integer, ForeignKey("assignments.id"), nullable=False),
    Column("created_at", String(STAMP), nullable=False),
    Column("revoked_at", String(STAMP)),
    UniqueConstraint("token_hash", name="tokens_hash"),
    Index("tokens_owner", "assignment_id", "student_id"),
)
uploads = Table(
    "uploads", SERVICE,
    Column("sha256", String(64), primary_key=True),
    Column("size", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # notebook | module
    Column("stored_at", String(STAMP), nullable=False),
)
attempts = Table(
    "attempts", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("assignment_id", Integer, ForeignKey("assignments.id"), nullable=False),
    Column("student_id", Integer, ForeignKey("students.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("upload_sha256", String(64), ForeignKey("uploads.sha256"), nullable=False),
    Column("filename", Text, nullable=False),  # shown only, never a path
    Column("suffix", String(8), nullable=False),
    Column("submitted_at", String(STAMP), nullable=False),
    UniqueConstraint("assignment_id", "student_id", "number", name="attempts_number"),
    Index("attempts_by_student", "student_id", "submitted_at"),  # a day's bytes (uploads)
)
jobs = Table(
    "jobs", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("attempt_id", Integer, ForeignKey("attempts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", String(STAMP), nullable=False),
    Column("started_at", String(STAMP)),
    Column("heartbeat_at", String(STAMP)),
    Column("finished_at", String(STAMP)),
    Column("claim", String(32)),
    Column("claimed_by", String(128)),
    Column("tries", Integer, nullable=False),
    Column("error", Text),
    Index("jobs_queue", "state", "priority", "id"),
    Index("jobs_attempt", "attempt_id", "id"),
)
job_results = Table(
    "job_results", SERVICE,
    Column("job_id", Integer, ForeignKey("jobs.id"), primary_key=True),
    Column("grading_id", Integer, ForeignKey("gradings.id"), nullable=False),
    UniqueConstraint("grading_id", name="job_results_grading"),
)
sessions = Table(
    "sessions", SERVICE,
    Column("id_hash", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # instructor | student
    Column("instructor_id", Integer, ForeignKey("instructors.id")),
    Column("token_id", Integer, ForeignKey("tokens.id")),
    Column("csrf", String(64), nullable=False),
    Column("created_at", String(STAMP), nullable=False),
    Column("expires_at", String(STAMP), nullable=False),
)


# -- LTI 1.3 (grader.service.lti): the platforms (LMSs) that launch this tool --
lti_platforms = Table(
    "lti_platforms", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("issuer", String(255), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("auth_login_url", Text, nullable=False),
    Column("auth_token_url", Text, nullable=False),
    Column("key_set_url", Text, nullable=False),
    Column("name", Text),  # shown to instructors
    Column("created_at", String(STAMP), nullable=False),
    UniqueConstraint("issuer", "client_id", name="lti_platforms_client"),
)
lti_deployments = Table(
    "lti_deployments", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), nullable=False),
    Column("deployment_id", String(255), nullable=False),
    UniqueConstraint("platform_id", "deployment_id", name="lti_deployments_id"),
)
lti_keys = Table(  # the tool's own key pairs: the newest signs, the JWKS lists the live ones
    "lti_keys", SERVICE,
    Column("kid", String(64), primary_key=True),
    Column("private_pem", Text, nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("created_at", String(STAMP), nullable=False),
    Column("retired_at", String(STAMP)),
)
lti_launch_data = Table(  # what a login leaves for its launch: the nonce (used once)
    "lti_launch_data", SERVICE,
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", String(STAMP), nullable=False),
)
lti_users = Table(  # an LMS user (platform, sub) and who they are here
    "lti_users", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), nullable=False),
    Column("sub", String(255), nullable=False),
    Column("student_id", Integer, ForeignKey("students.id")),
    Column("instructor_id", Integer, ForeignKey("instructors.id")),
    Column("name", Text, nullable=False),
    Column("created_at", String(STAMP), nullable=False),
    UniqueConstraint("platform_id", "sub", name="lti_users_sub"),
)
lti_links = Table(  # a resource link (an assignment placed in an LMS course)
    "lti_links", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("platform_id", Integer, ForeignKey("lti_platforms.id"), nullable=False),
    Column("resource_link_id", String(255), nullable=False),
    Column("context_id", String(255)),
    Column("context_title", Text),
    Column("title", Text),
    Column("assignment_id", Integer, ForeignKey("assignments.id")),
    Column("lineitems_url", Text),
    Column("lineitem_url", Text),
    Column("ags_scopes", Text),  # JSON list
    Column("memberships_url", Text),
    Column("updated_at", String(STAMP), nullable=False),
    UniqueConstraint("platform_id", "resource_link_id", name="lti_links_id"),
)
lti_seats = Table(  # a student of a link: where their score goes
    "lti_seats", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("link_id", Integer, ForeignKey("lti_links.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("lti_users.id"), nullable=False),
    Column("active", Integer, nullable=False),  # 0: withdrawn (roster sync)
    UniqueConstraint("link_id", "user_id", name="lti_seats_user"),
)
lti_scores = Table(  # the outbox of grade passback: one row per score to send
    "lti_scores", SERVICE,
    Column("id", Integer, primary_key=True),
    Column("seat_id", Integer, ForeignKey("lti_seats.id"), nullable=False),
    Column("state", String(16), nullable=False),  # queued | sending | sent | failed
    Column("created_at", String(STAMP), nullable=False),
    Column("due_at", String(STAMP), nullable=False),
    Column("tries", Integer, nullable=False),
    Column("claim", String(32)),
    Column("score_given", Float),
    Column("score_maximum", Float),
    Column("grading_progress", String(32)),
    Column("sent_at", String(STAMP)),
    Column("error", Text),
    Index("lti_scores_due", "state", "due_at"),
    Index("lti_scores_seat", "seat_id", "id"),
)


def now() -> str:
    """This moment as stored: ISO 8601 UTC with milliseconds, which sorts as text."""
    return stamp(datetime.now(UTC))


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (parse(end) - parse(start)).total_seconds()


def is_sqlite(engine_or_connection: Engine | Connection) -> bool:
    return engine_or_connection.dialect.name == "sqlite"


def connect(url: str, pool_size: int = 10) -> Engine:
    """An engine on the service database. SQLite: WAL, foreign keys, a patient busy
    timeout, and transactions begun by us (BEGIN or BEGIN IMMEDIATE, see `writing`)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size,
                               connect_args={"timeout": LOCK_SECONDS, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connected(connection: Any, _: Any) -> None:
            connection.isolation_level = None  # we emit BEGIN ourselves
            _pragmas(connection)

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            immediate = connection.get_execution_options().get("immediate", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size,
                         pool_pre_ping=True)


def _pragmas(connection: Any) -> None:
    """WAL, foreign keys, the busy timeout and full sync on a new SQLite connection. While
    another process makes a fresh database WAL (two `grader serve` migrating it at once),
    `journal_mode=WAL` can fail at once with "database is locked", before any busy
    timeout applies: tried again, backing off, for up to LOCK_SECONDS."""
    deadline, pause = time.monotonic() + LOCK_SECONDS, 0.01
    while True:
        cursor = connection.cursor()
        try:
            for pragma in (f"busy_timeout={LOCK_SECONDS * 1000}", "journal_mode=WAL",
                           "foreign_keys=ON", "synchronous=FULL"):
                cursor.execute(f"PRAGMA {pragma}")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        finally:
            cursor.close()
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


class WriterLock:
    """The turn to write to one SQLite file: a thread lock within this process, then an
    exclusive flock between processes (see the module's docstring)."""

    def __init__(self, database: str) -> None:
        self.path = database + ".writer"
        self.threads = threading.Lock()
        self.held = threading.local()
        self.descriptor: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        if getattr(self.held, "yes", False):
            # the inner BEGIN IMMEDIATE would wait for the outer transaction forever
            raise RuntimeError("a write transaction inside another one on the same database")
        deadline = time.monotonic() + LOCK_SECONDS
        if not self.threads.acquire(timeout=LOCK_SECONDS):
            raise _busy()
        try:
            self._flock(deadline)
            self.held.yes = True
            try:
                yield
            finally:
                self.held.yes = False
                fcntl.flock(self._descriptor(), fcntl.LOCK_UN)
        finally:
            self.threads.release()

    def _descriptor(self) -> int:
        if self.descriptor is None:  # a forked child has new locks (_forget_writer_locks)
            self.descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self.descriptor

    def _flock(self, deadline: float) -> None:
        # another process holds it: poll, as rarely contended as the processes are few
        # (the threads of each wait on the thread lock above, in turn)
        pause = 0.0005
        while True:
            try:
                fcntl.flock(self._descriptor(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _busy() from None
                time.sleep(pause)
                pause = min(pause * 2, 0.005)


def _busy() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None,
                            Exception(f"database is locked (waited {LOCK_SECONDS} s)"))


_WRITER_LOCKS: dict[str, WriterLock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _forget_writer_locks() -> None:
    """In a forked child: a lock another thread of the parent held would never be freed."""
    global _WRITER_LOCKS_GUARD
    _WRITER_LOCKS.clear()
    _WRITER_LOCKS_GUARD = threading.Lock()


os.register_at_fork(after_in_child=_forget_writer_locks)


def writer_lock(engine: Engine | Connection) -> WriterLock | None:
    """The lock of an SQLite database file, shared by every engine on it in this process;
    None for PostgreSQL (row locks) and an in-memory SQLite (one connection)."""
    database = engine.engine.url.database if is_sqlite(engine) else None
    if not database or database == ":memory:":
        return None
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(database, WriterLock(database))


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed when the block ends, rolled back on an exception.
    On SQLite it holds the one write lock from its first statement (BEGIN IMMEDIATE),
    after its turn on `writer_lock`."""
    lock = writer_lock(engine)
    with lock.turn() if lock is not None else contextlib.nullcontext(), \
            engine.connect() as connection:
        connection.execution_options(immediate=True)
        with connection.begin():
            yield connection


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (one consistent snapshot of the database)."""
    with engine.connect() as connection, connection.begin():
        yield connection
