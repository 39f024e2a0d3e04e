"""Looking for the grader from inside the run is visible (issue 19).

Six hostile submissions (tests/security/submissions/seek_*) each train a small model as an
honest one does, plus one trick that finds or fools the grader without naming it: a
callback walking the call stack and rewriting the logs it finds there, a callback with its
own __deepcopy__, the recorder looked up in sys.modules under a name built from pieces, a
stack walk hidden in a `%%capture` cell, a cell the old reader could not parse because of
a `%` continuing an expression, and a Mean metric compiled under the name 'accuracy'.
They are graded as one batch with the honest submission. Before the reader saw these, every
one of them was graded without a word in `result.review` about its trick (the two
notebooks' callbacks were not even found in the code).

What must hold: each result's review names what was seen, and no check resting on the
run's account (for the metric: on the recorded accuracy) is "corroborated"; the honest
submission in the same batch still scores full marks with nothing to review.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from grader.checks import REGISTRY
from grader.results.result import CheckResult, GradeResult

pytestmark = pytest.mark.slow

SUBMISSIONS = Path(__file__).parent / "submissions"
ACCURACY_CLAIMS = {"training", "callback"}


@dataclasses.dataclass(frozen=True)
class Seek:
    kind: str  # what the review must say was seen …
    detail: str  # … and how
    claims: set[str] | None = None  # the claims it doubts (None: every one)


STACK = "the code inspects the call stack ("
MODULES = "the code looks up loaded modules ("
EXPECTED = {
    "seek_frame_logs": Seek(STACK, "sys._getframe"),
    "seek_deepcopy": Seek("the callback StopAtDesiredAccuracy changes how the grader copies "
                          "it or reads its attributes (", "__deepcopy__"),
    "seek_modules_pieces": Seek(MODULES, "sys.modules"),
    "seek_capture": Seek(STACK, "sys._getframe"),
    "seek_modulo_cell": Seek(MODULES, "sys.modules"),
    "seek_mean_accuracy": Seek("the code compiles its own metric under the name 'accuracy' (",
                               "class GoodEnough", ACCURACY_CLAIMS),
}


@pytest.fixture(scope="module")
def graded(issue_19_batch: dict[str, GradeResult]) -> dict[str, GradeResult]:
    """Graded with the other attacks of issue 19 (tests/security/conftest.py)."""
    return issue_19_batch


def _resting_on(check: CheckResult, claims: set[str] | None) -> bool:
    rests = set(REGISTRY[check.id].claims) if check.id in REGISTRY else set()
    return bool(rests) if claims is None else bool(rests & claims)


def test_every_seek_submission_has_a_row() -> None:
    assert {p.stem for p in SUBMISSIONS.glob("seek_*")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_looking_for_the_grader_is_named_in_the_review(graded: dict[str, GradeResult],
                                                       name: str) -> None:
    result, seek = graded[name], EXPECTED[name]
    assert result.status == "graded", (result.error, result.stdout_tail[-2000:])
    assert any(seek.kind in reason and seek.detail in reason.split(seek.kind, 1)[1]
               for reason in result.review), result.review


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nothing_resting_on_what_it_could_reach_is_corroborated(
        graded: dict[str, GradeResult], name: str) -> None:
    result, seek = graded[name], EXPECTED[name]
    doubted = [c for c in result.checks if _resting_on(c, seek.claims)]
    assert doubted, [c.id for c in result.checks]
    for check in doubted:
        assert check.trust != "corroborated", (check.id, check.evidence)
        if check.status not in ("not_judged", "not_applicable"):  # judged: it says why
            assert check.trust in ("review", "not_trusted"), (check.id, check.trust)


def test_the_own_metric_leaves_the_rest_of_the_account_corroborated(
        graded: dict[str, GradeResult]) -> None:
    """The recorded accuracy is what the metric changes; the loss the code passes is read
    from the code as before."""
    loss = next(c for c in graded["seek_mean_accuracy"].checks if c.id == "loss")
    assert loss.trust == "corroborated", loss.evidence


def test_the_lookup_really_found_the_recorder_in_the_run(
        graded: dict[str, GradeResult]) -> None:
    """Positive control: the trick works inside a run, so only the source reading sees it."""
    assert "SEEK-GRADED True" in graded["seek_modules_pieces"].stdout_tail


def test_the_honest_submission_still_scores_full_marks(graded: dict[str, GradeResult]) -> None:
    honest = graded["honest"]
    assert honest.score == honest.max_score == 100, (honest.error, honest.stdout_tail[-2000:])
    assert honest.review == []
