"""The similarity report in headless Chromium: it opens from file:// with the network off,
runs no script and requests nothing, shows a planted copy side by side with the matched
lines highlighted and the template greyed, keeps hostile names and code as text, and
fits a phone's width."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "similarity"))

from similarity_disguise import disguise, write_notebook  # noqa: E402
from similarity_fixtures import STAND_IN_TEMPLATE  # noqa: E402

from grader.similarity import report as similarity_report  # noqa: E402
from grader.similarity.api import compare_source  # noqa: E402

pytestmark = pytest.mark.browser
SAMPLES = REPO / "submissions" / "happy_or_sad"
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("similarity")
    source = root / "class"
    source.mkdir()
    for path in SAMPLES.iterdir():
        if path.suffix in (".py", ".ipynb"):
            shutil.copyfile(path, source / path.name)
    disguise(SAMPLES / "no_callback.py", source, "mallory", seed=1)
    hostile = (SAMPLES / "correct_modern.py").read_text() + f"\nprint('{EVIL}')\n"
    (source / "eve<b onmouseover=alert(2)>.py").write_text(hostile, encoding="utf-8")
    template = write_notebook(root / "starter.ipynb", STAND_IN_TEMPLATE)
    result = compare_source(source, templates=[template], exercise="happy-or-sad")
    return similarity_report.write(result, root / "out")[1]


@pytest.fixture
def opened(browser: Any) -> Iterator[Any]:
    contexts = []

    def opener(path: Path, width: int = 1300) -> tuple[Any, list[str], list[str]]:
        context = browser.new_context(viewport={"width": width, "height": 1000},
                                      offline=True)
        contexts.append(context)
        page = context.new_page()
        problems: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: (problems.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        return page, problems, requests

    yield opener
    for context in contexts:
        context.close()


def test_the_report_opens_cleanly_and_shows_the_copy(report: Path, opened: Any,
                                                     screenshots: Any) -> None:
    page, problems, requests = opened(report)
    assert problems == []
    assert requests and all(u.startswith(("file://", "data:")) for u in requests)
    assert page.evaluate("document.scripts.length") == 0
    rows = page.locator("#pair-table tbody tr")
    flagged = [rows.nth(i).inner_text() for i in range(rows.count())
               if "flagged" in rows.nth(i).inner_text()]
    assert len(flagged) == 2  # mallory's disguised copy, and eve's pasted file
    row = next(r for r in flagged if "mallory" in r)
    assert "no_callback" in row
    number = int(row.split()[0])
    view = page.locator(f"details#pair-{number}")
    assert view.get_attribute("open") is not None
    assert view.locator(".pairview > div").count() == 2
    for side in range(2):
        column = view.locator(".pairview > div").nth(side)
        assert column.locator(".l.m").count() >= 5          # matched lines, both sides
    assert view.locator(".l.t").count() >= 1                 # the template, greyed
    assert view.locator(".l.c").count() >= 1                 # class-common code, greyed
    colours = page.eval_on_selector_all(
        f"details#pair-{number} .l.m, details#pair-{number} .l.t",
        "ls => [...new Set(ls.map(l => l.className + '|' + getComputedStyle(l).backgroundColor"
        " + '|' + getComputedStyle(l).color))]")
    assert len(colours) >= 2                                 # matched and template differ
    screenshots.save(page, "similarity-overview", full_page=False)
    view.scroll_into_view_if_needed()
    screenshots.save(page, "similarity-pair", full_page=False)


def test_hostile_names_and_code_stay_text(report: Path, opened: Any) -> None:
    page, problems, _ = opened(report)
    assert problems == []                                    # no alert() fired
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator("b[onmouseover]").count() == 0
    assert page.evaluate("document.scripts.length") == 0
    assert EVIL in page.inner_text("body")
    assert "eve<b onmouseover=alert(2)>.py" in page.inner_text("#submissions")


def test_phone_width_does_not_scroll_sideways(report: Path, opened: Any) -> None:
    page, problems, _ = opened(report, width=375)
    assert problems == []
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 376, width
