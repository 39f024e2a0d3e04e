"""End to end on real TensorFlow runs: the references score full marks, grading is
deterministic, the unsandboxed fallback gives the same grade, and a lesson-style notebook
whose last cell kills its own kernel still counts as having run to the end."""

from __future__ import annotations

import textwrap
from pathlib import Path

import components
import nbformat
import pytest
from two_at_a_time import run_two_at_a_time

from grader.grade import GradeOptions, grade_file
from grader.results.result import GradeResult

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "happy_or_sad"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def graded(spec, data, tmp_path_factory: pytest.TempPathFactory) -> dict[str, GradeResult]:  # noqa: ANN001
    lesson = tmp_path_factory.mktemp("lesson") / "lesson_style.ipynb"
    reference = nbformat.read(REFERENCE / "solution.ipynb", as_version=4)
    code = [c for c in reference.cells if c.cell_type == "code"]
    # cells form: no graded function, training at top level, then the lessons' last cell
    body = textwrap.dedent(code[3].source.split("\n", 1)[1]).replace(
        "return history", "final = history")
    cells = code[:3] + [nbformat.v4.new_code_cell(body),
                        nbformat.v4.new_code_cell("import os, signal\n"
                                                  "os.kill(os.getpid(), signal.SIGKILL)")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), lesson)
    return run_two_at_a_time({
        "module": lambda: grade_file(REFERENCE / "solution.py", spec, data),
        "module_again": lambda: grade_file(REFERENCE / "solution.py", spec, data),
        "notebook": lambda: grade_file(REFERENCE / "solution.ipynb", spec, data),
        "notebook_no_sandbox": lambda: grade_file(REFERENCE / "solution.ipynb", spec, data,
                                                  GradeOptions(no_sandbox=True)),
        "lesson": lambda: grade_file(lesson, spec, data),
    })


@pytest.mark.parametrize("name", ["module", "notebook", "notebook_no_sandbox"])
def test_reference_scores_full_marks(graded: dict[str, GradeResult], name: str) -> None:
    result = graded[name]
    failing = [(c.id, c.message) for c in result.checks if c.status != "passed"]
    assert failing == []
    assert result.status == "graded"
    assert result.score == result.max_score == 100
    assert result.metrics["hidden_accuracy"] >= 0.95
    assert result.metrics["stopped_by_callback"] is not None
    assert result.metrics["stop_epoch"] == result.metrics["first_epoch_above_threshold"] < 15


@pytest.mark.parametrize("name", ["module", "notebook"])
def test_the_phases_of_a_grading_fit_inside_its_total(graded: dict[str, GradeResult],
                                                       name: str) -> None:
    """result.timings says where a grading's time went (benchmarks/overhead.py prints it):
    phases that follow one another cannot add up to more than the whole, and the run's
    start-up (to the runner's first record) is part of the run."""
    t = graded[name].timings
    phases = ("stage", "run", "score", "callback_wait", "checks")
    assert all(t[p] >= 0 for p in phases) and t["run"] > 1  # a real training ran
    assert sum(t[p] for p in phases) <= t["total"] + 0.05  # each is rounded to 0.01 s
    assert 0 <= t["start_up"] < t["run"]


def test_grading_twice_gives_identical_scores_and_metrics(
        graded: dict[str, GradeResult]) -> None:
    first, second = graded["module"], graded["module_again"]
    assert [(c.id, c.score, c.message) for c in first.checks] == \
        [(c.id, c.score, c.message) for c in second.checks]
    assert first.metrics == second.metrics
    assert first.details["epochs"] == second.details["epochs"]


def test_sandbox_is_recorded(graded: dict[str, GradeResult]) -> None:
    components.bubblewrap()
    assert graded["module"].sandbox == graded["notebook"].sandbox == "bubblewrap"
    assert graded["notebook_no_sandbox"].sandbox == "none"
    assert any("WITHOUT a sandbox" in n for n in graded["notebook_no_sandbox"].notes)
    assert graded["notebook"].metrics == graded["notebook_no_sandbox"].metrics


def test_course_addresses_are_served_offline(graded: dict[str, GradeResult]) -> None:
    assert "served from the grader's local copy" in graded["notebook"].stderr_tail + \
        graded["notebook"].stdout_tail


def test_last_cell_killing_its_kernel_counts_as_the_end(
        graded: dict[str, GradeResult]) -> None:
    result = graded["lesson"]
    checks = {c.id: c for c in result.checks}
    assert checks["runs"].status == "passed"
    assert "stopped its own kernel" in checks["runs"].message
    assert checks["returns_accuracy"].status == "not_applicable"
    assert checks["callback_stop"].status == "passed"
    assert checks["hidden_accuracy"].status == "passed"
    assert result.max_score == 95
