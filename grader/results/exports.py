"""Exports from one result model to the tools classes already use.

* `results.csv`: one row per student, one column per check (spreadsheets, LMS import);
* Gradescope's autograder `results.json`;
* PrairieLearn's external-grader `results.json`;
* a Coursera-style custom-grader `{"fractionalScore", "feedback"}`.

The field names follow each tool's documented format; tests check names and types. What a
student may see follows the reports: hidden-split details are instructor-only, so on
Gradescope they are released with the grades (`after_published`), never at submission.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from grader.files import atomic_write
from grader.ids import display_name
from grader.results.result import GradeResult

HIDDEN_CHECKS = frozenset({"hidden_accuracy"})
STATUS_WORDS = {"passed": "passed", "failed": "failed", "partial": "partly passed",
                "not_judged": "not judged", "not_applicable": "not applicable",
                "not_trusted": "not trusted"}


def verdict(result: GradeResult, hide_hidden: bool = False) -> str:
    """One line a student reads first."""
    total = f"{result.score:g} / {result.max_score:g}"
    if result.status == "error":
        return f"Not graded: {result.error or 'the grader could not run this submission'}"
    if result.status == "timeout":
        return f"{total}: the run was stopped at the time limit ({result.error or 'timeout'})"
    failed = [c.title for c in result.checks if c.passed is False
              and not (hide_hidden and c.id in HIDDEN_CHECKS)]
    if not failed:
        return f"{total}: every check passed"
    return f"{total}: {len(failed)} check(s) to fix: " + "; ".join(failed)


def _check_lines(result: GradeResult, hide_hidden: bool) -> list[str]:
    lines = []
    for check in result.checks:
        if hide_hidden and check.id in HIDDEN_CHECKS:
            continue
        line = f"[{STATUS_WORDS.get(check.status, check.status)}] {check.title} " \
               f"({check.score:g}/{check.max_score:g}): {check.message}"
        if check.hint and check.status != "passed":
            line += f" Hint: {check.hint}"
        lines.append(line)
    return lines


def feedback_text(result: GradeResult, hide_hidden: bool = False) -> str:
    parts = [verdict(result, hide_hidden), "", *_check_lines(result, hide_hidden)]
    if result.compat_notes:
        parts += ["", "Ran with compatibility for older TensorFlow code:",
                  *[f"- {n}" for n in result.compat_notes]]
    return "\n".join(parts).strip()


def fraction(result: GradeResult) -> float:
    if not result.max_score:
        return 0.0
    return round(min(1.0, max(0.0, result.score / result.max_score)), 6)


def gradescope(result: GradeResult) -> dict[str, Any]:
    tests = [{
        "name": check.title,
        "number": str(index),
        "score": check.score,
        "max_score": check.max_score,
        "status": "failed" if check.passed is False or check.status == "not_judged"
        else "passed",
        "output": check.message + (f"\nHint: {check.hint}" if check.hint and
                                   check.status != "passed" else ""),
        "visibility": "after_published" if check.id in HIDDEN_CHECKS else "visible",
        "tags": [check.id],
    } for index, check in enumerate(result.checks, start=1)
        if check.status != "not_applicable"]  # 0/0: nothing to show or to earn
    return {
        "score": result.score,
        "execution_time": int(round(result.timings.get("total", 0.0))),
        "output": feedback_text(result, hide_hidden=True),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"status": result.status, "grader_version": result.grader_version,
                       "exercise": result.exercise,
                       "exercise_version": result.exercise_version,
                       "submission_sha256": result.submission_sha256},
    }


def prairielearn(result: GradeResult) -> dict[str, Any]:
    return {
        # a file that is not a submission at all must not cost the student an attempt
        "gradable": result.status != "error",
        "score": fraction(result),
        "message": verdict(result),
        "output": feedback_text(result, hide_hidden=True),
        "tests": [{"name": check.title, "description": check.id,
                   "points": check.score, "max_points": check.max_score,
                   "message": check.message,
                   "output": check.hint if check.hint and check.status != "passed" else ""}
                  for check in result.checks],
    }


def coursera(result: GradeResult) -> dict[str, Any]:
    return {"fractionalScore": fraction(result),
            "feedback": feedback_text(result, hide_hidden=True)}


FORMATS: dict[str, Callable[[GradeResult], dict[str, Any]]] = {
    "gradescope": gradescope, "prairielearn": prairielearn, "coursera": coursera}


def write_json(payload: dict[str, Any], path: Path) -> None:
    """Atomically, through a dot-named temporary file that no student's file can be."""
    atomic_write(path, json.dumps(payload, indent=1))


def write_csv(results: list[GradeResult], path: Path,
              similar_to: Mapping[str, list[tuple[str, float]]] | None = None) -> None:
    """One row per student; check columns in rubric order (a union, if exercises differ).

    `review` says why a person should look at a grade (grader.evidence: what the run's
    own account could not be corroborated on); `similar_to` names the submissions a
    similarity comparison flagged (`grader batch --similarity`), best first. Neither
    changes a score.

    UTF-8 with a byte-order mark: without one, Excel reads the file in the machine's
    code page and shows José as JosÃ©; every other reader (Python's utf-8-sig, pandas,
    LibreOffice, Google Sheets) skips it. Written atomically, like every output."""
    check_ids: list[str] = []
    for result in results:
        check_ids += [c.id for c in result.checks if c.id not in check_ids]
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    # check columns are named by check id; the measured hidden-split accuracy gets its
    # own name so it never collides with the hidden_accuracy check's points
    writer.writerow(["student", "submission", "exercise", "status", "score", "max_score",
                     "percent", "hidden_accuracy_measured", "review", "similar_to",
                     *check_ids, "error"])
    for result in sorted(results, key=lambda r: (r.student, r.exercise)):
        by_id = {c.id: c.score for c in result.checks}
        hidden = result.metrics.get("hidden_accuracy")
        writer.writerow([_cell(result.student), _cell(result.submission), result.exercise,
                         result.status, result.score, result.max_score,
                         round(100 * fraction(result), 1),
                         "" if hidden is None else round(hidden, 4),
                         _cell("; ".join(result.review)),
                         _cell("; ".join(f"{other} ({score:.2f})" for other, score
                                         in (similar_to or {}).get(result.student, []))),
                         *[by_id.get(i, "") for i in check_ids],
                         _cell(result.error or "")])
    atomic_write(path, "\ufeff" + text.getvalue())


def _cell(text: str) -> str:
    """A student-chosen string as a cell: never run as a formula by a spreadsheet, and
    storable as UTF-8 even when it came from a file name that was not."""
    text = display_name(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
