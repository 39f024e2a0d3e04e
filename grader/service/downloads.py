"""The instructor's downloads, built on request from the results that count.

* results.csv — grader.results.exports.write_csv of each student's counting result, as
  `grader batch` writes it (late penalty as its own column when there is one);
* grades.csv — one row per enrolled student: attempts, the counting attempt, raw score,
  late penalty and the score that counts (students without a graded attempt included);
* gradescope/prairielearn/coursera — a zip of one JSON per student in each tool's format
  (grader.results.exports.FORMATS), named like `grader gradebook export` names them.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from pathlib import Path

from grader.results import exports
from grader.results.layout import OutputLayout
from grader.results.result import GradeResult
from grader.service import policy, views

FORMATS = ("gradescope", "prairielearn", "coursera")


def results_csv(results: list[GradeResult]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="grader-export-") as folder:
        path = Path(folder) / "results.csv"
        exports.write_csv(results, path)
        return path.read_bytes()


def _cell(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def grades_csv(rows: list[views.StudentRow], assignment: policy.Assignment) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "name", "assignment", "attempts", "counting_attempt",
                     "submitted_at", "days_late", "raw_score", "late_penalty", "score",
                     "max_score", "percent", "status"])
    for row in rows:
        chosen = row.counting
        if chosen is None or chosen.result is None or chosen.counted is None:
            writer.writerow([_cell(row.student), _cell(row.name), assignment.name,
                             len(row.attempts), "", "", "", "", "", "", "", "",
                             "pending" if row.pending else "no graded attempt"])
            continue
        counted = chosen.counted
        writer.writerow([_cell(row.student), _cell(row.name), assignment.name,
                         len(row.attempts), chosen.number, chosen.submitted_at,
                         chosen.days_late, chosen.result.score,
                         round(chosen.result.score - counted.score, 2), counted.score,
                         counted.max_score, round(100 * exports.fraction(counted), 1),
                         counted.status])
    return out.getvalue().encode("utf-8")


def format_zip(results: list[GradeResult], format_name: str) -> bytes:
    convert = exports.FORMATS[format_name]
    layout = OutputLayout(Path("."))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for result in results:
            name = f"{format_name}/{layout.student_dir(result.student).name}.json"
            archive.writestr(name, json.dumps(convert(result), indent=1))
    return buffer.getvalue()
