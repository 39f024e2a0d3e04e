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
"""

from __future__ import annotations

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
                               connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connected(connection: Any, _: Any) -> None:
            connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = connection.cursor()
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000",
                           "synchronous=FULL"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection: Connection) -> None:
            immediate = connection.get_execution_options().get("immediate", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size,
                         pool_pre_ping=True)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed when the block ends, rolled back on an exception.
    On SQLite it holds the one write lock from its first statement (BEGIN IMMEDIATE)."""
    with engine.connect() as connection:
        connection.execution_options(immediate=True)
        with connection.begin():
            yield connection


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (one consistent snapshot of the database)."""
    with engine.connect() as connection, connection.begin():
        yield connection


def retrying(action: Any, attempts: int = 5) -> Any:
    """Run `action()` again when a concurrent writer made it fail (SQLite busy past the
    timeout, a PostgreSQL serialization or unique-key race): small, rare, and harmless
    because each try is one whole transaction."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(attempts):
        try:
            return action()
        except (OperationalError, IntegrityError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    return None
