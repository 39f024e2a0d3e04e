"""Render and write the HTML pages: a submission's two views and the class summary.

Why a Content-Security-Policy in every page: the pages show hostile text (student names,
outputs, layer names). Jinja2's autoescape is the first defence; the policy is the second:
no request may leave the file (default-src 'none'), and the only script that may run is
the summary's own, allowed by its hash, so even an escaping slip could not run injected
code or fetch anything.

Why every value is made inert on its way out (the environment's `finalize`): text from a
run carries control characters — ESC and CSI sequences, BEL, NUL, a lone \r — that
autoescape leaves alone. They reach whoever opens a report with a terminal tool (`cat`,
`less`, `grep`, a diff of two reports) as live escape sequences, and a browser shows some
and hides others. So every `{{ … }}` of every template goes through grader.terminal.inert,
as the terminal output already does: one place no template can forget. Each such
character is written as its visible escape (ESC as `\x1b`), not dropped: the page says the
run printed one, reads the same as the grader's terminal lines, and a dropped character
could join two words into one the run chose. Newline and tab stay (they lay out <pre>).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.resources
from collections.abc import Mapping
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, Undefined, select_autoescape
from markupsafe import Markup

from grader.exercise.spec import ExerciseSpec, ReferenceLayer
from grader.files import atomic_write
from grader.reports import summary, view
from grader.results.layout import CSV, OutputLayout
from grader.results.result import GradeResult
from grader.terminal import inert

REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def templates_dir() -> Path:
    """The report templates: the repository's top-level templates/ folder, installed inside
    the wheel as the package grader.templates."""
    return Path(str(importlib.resources.files("grader.templates")))


def points(value: object) -> str:
    """Points as people write them: 65, 2.5, not 65.0."""
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def shown(value: object) -> object:
    """A value as a template writes it out: text with its control characters made visible
    escapes (grader.terminal.inert). Markup (a macro's output, the page's own script) stays
    markup; numbers and undefined values are left for Jinja2 to write as before. Runs
    before autoescape, which then escapes the result."""
    if value is None or isinstance(value, bool | int | float | Undefined):
        return value
    if hasattr(value, "__html__"):
        return Markup(inert(value.__html__()))
    return inert(value)


def environment() -> Environment:
    """The Jinja2 environment every page is rendered in: autoescaped, so every string
    from a submission is text, never markup, and every value written out is inert."""
    env = Environment(loader=FileSystemLoader(templates_dir()),
                      autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True, finalize=shown)
    env.filters["points"] = points
    return env


@functools.cache
def _shared() -> Environment:
    """The environment this module renders with, made once per process: a Jinja2
    environment compiles each template on its first use (~20 ms each) and keeps it, so
    a new one per page made every report cost ~60 ms, in the service on each request."""
    return environment()


def render(result: GradeResult, view_name: str = "student",
           reference_layers: tuple[ReferenceLayer, ...] = (),
           hidden_dir: Path | None = None) -> str:
    """One submission's report; `view_name` is "student" or "instructor" (ValueError
    otherwise). `reference_layers` (the spec's) add the reference column of the
    architecture table; `hidden_dir` lets the instructor view show the misclassified
    hidden images."""
    values = view.context(result, view_name, reference_layers, hidden_dir)
    return _shared().get_template("report.html.j2").render(csp=REPORT_CSP, **values)


def write_submission(result: GradeResult, layout: OutputLayout,
                     spec: ExerciseSpec | None = None,
                     hidden_dir: Path | None = None) -> Path:
    """A student's folder: result.json, report.html (the student view) and
    instructor.html; each written atomically, so a reader never sees half of one.
    Returns the student report's path."""
    reference = spec.reference_layers if spec is not None else ()
    result.write(layout.result(result.student))
    student = layout.student_report(result.student)
    atomic_write(student, render(result, "student", reference))
    atomic_write(layout.instructor_report(result.student),
                 render(result, "instructor", reference, hidden_dir))
    return student


def render_summary(results: list[GradeResult], extra_links: dict[str, str] | None = None,
                   similar_to: Mapping[str, list[tuple[str, float]]] | None = None) -> str:
    """The class summary; its links are relative to the output folder (the CSV, each
    student's reports, and `extra_links`: label → relative path)."""
    env = _shared()
    script = env.get_template("summary.js").render()
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = f"{REPORT_CSP}; script-src 'sha256-{digest}'"
    # The script is the project's own template file, never data: safe to insert unescaped.
    return env.get_template("summary.html.j2").render(
        csp=csp, script=Markup(script),
        **summary.context(results, CSV, extra_links, similar_to))


def write_summary(results: list[GradeResult], layout: OutputLayout,
                  extra_links: dict[str, str] | None = None,
                  similar_to: Mapping[str, list[tuple[str, float]]] | None = None) -> Path:
    """index.html: the class at a glance, each row linking to its two reports."""
    atomic_write(layout.summary, render_summary(results, extra_links, similar_to))
    return layout.summary
