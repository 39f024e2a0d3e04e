"""grader.reports.write_summary: the class summary's numbers, links and safety, without a
browser (tests/browser/ clicks through the same page in Chromium)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grader import reports as report
from grader.reports import charts
from grader.results.layout import OutputLayout
from grader.results.result import CheckResult, GradeResult

IDS = ("runs", "loss", "returns_accuracy")


def result(student: str, score: float, statuses: tuple[str, str, str],
           status: str = "graded", max_score: float = 100.0) -> GradeResult:
    checks = [CheckResult(check_id, check_id.title(), s, s == "passed" if s in (
        "passed", "failed", "partial") else None, 0.0, 0.0 if s == "not_applicable" else 5.0,
        f"{check_id} {s}") for check_id, s in zip(IDS, statuses, strict=True)]
    return GradeResult(submission=f"{student}.ipynb", student=student, exercise="happy-or-sad",
                       status=status, score=score, max_score=max_score, checks=checks,
                       metrics={"hidden_accuracy": 0.9} if status == "graded" else {},
                       grader_version="0.1.0")


CLASS = [
    result("ada", 100.0, ("passed", "passed", "passed")),
    result("bob", 95.0, ("passed", "passed", "not_applicable"), max_score=95.0),
    result("cy", 55.0, ("passed", "failed", "partial")),
    result("dee", 0.0, ("not_judged", "not_judged", "not_judged"), status="timeout"),
    result("eve", 0.0, ("not_judged", "not_judged", "not_judged"), status="error"),
    result("fay", 89.9, ("passed", "passed", "failed")),
]


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def having(self, tag: str, attr: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.found if t == tag and attr in a]


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def test_histogram_counts_every_submission_in_its_band() -> None:
    assert charts.histogram_counts(CLASS) == [2, 0, 0, 0, 0, 1, 0, 0, 1, 2]

    bins = elements(report.render_summary(CLASS)).having("rect", "data-bin")

    assert [b["data-count"] for b in bins] == ["2", "0", "0", "0", "0", "1", "0", "0", "1", "2"]
    heights = [float(b["height"] or "nan") for b in bins]
    tallest = max(heights)
    assert [h / tallest for h in heights] == pytest.approx(
        [c / 2 for c in charts.histogram_counts(CLASS)])
    bottoms = {round(float(b["y"] or "nan") + float(b["height"] or "nan"), 1) for b in bins}
    assert len(bottoms) == 1                                 # every bar stands on the axis


def test_pass_rate_per_check_counts_only_passes_where_the_check_applied() -> None:
    bars = elements(report.render_summary(CLASS)).having("rect", "data-check")

    found = {b["data-check"]: (b["data-passed"], b["data-total"], float(b["width"] or "nan"))
             for b in bars}
    assert {k: v[:2] for k, v in found.items()} == {
        "runs": ("4", "6"), "loss": ("3", "6"), "returns_accuracy": ("1", "5")}
    full = found["runs"][2] / (4 / 6)                        # width of a 100 % bar
    assert found["loss"][2] == pytest.approx(full * 3 / 6, abs=0.2)
    assert found["returns_accuracy"][2] == pytest.approx(full * 1 / 5, abs=0.2)


def test_rows_link_to_both_reports_with_quoted_names() -> None:
    odd = result("Jo Ann #2?%", 50.0, ("passed", "failed", "failed"))

    html = report.render_summary([odd])
    links = [a["href"] for a in elements(html).having("a", "href")]

    assert "Jo%20Ann%20%232%3F%25/report.html" in links
    assert "Jo%20Ann%20%232%3F%25/instructor.html" in links


def test_a_submission_to_review_shows_its_reasons_not_points() -> None:
    """"⚠ 1 point" read as a score; the column counts the reasons and lists them."""
    flagged = dataclasses.replace(result("gil", 80.0, ("passed", "passed", "failed")),
                                  review=["the code uses exec()", "no event stream"])
    html = report.render_summary([flagged, CLASS[0]])
    assert "⚠ 2 reasons" in html and "the code uses exec(); no event stream" in html
    assert "1 submission to review" in html and "To review</em> column" in html


def test_csv_and_other_exports_are_linked() -> None:
    html = report.render_summary(CLASS, {"Gradescope JSON": "exports/grade scope.json"})
    links = [a["href"] for a in elements(html).having("a", "href")]

    assert "results.csv" in links and "exports/grade%20scope.json" in links
    assert ">Gradescope JSON</a>" in html


def test_student_names_are_escaped_and_only_the_own_script_may_run() -> None:
    hostile = result('<script>alert(1)</script><img src=x onerror="alert(2)">', 10.0,
                     ("failed", "failed", "failed"))

    html = report.render_summary([hostile])
    found = elements(html)

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not [a for t, a in found.found if t == "img"]
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1 and "alert" not in scripts[0]
    (meta,) = [a for t, a in found.found if a.get("http-equiv") == "Content-Security-Policy"]
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in (meta["content"] or "")
    assert "default-src 'none'" in (meta["content"] or "")


def test_summary_of_no_submissions_still_renders(tmp_path: Path) -> None:
    path = report.write_summary([], OutputLayout(tmp_path))

    assert path == tmp_path / "index.html"
    assert "0 submissions" in path.read_text(encoding="utf-8")


def test_write_summary_writes_index_html_atomically(tmp_path: Path) -> None:
    path = report.write_summary(CLASS, OutputLayout(tmp_path / "out"))

    html = path.read_text(encoding="utf-8")
    assert path == tmp_path / "out" / "index.html"
    assert [p.name for p in path.parent.iterdir()] == ["index.html"]
    assert html.count('<tr data-status="') == len(CLASS)
    assert "1 stopped at the time limit" in html and "1 could not be graded" in html
