"""What the class summary (index.html) shows, as plain values: charts, rows and links.

Why links are built here: student ids are file stems chosen by students, so they may hold
spaces, '#', '?' or '%'; each becomes one URL-quoted path segment, relative to index.html,
so the summary still works when the whole output folder is copied or zipped.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from grader.reports import charts
from grader.results.layout import relative_reports
from grader.results.result import GradeResult


@dataclass(frozen=True)
class Row:
    result: GradeResult
    percent: float
    hidden: float | None
    passed: int
    applicable: int
    lost: list[str]
    report_href: str
    instructor_href: str
    search: str  # what the filter box matches against


def _row(result: GradeResult) -> Row:
    applicable = [c for c in result.checks if c.status != "not_applicable"]
    lost = [c.id for c in applicable if c.status != "passed"]
    student_report, instructor_report = relative_reports(result.student)
    hidden = result.metrics.get("hidden_accuracy")
    return Row(result=result, percent=charts.percent(result),
               hidden=float(hidden) if isinstance(hidden, int | float) else None,
               passed=len(applicable) - len(lost), applicable=len(applicable), lost=lost,
               report_href=quote(student_report), instructor_href=quote(instructor_report),
               search=" ".join([result.student, result.submission, result.status, *lost]).lower())


def context(results: list[GradeResult], csv_name: str,
            exports: dict[str, str] | None) -> dict[str, Any]:
    percents = [charts.percent(r) for r in results]
    statuses = {s: sum(1 for r in results if r.status == s) for s in ("graded", "timeout",
                                                                       "error")}
    links = [("CSV (one row per submission)", quote(csv_name, safe="/"))]
    links += [(label, quote(name, safe="/")) for label, name in (exports or {}).items()]
    exercises = sorted({r.exercise for r in results})
    return {
        "results": results, "rows": [_row(r) for r in results],
        "exercise": ", ".join(exercises) or "no submissions",
        "histogram": charts.score_histogram(results), "pass_rates": charts.pass_rates(results),
        "statuses": statuses, "links": links,
        "mean": round(statistics.fmean(percents), 1) if percents else None,
        "median": round(statistics.median(percents), 1) if percents else None,
        "grader_version": next((r.grader_version for r in results if r.grader_version), ""),
    }
