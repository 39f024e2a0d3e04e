"""The reports in a real browser: headless Chromium opens each view and the class summary
from file:// with the network off, and a person's checks are done by script: no console
error, nothing requested outside the file, sorting and filtering work, the student view
holds no hidden image, a phone-width page does not scroll sideways, print renders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sample_results as samples

from grader import exercise
from grader import reports as report
from grader.results.layout import OutputLayout
from grader.results.result import GradeResult

pytestmark = pytest.mark.browser

PHONE = 375
KEYS = {"passing": "ada", "failing": "bob", "timeout": "cy", "error": "dee"}


@pytest.fixture(scope="session")
def results() -> list[GradeResult]:
    return samples.all_results()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, results: list[GradeResult]) -> Path:
    """A batch's output folder: both views per student, index.html, a CSV to link to."""
    out = tmp_path_factory.mktemp("site")
    hidden = samples.hidden_folder(tmp_path_factory.mktemp("hidden"), results)
    spec, layout = exercise.load("happy-or-sad"), OutputLayout(out)
    for result in results:
        report.write_submission(result, layout, spec, hidden)
    layout.csv.write_text("student,score\n", encoding="utf-8")
    report.write_summary(results, layout, {"Gradescope JSON": "gradescope.json"})
    return out


class Watched:
    """A page with everything worth complaining about recorded as it happens."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.dialogs == []
        assert self.requests and all(u.startswith(("file://", "data:")) for u in self.requests)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    contexts = []

    def opener(path: Path, width: int = 1100) -> Watched:
        context = browser.new_context(viewport={"width": width, "height": 900}, offline=True)
        contexts.append(context)
        watched = Watched(context.new_page())
        watched.page.goto(path.as_uri())
        watched.page.wait_for_load_state("load")
        return watched

    yield opener
    for context in contexts:
        context.close()


# --- one submission -----------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["report", "instructor"])
@pytest.mark.parametrize("kind", ["passing", "failing", "timeout", "error"])
def test_report_opens_cleanly(site: Path, open_page: Any, screenshots: Any, kind: str,
                              view: str) -> None:
    watched = open_page(site / KEYS[kind] / f"{view}.html")
    page = watched.page

    watched.assert_clean()
    assert page.evaluate("document.scripts.length") == 0
    assert page.locator("h1").inner_text() == KEYS[kind]
    assert page.locator("td.status").count() == len(samples.RUBRIC)
    screenshots.save(page, f"{kind}-{view}")


def test_timed_out_and_error_reports_say_what_happened(site: Path, open_page: Any) -> None:
    timeout = open_page(site / "cy" / "report.html").page
    error = open_page(site / "dee" / "report.html").page

    assert "Time limit reached." in timeout.locator(".alert").inner_text()
    assert "stopped after the 120 s time limit" in timeout.locator(".alert").inner_text()
    assert "No training epoch was recorded before the time limit" in timeout.inner_text("main")
    assert "Not graded." in error.locator(".alert").inner_text()
    assert "not a valid notebook" in error.locator(".verdict").inner_text()


def test_charts_show_stop_and_limit_markers(site: Path, open_page: Any) -> None:
    page = open_page(site / "ada" / "report.html").page

    for chart in ("#chart-accuracy", "#chart-loss"):
        assert page.locator(f"{chart} line.stop").count() == 1
        assert page.locator(f"{chart} line.limit").count() == 1
        assert page.locator(f"{chart} circle").count() == 6
    assert page.locator("#chart-accuracy line.threshold").count() == 1
    box = page.locator("#chart-accuracy").bounding_box()
    assert box and box["width"] > 200 and box["height"] > 80     # actually drawn


def test_student_view_holds_no_hidden_split_image(site: Path, open_page: Any) -> None:
    student = open_page(site / "bob" / "report.html").page
    instructor = open_page(site / "bob" / "instructor.html").page

    assert student.evaluate("document.images.length") == 0
    assert "data:image" not in student.content()
    assert student.locator("table.confusion").count() == 0
    assert "happy-000" not in student.content()

    assert instructor.locator("table.confusion").count() == 1
    sources = instructor.eval_on_selector_all(
        "img", "images => images.map(i => [i.src.slice(0, 22), i.alt, i.naturalWidth])")
    assert len(sources) == 24                                      # the cap; 6 more named
    assert all(src == "data:image/png;base64," and alt and 0 < width <= 64
               for src, alt, width in sources)
    assert "and 6 more misclassified image(s) not shown" in instructor.inner_text("main")


@pytest.mark.parametrize("view", ["report", "instructor"])
def test_hostile_strings_stay_text(site: Path, open_page: Any, screenshots: Any,
                                   view: str) -> None:
    hostile = samples.hostile()
    watched = open_page(site / hostile.student / f"{view}.html")
    page = watched.page

    watched.assert_clean()                                         # no alert() dialog fired
    assert page.evaluate("document.scripts.length") == 0
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("h1").inner_text() == hostile.student
    assert samples.SCRIPT in page.inner_text("#architecture")
    assert samples.IMAGE in page.locator("#output pre").first.text_content()
    screenshots.save(page, f"hostile-{view}")


# --- the class summary --------------------------------------------------------------------------

def column(page: Any, index: int) -> list[str]:
    return page.eval_on_selector_all(
        "#submissions tbody tr:not([hidden])",
        f"rows => rows.map(r => r.cells[{index}].getAttribute('data-sort') ?? "
        f"r.cells[{index}].textContent.trim())")


def test_summary_opens_cleanly_and_links_everything(site: Path, open_page: Any,
                                                    screenshots: Any,
                                                    results: list[GradeResult]) -> None:
    watched = open_page(site / "index.html")
    page = watched.page

    watched.assert_clean()
    assert page.locator("#submissions tbody tr").count() == len(results)
    assert page.locator("#chart-histogram rect.bin").count() == 10
    assert page.locator("#chart-pass-rates rect.rate").count() == len(samples.RUBRIC)
    hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href'))")
    assert "results.csv" in hrefs and "gradescope.json" in hrefs
    for result in results:
        assert f"{quote(result.student, safe='')}/report.html" in hrefs
        assert f"{quote(result.student, safe='')}/instructor.html" in hrefs
    screenshots.save(page, "summary")


def test_summary_links_reach_the_reports_even_for_odd_names(site: Path,
                                                            open_page: Any) -> None:
    page = open_page(site / "index.html").page

    page.get_by_role("link", name="Jo Ann #2?%").first.click()
    page.wait_for_load_state("load")

    assert page.locator("h1").inner_text() == "Jo Ann #2?%"
    assert page.url.endswith("/report.html")


def test_summary_sorts_by_clicking_a_column_header(site: Path, open_page: Any) -> None:
    page = open_page(site / "index.html").page

    page.get_by_role("button", name="Percent").click()
    ascending = [float(v) for v in column(page, 3)]
    page.get_by_role("button", name="Percent").click()
    descending = [float(v) for v in column(page, 3)]
    page.get_by_role("button", name="Student").click()
    names = column(page, 0)

    assert ascending == sorted(ascending) and ascending[-1] == 100.0
    assert 12.7 in ascending                          # numeric, not "100" < "12.7"
    assert descending == sorted(ascending, reverse=True)
    assert page.locator("th[aria-sort]").count() == 1
    lowered = [n.lower() for n in names]
    assert lowered in (sorted(lowered), sorted(lowered, reverse=True))


def test_summary_filters_by_typing_and_by_status(site: Path, open_page: Any,
                                                 screenshots: Any,
                                                 results: list[GradeResult]) -> None:
    page = open_page(site / "index.html").page
    rows = page.locator("#submissions tbody tr:not([hidden])")

    page.fill("#filter", "timeout")
    assert rows.count() == 1 and column(page, 0) == ["cy"]
    page.fill("#filter", "callback_stop")                        # a check that was failed
    assert sorted(column(page, 0)) == ["Jo Ann #2?%", "bob", "cy", "dee"]
    screenshots.save(page, "summary-filtered")
    page.fill("#filter", "")
    page.select_option("#status-filter", "error")
    assert column(page, 0) == ["dee"]
    assert page.locator("#shown-count").inner_text() == f"1 of {len(results)} submissions shown"
    page.select_option("#status-filter", "")
    assert rows.count() == len(results)


# --- phone width and print ----------------------------------------------------------------------

@pytest.mark.parametrize("page_path", ["index.html", "ada/report.html", "bob/instructor.html",
                                       "cy/report.html", "dee/instructor.html"])
def test_phone_width_does_not_scroll_sideways(site: Path, open_page: Any, screenshots: Any,
                                              page_path: str) -> None:
    watched = open_page(site / page_path, width=PHONE)

    watched.assert_clean()
    assert watched.page.evaluate("document.documentElement.scrollWidth") <= PHONE + 2
    if page_path == "index.html":                       # sorting stays reachable on a phone
        button = watched.page.get_by_role("button", name="Percent")
        assert button.is_visible()
        button.click()
        shown = [float(v) for v in column(watched.page, 3)]
        assert shown == sorted(shown)
    screenshots.save(watched.page, "phone-" + page_path.replace("/", "-").removesuffix(".html"))


@pytest.mark.parametrize("page_path", ["ada/report.html", "bob/instructor.html", "index.html"])
def test_print_renders(site: Path, open_page: Any, tmp_path: Path, page_path: str) -> None:
    watched = open_page(site / page_path)
    page = watched.page
    page.emulate_media(media="print")

    if page_path != "index.html":
        assert not page.locator("nav.toc").is_visible()
        assert page.locator("#output pre").first.is_visible()     # collapsed output prints
        assert page.locator("#chart-accuracy").is_visible()
    else:
        assert not page.locator(".controls").is_visible()
        assert page.locator("#submissions").is_visible()
    pdf = tmp_path / "print.pdf"
    page.pdf(path=str(pdf))
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000
    watched.assert_clean()
