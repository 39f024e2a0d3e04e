"""Render and write the HTML pages: a submission's two views and the class summary.

Why a Content-Security-Policy in every page: the pages show hostile text (student names,
outputs, layer names). Jinja2's autoescape is the first defence; the policy is the second:
no request may leave the file (default-src 'none'), and the only script that may run is
the summary's own, allowed by its hash, so even an escaping slip could not run injected
code or fetch anything.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from grader.reports import summary, view
from grader.reports.expected import ExpectedValues
from grader.result import GradeResult

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def points(value: object) -> str:
    """Points as people write them: 65, 2.5, not 65.0."""
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(["html", "j2"]),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["points"] = points
    return environment


def render(result: GradeResult, view: str = "student", expected: ExpectedValues | None = None,
           hidden_dir: Path | None = None) -> str:
    """One submission's report; view is "student" or "instructor" (ValueError otherwise).

    `expected` adds the comparison columns (reference architecture, expected settings);
    `hidden_dir` lets the instructor view show the misclassified hidden images.
    """
    values = _view_context(result, view, expected, hidden_dir)
    return _environment().get_template("report.html.j2").render(csp=REPORT_CSP, **values)


def _view_context(result: GradeResult, name: str, expected: ExpectedValues | None,
                  hidden_dir: Path | None) -> dict[str, object]:
    return view.context(result, name, expected, hidden_dir)


def _atomic_write(path: Path, text: str) -> None:
    """Temp file in the same folder, then os.replace; named per process and thread so two
    writers never share a temp file, and created with the usual umask (not mkstemp's 0600)
    so the report stays readable by whoever serves the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write(result: GradeResult, path: Path, view: str = "student",
          expected: ExpectedValues | None = None, hidden_dir: Path | None = None) -> None:
    """Write one view atomically: a reader never sees half a report."""
    _atomic_write(path, render(result, view, expected, hidden_dir))


def write_views(result: GradeResult, folder: Path, expected: ExpectedValues | None = None,
                hidden_dir: Path | None = None) -> dict[str, Path]:
    """folder/report.html (student view) and folder/instructor.html (instructor view)."""
    paths = {"student": folder / "report.html", "instructor": folder / "instructor.html"}
    for name, path in paths.items():
        write(result, path, name, expected, hidden_dir if name == "instructor" else None)
    return paths


def render_summary(results: list[GradeResult], csv_name: str = "results.csv",
                   exports: dict[str, str] | None = None) -> str:
    environment = _environment()
    script = environment.get_template("summary.js").render()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = f"{REPORT_CSP}; script-src 'sha256-{digest}'"
    # The script is the project's own template file, never data: safe to insert unescaped.
    return environment.get_template("summary.html.j2").render(
        csp=csp, script=Markup(script), **summary.context(results, csv_name, exports))


def write_summary(results: list[GradeResult], out_dir: Path, csv_name: str = "results.csv",
                  exports: dict[str, str] | None = None) -> Path:
    """out_dir/index.html: the class at a glance, each row linking to its two reports."""
    path = out_dir / "index.html"
    _atomic_write(path, render_summary(results, csv_name, exports))
    return path
