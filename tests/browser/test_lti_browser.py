"""An LTI 1.3 launch in headless Chromium, graded for real: a student opens the
assignment from the course of a real LTI platform (devtools/lti_platform.py, on
lti1p3platform, a separate process), lands on their page signed in (no personal link),
uploads the reference notebook, and the platform's gradebook receives 100 / 100; a
second student launched from the same course cannot open the first one's report."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "service"))
sys.path.insert(0, str(HERE.parent / "lti"))
from lti_fixtures import Lms, gradebook, served_lms  # noqa: E402
from service_fixtures import NOTEBOOK  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
GRADING = 900.0  # seconds a real grading may take on a slow, busy machine


@pytest.fixture
def graded_for_real(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lms]:
    monkeypatch.delenv("GRADER_SERVICE_TEST_GRADE", raising=False)
    with served_lms(tmp_path, hook=False) as served:
        yield served


def test_a_launch_from_the_lms_to_a_grade_in_its_gradebook(browser: Any, screenshots: Any,
                                                           graded_for_real: Lms) -> None:
    lms = graded_for_real
    contexts = []
    try:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(lms.platform.launch_url("student-1", lms.link))
        page.wait_for_url(f"{lms.tool}/me")  # login, the platform's form, the launch
        assert "Ada Lovelace" in page.inner_text("body")
        screenshots.save(page, "lti-student")
        page.set_input_files("#file", str(NOTEBOOK))
        page.click("button:has-text('Submit for grading')")
        page.wait_for_url("**/me/attempts/*")
        attempt_url = page.url
        page.wait_for_selector("text=Open your report", timeout=GRADING * 1000)
        assert "100 / 100" in page.inner_text("#result")
        deadline = time.monotonic() + 120
        while not gradebook(lms, "student-1") and time.monotonic() < deadline:
            time.sleep(0.5)
        score = gradebook(lms, "student-1")
        assert score is not None, lms.platform.state()
        assert (score["scoreGiven"], score["scoreMaximum"]) == (100, 100)
        page.goto(lms.platform.url)  # the LMS's own page shows it in its gradebook
        row = page.locator("tr", has_text="student-1")
        assert "100.0/100.0" in row.inner_text() and "FullyGraded" in row.inner_text()
        screenshots.save(page, "lti-platform-gradebook")
        assert errors == []

        other = browser.new_context()
        contexts.append(other)
        second = other.new_page()
        second.goto(lms.platform.launch_url("student-2", lms.link))
        second.wait_for_url(f"{lms.tool}/me")
        assert "Alan Turing" in second.inner_text("body")
        answer = second.goto(attempt_url)
        assert answer is not None and answer.status == 404
        answer = second.goto(attempt_url.replace("/me/attempts/", "/attempts/") + "/report")
        assert answer is not None and answer.status == 404
    finally:
        for context in contexts:
            context.close()
