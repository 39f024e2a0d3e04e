"""What the class summary (index.html) shows, as plain values: charts, rows and links.

Why links are built here: a student's folder is named by grader.results.layout.folder_name
(the id, percent-escaped by grader.ids: `%2E%2E`, `bob%20`, `José`, `%72esults.csv`), and a
browser decodes a link once before it opens a file; so each folder name is URL-quoted
again (`%252E%252E`) as one path segment, relative to index.html, and the summary still
works when the whole output folder is copied or zipped.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from grader.reports import charts
from grader.results.layout import relative_reports
from grader.results.result import GradeResult

SIMILARITY_LINK = "Similarity (possible copies)"  # the export link the batch adds


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
    review: list[str]  # why a person should look (the result's, from grader.evidence)
    similar_to: list[tuple[str, float]]  # flagged by `--similarity`, best first


def _row(result: GradeResult, similar_to: list[tuple[str, float]]) -> Row:
    applicable = [c for c in result.checks if c.status != "not_applicable"]
    lost = [c.id for c in applicable if c.status != "passed"]
    student_report, instructor_report = relative_reports(result.student)
    hidden = result.metrics.get("hidden_accuracy")
    return Row(result=result, percent=charts.percent(result),
               hidden=float(hidden) if isinstance(hidden, int | float) else None,
               passed=len(applicable) - len(lost), applicable=len(applicable), lost=lost,
               report_href=quote(student_report), instructor_href=quote(instructor_report),
               search=" ".join([result.student, result.submission, result.status, *lost,
                                "review" if result.review else "",
                                "similar" if similar_to else ""]).lower(),
               review=list(result.review), similar_to=similar_to)


def context(results: list[GradeResult], csv_name: str, exports: dict[str, str] | None,
            similar_to: Mapping[str, list[tuple[str, float]]] | None = None
            ) -> dict[str, Any]:
    percents = [charts.percent(r) for r in results]
    statuses = {s: sum(1 for r in results if r.status == s) for s in ("graded", "timeout",
                                                                       "error")}
    links = [("CSV (one row per submission)", quote(csv_name, safe="/"))]
    links += [(label, quote(name, safe="/")) for label, name in (exports or {}).items()]
    exercises = sorted({r.exercise for r in results})
    return {
        "results": results,
        "rows": [_row(r, list((similar_to or {}).get(r.student, []))) for r in results],
        "to_review": sum(1 for r in results if r.review),
        "flagged": sum(1 for r in results if (similar_to or {}).get(r.student)),
        "similarity_href": (exports or {}).get(SIMILARITY_LINK),
        "exercise": ", ".join(exercises) or "no submissions",
        "histogram": charts.score_histogram(results), "pass_rates": charts.pass_rates(results),
        "statuses": statuses, "links": links,
        "mean": round(statistics.fmean(percents), 1) if percents else None,
        "median": round(statistics.median(percents), 1) if percents else None,
        "grader_version": next((r.grader_version for r in results if r.grader_version), ""),
    }
