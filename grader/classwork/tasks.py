"""One grading as a task of a class: it never raises, so one submission cannot end a batch.

Shared by the local worker pool (pool.py) and the Dask cluster (cluster.py). A failure of
the grader itself (not of the submission) becomes that submission's error with a note
that keeps it out of the gradebook's cache, so the next run tries again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from grader.classwork.intake import Entry
from grader.errors import SandboxRequired
from grader.exercise.datasource import DataPaths
from grader.exercise.spec import ExerciseSpec
from grader.grade import GradeOptions, error_result, grade_file
from grader.results.result import GradeResult

GRADER_FAILURE_NOTE = "grader failure: not cached, retried on the next run"
GradeFunction = Callable[[Path, ExerciseSpec, DataPaths, GradeOptions], GradeResult]


def grade_safely(path: Path, student: str, spec: ExerciseSpec, data: DataPaths,
                 options: GradeOptions, grade_function: Callable[..., GradeResult] = grade_file
                 ) -> GradeResult:
    """One grading that never raises an Exception, so one submission cannot end a batch;
    a grader failure is recorded as the submission's error and marked as not cacheable."""
    started = time.monotonic()
    try:
        result = grade_function(path, spec, data, options)
    except SandboxRequired:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded as this submission's error
        return grader_failure(path, student, spec, f"the grader failed on this submission: "
                                                   f"{type(exc).__name__}: {exc}", started)
    result.student = student
    return result


def grader_failure(path: Path, student: str, spec: ExerciseSpec, reason: str,
                   started: float) -> GradeResult:
    """The grader (not the submission) failed: the student's error, marked so that the
    gradebook does not cache it and the next run tries again."""
    result = error_result(path, spec, reason, started, student=student)
    result.notes.append(GRADER_FAILURE_NOTE)
    return result


def is_grader_failure(result: GradeResult) -> bool:
    return GRADER_FAILURE_NOTE in result.notes


def worker_died(entry: Entry, spec: ExerciseSpec) -> GradeResult:
    assert entry.path is not None
    return error_result(entry.path, spec, "the grading process was killed while running "
                        "this submission (did the code kill its parent process?)",
                        time.monotonic(), student=entry.student)
