"""Grade every submission in a folder, one after another, and write results.csv.

Each result is written as soon as it is known, so an interrupted batch loses nothing
already graded. (Parallel and resumable grading arrive with the batch issue.)
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from pathlib import Path

from grader import report
from grader.datasource import DataPaths
from grader.exercise import ExerciseSpec
from grader.grade import GradeOptions, SandboxRequired, error_result, grade_file
from grader.result import GradeResult
from grader.submission import SUFFIXES


def find_submissions(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES
                  and not p.name.startswith("."))


def write_outputs(result: GradeResult, out_dir: Path) -> Path:
    folder = out_dir / result.student
    result.write(folder / "result.json")
    report.write(result, folder / "report.html")
    return folder / "report.html"


def write_csv(results: list[GradeResult], path: Path) -> None:
    check_ids = [c.id for c in results[0].checks] if results else []
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "submission", "status", "score", "max_score", "percent",
                         "hidden_accuracy", *check_ids, "error"])
        for result in results:
            by_id = {c.id: c.score for c in result.checks}
            percent = round(100 * result.score / result.max_score, 1) if result.max_score \
                else 0.0
            hidden = result.metrics.get("hidden_accuracy")
            writer.writerow([result.student, result.submission, result.status, result.score,
                             result.max_score, percent,
                             "" if hidden is None else round(hidden, 4),
                             *[by_id.get(i, "") for i in check_ids], result.error or ""])
    os.replace(tmp, path)


def grade_folder(folder: Path, spec: ExerciseSpec, data: DataPaths, out_dir: Path,
                 options: GradeOptions,
                 on_result: Callable[[GradeResult], None] | None = None) -> list[GradeResult]:
    results = []
    for path in find_submissions(folder):
        started = time.monotonic()
        try:
            result = grade_file(path, spec, data, options)
        except SandboxRequired:
            raise
        except Exception as exc:  # noqa: BLE001 - one submission must not stop the class
            result = error_result(path, spec, f"the grader failed on this submission: "
                                              f"{type(exc).__name__}: {exc}", started)
        write_outputs(result, out_dir)
        results.append(result)
        write_csv(results, out_dir / "results.csv")
        if on_result:
            on_result(result)
    return results
