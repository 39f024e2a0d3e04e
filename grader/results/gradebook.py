"""The gradebook: every grading ever made for a class, kept in a database.

One row per grading (a regrade adds a row; the latest row for a student and exercise is the
grade that counts), one row per check of each grading, and the whole result JSON, so any
export can be rebuilt without re-running anything. The cache of a batch is this table too:
a grading is reused when its cache key (submission sha256, exercise spec and data, grader
version) matches.

Why SQLAlchemy Core and not sqlite3: `grader batch` keeps its gradebook in one SQLite file
beside the reports, and the grading service keeps the same tables in its own database —
SQLite or PostgreSQL — so `grader gradebook`, the exports and the class summary read either
through this one class. Only one process writes a batch's file (its main process), so
SQLite's single writer is enough there.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from grader.errors import GradebookError
from grader.results.layout import GRADEBOOK
from grader.results.result import GradeResult

SCHEMA_VERSION = 1
METADATA = MetaData()

meta = Table("meta", METADATA, Column("key", String(64), primary_key=True),
             Column("value", Text, nullable=False))
gradings = Table(
    "gradings", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("student", String(255), nullable=False),
    Column("submission", Text, nullable=False),
    Column("submission_sha256", String(64), nullable=False),
    Column("exercise", String(255), nullable=False),
    Column("exercise_version", String(64), nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("status", String(32), nullable=False),
    Column("error", Text),
    Column("graded_at", String(32), nullable=False),
    Column("seconds", Float),
    Column("grader_version", String(64), nullable=False),
    Column("cache_key", String(64)),
    Column("result_json", Text, nullable=False),
    Index("gradings_student", "student", "exercise", "id"),
    Index("gradings_cache", "cache_key", "student"),
)
check_results = Table(
    "check_results", METADATA,
    Column("grading_id", Integer, ForeignKey("gradings.id"), primary_key=True),
    Column("check_id", String(64), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("message", Text, nullable=False),
)
# The pairs each `grader batch --similarity` compared (issue 14): evidence kept beside the
# grades, one comparison per `compared_at`; never read by a grade. Added to existing
# gradebooks by create_all (a new table, so the schema version stays).
similar_pairs = Table(
    "similar_pairs", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exercise", String(255), nullable=False),
    Column("compared_at", String(32), nullable=False),
    Column("a", String(255), nullable=False),
    Column("b", String(1024), nullable=False),  # a student, or a reference collection's file
    Column("score", Float, nullable=False),
    Column("share_a", Float, nullable=False),
    Column("share_b", Float, nullable=False),
    Column("flagged", Integer, nullable=False),
    Index("similar_pairs_by_time", "exercise", "compared_at"),
)


@dataclass(frozen=True)
class SimilarPair:
    a: str
    b: str
    score: float
    share_a: float  # of a's own code, the share found in b
    share_b: float
    flagged: bool


@dataclass(frozen=True)
class Grading:
    id: int
    student: str
    exercise: str
    score: float
    max_score: float
    status: str
    graded_at: str
    grader_version: str
    submission_sha256: str
    cache_key: str | None


def stored_text(value: str | None) -> str | None:
    """Text a run may have put NUL in (a student's exception message reaches the error and
    the runs check's message as raised), shown as ␀: PostgreSQL refuses NUL in text, and
    the grading would be lost. The result's JSON keeps it, escaped."""
    return value.replace("\x00", "\N{SYMBOL FOR NULL}") if value else value


def cache_key(submission_sha256: str, spec_key: str, grader_version: str) -> str:
    text = f"{submission_sha256}\n{spec_key}\n{grader_version}"
    return hashlib.sha256(text.encode()).hexdigest()


def sqlite_engine(path: Path) -> Engine:
    """An engine on one SQLite file: WAL (readers never block the writer) and a patient
    busy timeout, as every SQLite database of the grader is opened."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def retrying(action: Any, attempts: int = 5, pause: float = 0.05) -> Any:
    """Run `action()` again when a concurrent writer made it fail (SQLite busy past the
    timeout, a table another process created meanwhile, a PostgreSQL serialization or
    unique-key race): small, rare, and harmless because each try is one whole
    transaction."""
    for attempt in range(attempts):
        try:
            return action()
        except (OperationalError, IntegrityError):
            if attempt == attempts - 1:
                raise
            time.sleep(pause * (attempt + 1))
    return None


class Gradebook:
    """The gradings of one class. `target` is a SQLite file (a batch's gradebook.sqlite) or
    an engine whose database already holds these tables (the service's, made by its
    migrations: then nothing is created here)."""

    def __init__(self, target: Path | Engine) -> None:
        owned = isinstance(target, Path)
        self.path = target if isinstance(target, Path) else None
        if isinstance(target, Path) and target.exists():
            # read-only first: a file of another schema (or no database at all) must be
            # refused before the engine's first connection sets anything on it
            self.engine = create_engine(f"sqlite:///file:{target}?mode=ro&uri=true")
            self._owned = True
            try:
                retrying(self._check_version, pause=0.1)
            except SQLAlchemyError as exc:
                self.close()
                reason = str(getattr(exc, "orig", exc)).splitlines()[0]
                raise GradebookError(f"{target}: not a usable gradebook: {reason}") from None
            except GradebookError:
                self.close()
                raise
            self.engine.dispose()
        self.engine = sqlite_engine(target) if isinstance(target, Path) else target
        self._owned = owned
        try:
            retrying(lambda: self._open(owned), pause=0.1)
        except SQLAlchemyError as exc:
            self.close()
            reason = str(getattr(exc, "orig", exc)).splitlines()[0]
            raise GradebookError(f"{self._name()}: not a usable gradebook: {reason}") from None
        except GradebookError:
            self.close()
            raise

    def _open(self, owned: bool) -> None:
        """Check the schema and, for a file of ours, create what is missing. Run again
        (`retrying`) when another process opens the same new gradebook at once (a batch
        creating it, `grader gradebook show` or a test reading it): SQLite runs each
        CREATE on its own and switches to WAL under an exclusive lock that its busy
        handler does not wait for, so the slower one can find a table that was not there
        when it looked, or the database locked."""
        self._check_version()
        if owned:
            METADATA.create_all(self.engine)
            with self.engine.begin() as db:
                if db.execute(select(meta.c.value).where(meta.c.key == "schema")) \
                        .first() is None:
                    db.execute(meta.insert().values(key="schema", value=str(SCHEMA_VERSION)))

    def _name(self) -> str:
        return str(self.path) if self.path else self.engine.url.render_as_string(
            hide_password=True)

    def _check_version(self) -> None:
        """Refuse another schema before touching the database: it may be a newer
        grader's."""
        if "meta" not in inspect(self.engine).get_table_names():
            return
        with self.engine.connect() as db:
            found = db.execute(select(meta.c.value).where(meta.c.key == "schema")).first()
        if found is not None and found[0] != str(SCHEMA_VERSION):
            raise GradebookError(f"{self._name()}: gradebook schema {found[0]!s:.20} is not "
                                 f"{SCHEMA_VERSION}; use a new output folder")

    def close(self) -> None:
        if self._owned:
            self.engine.dispose()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def record(self, result: GradeResult, key: str | None, connection: Any = None) -> int:
        """Add one grading; `key` None marks a grading that must not be reused as a cache
        hit (the grader itself failed, or the intake found a problem). With `connection`,
        the rows join that transaction (the service records a job's result and marks the
        job done in one)."""
        if connection is None:
            with self.engine.begin() as db:
                return self.record(result, key, db)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        grading_id = int(connection.execute(gradings.insert().values(
            student=result.student, submission=stored_text(result.submission),
            submission_sha256=result.submission_sha256, exercise=result.exercise,
            exercise_version=result.exercise_version, score=result.score,
            max_score=result.max_score, status=result.status, error=stored_text(result.error),
            graded_at=stamp, seconds=result.timings.get("total"),
            grader_version=result.grader_version, cache_key=key,
            result_json=result.to_json())).inserted_primary_key[0])
        if result.checks:
            connection.execute(check_results.insert(), [
                {"grading_id": grading_id, "check_id": c.id, "status": c.status,
                 "score": c.score, "max_score": c.max_score, "message": stored_text(c.message)}
                for c in result.checks])
        return grading_id

    def record_similarity(self, exercise: str, pairs: list[SimilarPair]) -> str:
        """Keep one comparison's pairs; returns its time stamp (the comparison's key)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.engine.begin() as db:
            db.execute(similar_pairs.delete().where(similar_pairs.c.exercise == exercise,
                                                    similar_pairs.c.compared_at == stamp))
            if pairs:
                db.execute(similar_pairs.insert(), [
                    {"exercise": exercise, "compared_at": stamp, "a": p.a, "b": p.b,
                     "score": p.score, "share_a": p.share_a, "share_b": p.share_b,
                     "flagged": int(p.flagged)} for p in pairs])
        return stamp

    def latest_similarity(self, exercise: str) -> list[SimilarPair]:
        """The pairs of the most recent comparison of this exercise's class, best first."""
        with self.engine.connect() as db:
            stamp = db.execute(select(func.max(similar_pairs.c.compared_at))
                               .where(similar_pairs.c.exercise == exercise)).scalar()
            if stamp is None:
                return []
            rows = db.execute(select(similar_pairs.c.a, similar_pairs.c.b,
                                     similar_pairs.c.score, similar_pairs.c.share_a,
                                     similar_pairs.c.share_b, similar_pairs.c.flagged)
                              .where(similar_pairs.c.exercise == exercise,
                                     similar_pairs.c.compared_at == stamp)
                              .order_by(similar_pairs.c.score.desc(), similar_pairs.c.id))
            return [SimilarPair(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def cached(self, student: str, key: str) -> GradeResult | None:
        with self.engine.connect() as db:
            row = db.execute(select(gradings.c.result_json)
                             .where(gradings.c.cache_key == key, gradings.c.student == student)
                             .order_by(gradings.c.id.desc()).limit(1)).first()
        return GradeResult.from_json(row[0]) if row else None

    def latest(self, exercise: str | None = None,
               students: list[str] | None = None) -> list[GradeResult]:
        """The grade that counts for each student: their most recent grading."""
        newest = select(func.max(gradings.c.id)).group_by(gradings.c.student,
                                                          gradings.c.exercise)
        query = select(gradings.c.result_json).where(gradings.c.id.in_(newest))
        if exercise:
            query = query.where(gradings.c.exercise == exercise)
        with self.engine.connect() as db:
            rows = db.execute(query.order_by(gradings.c.student, gradings.c.exercise)).all()
        results = [GradeResult.from_json(r[0]) for r in rows]
        if students is not None:
            wanted = set(students)
            results = [r for r in results if r.student in wanted]
        return results

    def history(self, student: str | None = None) -> list[Grading]:
        query = select(gradings.c.id, gradings.c.student, gradings.c.exercise,
                       gradings.c.score, gradings.c.max_score, gradings.c.status,
                       gradings.c.graded_at, gradings.c.grader_version,
                       gradings.c.submission_sha256, gradings.c.cache_key)
        if student is not None:
            query = query.where(gradings.c.student == student)
        with self.engine.connect() as db:
            return [Grading(*row) for row in db.execute(query.order_by(gradings.c.id))]

    def checks_of(self, grading_id: int) -> list[tuple[str, str, float, float]]:
        """The check rows of one grading, in rubric order (the order of its result)."""
        with self.engine.connect() as db:
            rows = db.execute(select(check_results.c.check_id, check_results.c.status,
                                     check_results.c.score, check_results.c.max_score)
                              .where(check_results.c.grading_id == grading_id)).all()
            found = db.execute(select(gradings.c.result_json)
                               .where(gradings.c.id == grading_id)).first()
        order = [c.id for c in GradeResult.from_json(found[0]).checks] if found else []
        rows.sort(key=lambda row: order.index(row[0]) if row[0] in order else len(order))
        return [(row[0], row[1], row[2], row[3]) for row in rows]


@contextmanager
def opened(out_dir: Path) -> Iterator[Gradebook]:
    book = Gradebook(out_dir / GRADEBOOK)
    try:
        yield book
    finally:
        book.close()
