"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, for tests/browser/.

Without a browser the tests skip on a developer's machine but FAIL under CI (CI set), so
a CI run can never pass the browser tests by silently not running them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from components import require

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def missing(reason: str) -> None:
    require(False, reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing (apt-get install chromium, or make system-deps)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()


class Screenshots:
    """Saves into pytest's tmp output and, when REPORT_SCREENSHOTS_DIR is set, there too."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        extra = os.environ.get("REPORT_SCREENSHOTS_DIR")
        self.extra = Path(extra) if extra else None

    def save(self, page: Any, name: str, full_page: bool = True) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        if self.extra is not None:
            self.extra.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.extra / path.name)
        return path


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Screenshots:
    return Screenshots(tmp_path_factory.mktemp("screenshots"))
