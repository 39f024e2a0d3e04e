"""Each exercise added for the week has a reference solution that scores full marks.

One grading per exercise, shared by the tests through a session fixture (about 80 s of
training in all on 2 cores, two at a time: the horse references use batches of 16 for 4
epochs). Each goes through `grader verify`'s own code (grader.classwork.verify, one seed
and the course's secret), the command an instructor's CI runs on their exercise: this
repository's CI verifies its built-in exercises the same way.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from two_at_a_time import run_two_at_a_time

from grader import exercise
from grader.classwork.verify import Verification, verify
from grader.cli import main
from grader.exercise import datasource
from grader.reports import render, write_submission
from grader.results.layout import OutputLayout
from grader.results.result import GradeResult

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = {
    "happy-or-sad": "happy_or_sad/solution.py",
    "horse-or-human": "horse_or_human/solution.py",
    "horse-or-human-validation": "horse_or_human_validation/solution.py",
    "horse-or-human-150": "horse_or_human_150/solution.py",
    "happy-or-sad-2022": "happy_or_sad_2022/solution.ipynb",
    "happy-or-sad-2024": "happy_or_sad_2024/solution.ipynb",
    "rock-paper-scissors": "rock_paper_scissors/solution.py",
}


# The 2024 notebook leaves the model to the student: no reference column, as a difference
# from the course's own model would read as a fault.
OWN_DESIGN = {"happy-or-sad-2024"}


@pytest.fixture(scope="session")
def verifications() -> dict[str, Verification]:
    """Every reference verified once (one seed, the course's secret), two at a time; the
    data sets are drawn first, one after another, since two specs may share one."""
    jobs = {}
    for name, path in REFERENCES.items():
        spec = exercise.load(name)
        datasource.resolve(spec)
        jobs[name] = functools.partial(verify, spec, [ROOT / "reference" / path], seeds=1,
                                       secrets=1, jobs=1)
    return run_two_at_a_time(jobs)


@pytest.fixture(scope="session")
def reference_results(verifications: dict[str, Verification]) -> dict[str, GradeResult]:
    return {name: outcome.gradings[0].result for name, outcome in verifications.items()}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_grader_verify_passes_every_built_in_reference(
        verifications: dict[str, Verification], name: str) -> None:
    outcome = verifications[name]
    assert len(outcome.gradings) == 1 and outcome.failures() == []
    # the margins are measured against the spec's own bars, whatever they are
    assert {m.name for m in outcome.margins} >= {"CPU time"}


def graded(results: dict[str, GradeResult], name: str) -> GradeResult:
    return results[name]


@pytest.mark.parametrize("name", list(REFERENCES))
def test_the_references_own_report_shows_no_difference(
        reference_results: dict[str, GradeResult], name: str, tmp_path: Path) -> None:
    """Graded for real and written the way `grader batch` writes it (from the result in
    memory); read back from result.json it renders to the very same page."""
    result = graded(reference_results, name)
    spec = exercise.load(name)
    layout = OutputLayout(tmp_path)
    for view in ("student", "instructor"):
        write_submission(result, layout, spec)
        written = (layout.student_report(result.student) if view == "student"
                   else layout.instructor_report(result.student)).read_text(encoding="utf-8")
        reloaded = GradeResult.from_json(layout.result(result.student).read_text())
        assert render(reloaded, view, spec.reference_layers) == written
        assert '<tr class="diff">' not in written       # no architecture row differs
        assert '<tr class="same">' in written
        assert "✘ differs" not in written and "not recorded" not in written
        if name in OWN_DESIGN:
            assert not spec.reference_layers and 'class="ref"' not in written
        else:
            assert spec.reference_layers, f"{name} has no reference layers to compare with"
            assert written.count('<tr class="same">') == len(spec.reference_layers)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_reference_scores_full_marks(reference_results: dict[str, GradeResult],
                                     name: str) -> None:
    result = graded(reference_results, name)
    lost = {c.id: c.message for c in result.checks if c.score < c.max_score}
    assert result.status == "graded", result.error
    assert result.score == result.max_score == 100, lost


def test_lesson_3_reference_records_validation(reference_results: dict[str, GradeResult]
                                               ) -> None:
    result = graded(reference_results, "horse-or-human-validation")
    checks = {c.id: c for c in result.checks}
    assert checks["validation_generator"].status == "passed"
    assert "/tmp/validation-horse-or-human/" in checks["validation_generator"].message
    assert checks["validation_accuracy"].status == "passed"
    assert checks["train_validation_gap"].max_score == 0
    assert all("val_accuracy" in epoch for epoch in result.details["epochs"])


def test_2024_reference_runs_without_the_course_unittests(
        reference_results: dict[str, GradeResult]) -> None:
    result = graded(reference_results, "happy-or-sad-2024")
    checks = {c.id: c for c in result.checks}
    assert checks["runs"].status == "passed", checks["runs"].message
    assert any("unittests" in note and "not public" in note for note in result.compat_notes)
    assert "skipped (the course's unittests module is not public" in result.stdout_tail
    for check_id in ("dataset_directory", "dataset_image_size", "dataset_label_mode",
                     "dataset_rescaling", "callback_stop"):
        assert checks[check_id].status == "passed", checks[check_id].message


def test_self_check_scores_on_the_public_split(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    reference = ROOT / "reference" / REFERENCES["horse-or-human-150"]
    assert main(["check", str(reference), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "scored on the public split" in out and "every check passed" in out
    text = (tmp_path / "solution" / "result.json").read_text()
    result = GradeResult.from_json(text)
    hidden = next(c for c in result.checks if c.id == "hidden_accuracy")
    assert "of 64 hidden images" in hidden.message  # the 64 public images, not the 100 hidden
    assert any("self-check" in note for note in result.notes)


def test_2024_is_scored_with_the_rescaling_it_trained_with(
        reference_results: dict[str, GradeResult]) -> None:
    result = graded(reference_results, "happy-or-sad-2024")
    assert result.details["evaluated_at"]["rescale"] == pytest.approx(1 / 255)
