"""Regenerate the screenshots in docs/img/ from real results (after `make demo`).

    .venv/bin/python docs/make_screenshots.py [--demo build/demo] [--out docs/img]

Renders the demo's result.json files with grader.report (both views and the class
summary) into a temporary folder, opens them in headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright) and saves viewport-sized PNGs, reduced to a
palette when that keeps them small (the docs should stay light to clone).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

from grader import exercise
from grader import reports as report
from grader.results.layout import OutputLayout
from grader.results.result import GradeResult

ROOT = Path(__file__).resolve().parent.parent
MAX_BYTES = 200 * 1024
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]

# (file name, student, page, viewport width, viewport height, element to scroll to)
SHOTS = [
    ("report-student.png", "callback_on_loss", "report.html", 1000, 1100, None),
    ("report-student-training.png", "wrong_input_shape", "report.html", 1000, 1100,
     "#training"),
    ("report-instructor.png", "subdirectory_mistake", "instructor.html", 1000, 1100,
     "#hidden"),
    ("summary.png", None, "index.html", 1100, 1250, None),
    ("report-phone.png", "infinite_loop", "report.html", 375, 800, None),
]


def save_small(png: bytes, path: Path) -> int:
    """Write the PNG as it is, or as a 256-colour palette PNG when that is too big."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    if out.tell() > MAX_BYTES:
        out = io.BytesIO()
        image.quantize(colors=256, dither=Image.Dither.NONE).save(out, format="PNG",
                                                                  optimize=True)
    path.write_bytes(out.getvalue())
    return out.tell()


def render_site(demo: Path, site: Path, hidden: Path | None) -> list[GradeResult]:
    spec, layout = exercise.load("happy-or-sad"), OutputLayout(site)
    results = [GradeResult.from_json(p.read_text(encoding="utf-8"))
               for p in sorted(demo.glob("*/result.json"))]
    for result in results:
        report.write_submission(result, layout, spec, hidden)
    report.write_summary(results, layout)
    return results


def shoot(page: Page, url: str, target: str | None) -> bytes:
    page.goto(url)
    page.wait_for_load_state("load")
    if target:
        page.locator(target).scroll_into_view_if_needed()
        page.evaluate(f"document.querySelector({target!r}).scrollIntoView()")
    return page.screenshot(full_page=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", type=Path, default=ROOT / "build" / "demo")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    data = Path(os.environ.get("GRADER_DATA_DIR", ROOT / "build" / "data"))
    parser.add_argument("--hidden", type=Path, default=data / "happy-or-sad" / "hidden")
    args = parser.parse_args(argv)
    if not any(args.demo.glob("*/result.json")):
        print(f"no results under {args.demo}: run `make demo` first", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="report-shots-") as folder, \
            sync_playwright() as playwright:
        site = Path(folder)
        render_site(args.demo, site, args.hidden if args.hidden.is_dir() else None)
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=LAUNCH_ARGS)
        for name, student, page_name, width, height, target in SHOTS:
            context = browser.new_context(viewport={"width": width, "height": height},
                                          offline=True)
            path = site / student / page_name if student else site / page_name
            png = shoot(context.new_page(), path.as_uri(), target)
            size = save_small(png, args.out / name)
            print(f"{args.out / name}: {size // 1024} KB")
            context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
