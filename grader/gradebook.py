"""The gradebook: every grading ever made for a class, in one SQLite file beside the reports.

One row per grading (a regrade adds a row; the latest row for a student and exercise is the
grade that counts), one row per check of each grading, and the whole result JSON so any
export can be rebuilt without re-running anything. The cache of a batch is this table too:
a grading is reused when its cache key (submission sha256, exercise spec hash, grader
version) matches. Only the batch's main process writes, so SQLite's single writer is enough.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.result import GradeResult

FILE_NAME = "gradebook.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gradings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    student TEXT NOT NULL,
    submission TEXT NOT NULL,
    submission_sha256 TEXT NOT NULL,
    exercise TEXT NOT NULL,
    exercise_version TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    graded_at TEXT NOT NULL,
    seconds REAL,
    grader_version TEXT NOT NULL,
    cache_key TEXT,
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gradings_student ON gradings (student, exercise, id);
CREATE INDEX IF NOT EXISTS gradings_cache ON gradings (cache_key, student);
CREATE TABLE IF NOT EXISTS check_results (
    grading_id INTEGER NOT NULL REFERENCES gradings (id),
    check_id TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    max_score REAL NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (grading_id, check_id)
);
"""


class GradebookError(RuntimeError):
    """The gradebook file cannot be used (one line for the instructor)."""


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


def cache_key(submission_sha256: str, spec_key: str, grader_version: str) -> str:
    text = f"{submission_sha256}\n{spec_key}\n{grader_version}"
    return hashlib.sha256(text.encode()).hexdigest()


class Gradebook:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30)
        try:
            self._check_version()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            with self._db:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                                 (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise GradebookError(f"{path}: not a usable gradebook: {exc}") from None
        except GradebookError:
            self._db.close()
            raise

    def _check_version(self) -> None:
        """Refuse another schema before touching the file: it may be a newer grader's."""
        has_meta = self._db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                                    "name='meta'").fetchone()
        if not has_meta:
            return
        found = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if found is not None and found[0] != str(SCHEMA_VERSION):
            raise GradebookError(f"{self.path}: gradebook schema {found[0]!s:.20} is not "
                                 f"{SCHEMA_VERSION}; use a new output folder")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def record(self, result: GradeResult, key: str | None) -> int:
        """Add one grading; `key` None marks a grading that must not be reused as a cache
        hit (the grader itself failed, or the intake found a problem)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO gradings (student, submission, submission_sha256, exercise, "
                "exercise_version, score, max_score, status, error, graded_at, seconds, "
                "grader_version, cache_key, result_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (result.student, result.submission, result.submission_sha256,
                 result.exercise, result.exercise_version, result.score, result.max_score,
                 result.status, result.error, stamp, result.timings.get("total"),
                 result.grader_version, key, result.to_json()))
            grading_id = int(cursor.lastrowid or 0)
            self._db.executemany(
                "INSERT INTO check_results VALUES (?, ?, ?, ?, ?, ?)",
                [(grading_id, c.id, c.status, c.score, c.max_score, c.message)
                 for c in result.checks])
        return grading_id

    def cached(self, student: str, key: str) -> GradeResult | None:
        row = self._db.execute("SELECT result_json FROM gradings WHERE cache_key = ? AND "
                               "student = ? ORDER BY id DESC LIMIT 1",
                               (key, student)).fetchone()
        return GradeResult.from_json(row[0]) if row else None

    def latest(self, exercise: str | None = None,
               students: list[str] | None = None) -> list[GradeResult]:
        """The grade that counts for each student: their most recent grading."""
        query = ("SELECT result_json FROM gradings WHERE id IN (SELECT MAX(id) FROM gradings "
                 "GROUP BY student, exercise)")
        params: list[str] = []
        if exercise:
            query += " AND exercise = ?"
            params.append(exercise)
        rows = self._db.execute(query + " ORDER BY student, exercise", params).fetchall()
        results = [GradeResult.from_json(r[0]) for r in rows]
        if students is not None:
            wanted = set(students)
            results = [r for r in results if r.student in wanted]
        return results

    def history(self, student: str | None = None) -> list[Grading]:
        query = ("SELECT id, student, exercise, score, max_score, status, graded_at, "
                 "grader_version, submission_sha256, cache_key FROM gradings")
        params: tuple[str, ...] = ()
        if student is not None:
            query += " WHERE student = ?"
            params = (student,)
        return [Grading(*row) for row in self._db.execute(query + " ORDER BY id", params)]

    def checks_of(self, grading_id: int) -> list[tuple[str, str, float, float]]:
        return list(self._db.execute("SELECT check_id, status, score, max_score FROM "
                                     "check_results WHERE grading_id = ? ORDER BY rowid",
                                     (grading_id,)))


@contextmanager
def opened(out_dir: Path) -> Iterator[Gradebook]:
    book = Gradebook(out_dir / FILE_NAME)
    try:
        yield book
    finally:
        book.close()
