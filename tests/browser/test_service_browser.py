"""The grading service in headless Chromium, graded for real: a student opens their link,
uploads the reference notebook, watches it wait and run, and reads their report; another
student's report address gives 404; the instructor logs in, finds the student on the
dashboard and downloads the CSV. No page logs a console error or asks anything of another
site. With REPORT_SCREENSHOTS_DIR=docs/img the pages land in the docs (docs/service.md)."""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))
from service_fixtures import NOTEBOOK, PASSWORD, Service, make_course  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class Watched:
    """A page whose console errors and requests to other sites are recorded."""

    def __init__(self, page: Any, origin: str) -> None:
        self.page, self.origin = page, origin
        self.errors: list[str] = []
        self.elsewhere: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._request)

    def _request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "about") and \
                f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.elsewhere.append(request.url)

    def clean(self) -> None:
        assert self.errors == [] and self.elsewhere == []


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Service]]:
    monkeypatch.delenv("GRADER_SERVICE_TEST_GRADE", raising=False)
    course = make_course(tmp_path / "course", None, ["ada", "bo"], late_penalty_per_day=10,
                         deadline="2099-06-30T23:59:00Z", max_attempts=5,
                         title="Happy or Sad (week 4)")
    service = Service(course.root, tmp_path / "service.log", workers=1, hook=False).start()
    try:
        yield course, service
    finally:
        service.stop()
        course.engine.dispose()


def test_a_student_submits_and_reads_the_report_and_the_instructor_sees_it(
        browser: Any, screenshots: Any, served: tuple[Any, Service]) -> None:
    course, service = served
    contexts = []

    def new_page(width: int = 1100) -> Watched:
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      accept_downloads=True)
        contexts.append(context)
        return Watched(context.new_page(), service.url)

    try:
        student = new_page()
        page = student.page
        page.goto(f"{service.url}/s/{course.tokens['ada']}")
        assert "Continue as ada" in page.inner_text("h1")
        page.click("button:has-text('Continue as ada')")
        page.wait_for_url(f"{service.url}/me")
        page.set_input_files("#file", str(NOTEBOOK))
        page.click("button:has-text('Submit for grading')")
        page.wait_for_url("**/me/attempts/*")
        attempt_url = page.url
        state = page.locator("#job-state").inner_text()
        assert state.startswith(("Queued", "Grading")), state
        started = time.monotonic()
        page.wait_for_selector("text=Open your report", timeout=900_000)
        assert time.monotonic() - started > 1
        assert "100 / 100" in page.inner_text("#result")
        assert "This attempt counts" in page.inner_text("#result")
        screenshots.save(page, "service-student-attempt")
        page.goto(f"{service.url}/me")
        assert page.locator("#attempts .badge.counts").count() == 1
        screenshots.save(page, "service-student")
        page.goto(attempt_url)
        page.click("text=Open your report")
        page.wait_for_url("**/attempts/*/report")
        report_url = page.url
        assert "Your report" in page.inner_text("header")
        assert "100 / 100" in page.inner_text("header")
        assert page.locator("table.confusion").count() == 0  # the student view, not the other
        screenshots.save(page, "service-student-report", full_page=False)
        student.clean()

        other = new_page()
        other.page.goto(f"{service.url}/s/{course.tokens['bo']}")
        other.page.click("button:has-text('Continue as bo')")
        other.page.wait_for_url(f"{service.url}/me")
        answer = other.page.goto(report_url)
        assert answer is not None and answer.status == 404  # as if there were none
        assert "no attempt" in other.page.inner_text("main")

        teacher = new_page()
        page = teacher.page
        page.goto(f"{service.url}/login")
        page.fill("#name", "prof")
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Log in')")
        page.wait_for_url(f"{service.url}/instructor")
        page.click("text=Happy or Sad (week 4)")
        page.wait_for_url("**/instructor/assignments/hw1")
        row = page.locator("#students tbody tr", has_text="ada")
        assert "100 / 100" in row.inner_text() and "#1" in row.inner_text()
        screenshots.save(page, "service-instructor")
        with page.expect_download() as download:
            page.click("text=grades.csv")
        text = Path(download.value.path()).read_text(encoding="utf-8")
        rows = {r["student"]: r for r in csv.DictReader(io.StringIO(text))}
        assert rows["ada"]["score"] == "100.0" and rows["bo"]["status"] == "no graded attempt"
        page.click("text=Class summary")
        page.wait_for_url("**/summary/index.html")
        assert page.locator("#submissions tbody tr").count() == 1
        screenshots.save(page, "service-summary", full_page=False)
        page.goto(f"{service.url}/instructor/assignments/hw1/students/ada")
        page.click("text=instructor view")
        assert "Instructor view" in page.inner_text("header")
        teacher.clean()
    finally:
        for context in contexts:
            context.close()
