"""The callback is tested apart from the student's run (issue 19, class 1).

Four hostile submissions (tests/security/submissions/apart_*.py), each with a callback that
is wrong in real training (it stops at a fixed epoch) and that tries to pass the test all
the same, are graded as one batch with the honest submission. Each got full marks for
`callback_behaviour` when the test ran inside the student's process: the test played to
a deep copy the student could replace; its runs of epochs sat in the run's config; its
records could be added to after it; and its stand-in model told it apart from training.
Now the class is cut out of the source and driven through real training, on the
student's own saved model, in a sandbox of its own.

A fifth (apart_edits_logs, class 3) edits the epoch's logs in place ahead of the grader's
recorder; its callback_stop passed on the edited accuracy. The recorder now reads the logs
first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.results.result import GradeResult

pytestmark = pytest.mark.slow

SUBMISSIONS = Path(__file__).parent / "submissions"
ATTACKS = ("apart_deepcopy_decoy", "apart_reads_config", "apart_adds_records",
           "apart_detects_harness")


@pytest.fixture(scope="module")
def graded(issue_19_batch: dict[str, GradeResult]) -> dict[str, GradeResult]:
    """Graded with the other attacks of issue 19 (tests/security/conftest.py)."""
    return issue_19_batch


def _check(result: GradeResult, check_id: str) -> object:
    return next(c for c in result.checks if c.id == check_id)


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_callback_wrong_in_training_never_passes_the_test(
        graded: dict[str, GradeResult], attack: str) -> None:
    result = graded[attack]
    behaviour = _check(result, "callback_behaviour")
    assert result.status == "graded", (result.status, result.error)
    assert behaviour.status != "passed", behaviour.message  # type: ignore[attr-defined]
    assert behaviour.score == 0, behaviour.message  # type: ignore[attr-defined]
    # real training stopped at its fixed epoch: the stop check is not fooled either
    stop = _check(result, "callback_stop")
    assert stop.status != "passed", stop.message  # type: ignore[attr-defined]


def test_the_runs_of_epochs_are_not_in_the_runs_config(
        graded: dict[str, GradeResult]) -> None:
    output = graded["apart_reads_config"].stdout_tail
    assert "EPOCH-RUNS-LEAKED" not in output, output[-1000:]


def test_the_class_is_tested_fresh_not_a_copy_the_student_chose(
        graded: dict[str, GradeResult]) -> None:
    behaviour = _check(graded["apart_deepcopy_decoy"], "callback_behaviour")
    # the fixed-epoch callback stops the first run of epochs at its third epoch
    assert behaviour.status == "failed"  # type: ignore[attr-defined]
    assert "myCallback stopped at epoch 3" in behaviour.message  # type: ignore[attr-defined]


def test_records_the_run_adds_are_not_read(graded: dict[str, GradeResult]) -> None:
    result = graded["apart_adds_records"]
    tests = result.details["callback_tests"]
    assert tests and all(t["stage"] == "play" for t in tests)
    # what the harness saw: the broken callback stops at epoch index 1 whenever a run lasts
    assert {t["stopped_at"] for t in tests} <= {0, 1}, tests


def test_the_test_trains_the_students_own_model(graded: dict[str, GradeResult]) -> None:
    behaviour = _check(graded["apart_detects_harness"], "callback_behaviour")
    assert behaviour.status == "failed", behaviour.message  # type: ignore[attr-defined]


def test_logs_are_recorded_before_any_student_callback_can_edit_them(
        graded: dict[str, GradeResult]) -> None:
    """Editor raises the epoch's accuracy to 1.0 ahead of the honest myCallback, which stops
    there. The recorder, first of the fit's callbacks, has already recorded Keras's value
    (below 0.999), so the stop is judged early; the callback class itself is right."""
    result = graded["apart_edits_logs"]
    stop = _check(result, "callback_stop")
    assert stop.status == "failed", stop.message  # type: ignore[attr-defined]
    assert "myCallback stopped training at epoch" in stop.message  # type: ignore[attr-defined]
    epochs = result.details["epochs"]
    assert epochs and epochs[-1]["accuracy"] < 0.999  # Keras's own value at the stop, not the edit
    assert _check(result, "callback_behaviour").status == "passed"  # type: ignore[attr-defined]


def test_the_honest_callback_passes(graded: dict[str, GradeResult]) -> None:
    honest = graded["honest"]
    assert _check(honest, "callback_behaviour").status == "passed"  # type: ignore[attr-defined]
    assert honest.score == honest.max_score == 100
