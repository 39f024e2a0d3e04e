"""grader.cli.progress: the plain-line mode for logs, the bar for terminals, and quiet."""

from __future__ import annotations

import io

from grader.cli import progress
from grader.results.result import GradeResult


def _result(student: str, score: float, status: str = "graded") -> GradeResult:
    return GradeResult(submission=f"{student}.py", student=student, exercise="happy-or-sad",
                       status=status, score=score, max_score=100.0)


def test_lines_count_cached_and_fresh_gradings() -> None:
    stream = io.StringIO()
    lines = progress.Lines(stream)
    lines.finished(_result("ada", 100), reused=True)
    lines.started(total=4, to_grade=2)
    lines.finished(_result("bo", 80), reused=False)
    lines.finished(_result("cy", 0, "timeout"), reused=False)
    assert stream.getvalue().splitlines() == [
        "4 submission(s): 2 to grade, 1 already graded (cached), 1 not gradable",
        "[2/4] graded bo: 80 / 100",
        "[3/4] graded cy: 0 / 100 (timeout)",
    ]


def test_bar_shows_the_last_score() -> None:
    bar = progress.Bar()
    bar.progress.console.file = io.StringIO()
    bar.finished(_result("ada", 100), reused=True)
    bar.started(total=3, to_grade=2)
    bar.finished(_result("bo", 80), reused=False)
    task = bar.progress.tasks[0]
    assert (task.completed, task.total) == (1, 2)
    assert task.fields["last"] == "last: bo: 80 / 100"
    bar.close()


def test_choose_quiet_and_non_terminal(monkeypatch) -> None:  # noqa: ANN001
    assert isinstance(progress.choose(quiet=True), progress.Quiet)
    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert isinstance(progress.choose(quiet=False), progress.Lines)
