"""hidden_accuracy: scaled from 0 at chance to full marks at the spec's threshold."""

from __future__ import annotations

from typing import Any

import pytest

from grader import exercise
from grader.checks.base import FAILED, NOT_JUDGED, PARTIAL, PASSED, CheckContext
from grader.checks.hidden import hidden_accuracy
from grader.run.trace import Epoch, FitCall, Trace
from grader.scoring.types import Layer, Scoring

SPEC = exercise.load("happy-or-sad")
TRAINED = Trace(fits=(FitCall(0, 15, 8, 0, (), (Epoch(1, {"accuracy": 1.0}),), None, None,
                              True, None),), model_saved=True)


def params() -> dict[str, Any]:
    item = SPEC.rubric_item("hidden_accuracy")
    assert item is not None
    return item.params


def scored(accuracy: float | None, **kw: Any) -> CheckContext:
    scoring = Scoring(model_loaded=True, hidden_accuracy=accuracy, hidden_images=40, **kw)
    return CheckContext(TRAINED, scoring, SPEC, "finished")


def test_rubric_params_are_chance_0_5_and_full_marks_at_0_9() -> None:
    assert params() == {"chance": 0.5, "full_marks_at": 0.9}


@pytest.mark.parametrize(("accuracy", "status", "fraction"), [
    (0.3, FAILED, 0.0),
    (0.5, FAILED, 0.0),
    (0.6, FAILED, 0.0),  # 24 of 40: guessing does as well once in seven tries
    (0.65, PARTIAL, 0.375),
    (0.7, PARTIAL, 0.5),
    (0.85, PARTIAL, 0.875),
    (0.9, PASSED, 1.0),
    (0.975, PASSED, 1.0),
    (1.0, PASSED, 1.0),
])
def test_accuracy_scales_linearly_from_chance(accuracy: float, status: str,
                                              fraction: float) -> None:
    verdict = hidden_accuracy(scored(accuracy), params())

    assert verdict.status == status
    assert verdict.fraction == pytest.approx(fraction)


def test_partial_message_shows_accuracy_count_and_target() -> None:
    verdict = hidden_accuracy(scored(0.7), params())

    assert verdict.message == ("70.0% of 40 hidden images classified correctly; full marks "
                               "from 90%")
    assert "train until the callback stops it" in verdict.hint
    assert (verdict.found, verdict.expected) == (0.7, 0.9)


def test_chance_level_gets_the_guessing_hint() -> None:
    verdict = hidden_accuracy(scored(0.5), params())

    assert verdict.message == ("50.0% of 40 hidden images classified correctly, which "
                               "guessing reaches (up to 63.0% on 40 images); full marks "
                               "from 90%")
    assert "barely beats guessing" in verdict.hint


NORMALISED = (Layer("Conv2D", "conv2d", None, 16, "relu", None, 448),
              Layer("BatchNormalization", "batch_normalization", None, None, None, None, 64),
              Layer("Dense", "dense", 1, None, "sigmoid", None, 513))


def test_a_model_guessing_on_its_own_training_images_is_told_so() -> None:
    """The last epoch recorded 1.000 (TRAINED) and the scorer measured the saved model at
    50 % on the training images: the rescale and the directory are not the cause, and a
    model with BatchNormalization is told why it predicts differently from how it
    trained (issue 20, item 4; the sample batchnorm_collapse.py)."""
    with_norm = hidden_accuracy(scored(0.5, train_accuracy=0.5, layers=NORMALISED), params())
    assert with_norm.status == FAILED
    assert with_norm.hint == (
        "the saved model guesses on the training images too (50%), although its last "
        "epoch recorded 100.0%: its BatchNormalization layers predict with running "
        "averages of the batches they saw, which a short training leaves far from the "
        "batches' own statistics; the course's model has no BatchNormalization")
    without = hidden_accuracy(scored(0.5, train_accuracy=0.55, layers=NORMALISED[::2]),
                              params())
    assert without.hint.startswith("the saved model guesses on the training images too "
                                   "(55%)")
    assert "the last training steps moved it away" in without.hint


@pytest.mark.parametrize("train_accuracy", [None, 0.61, 0.98])
def test_a_model_that_knows_its_training_images_keeps_the_guessing_hint(
        train_accuracy: float | None) -> None:
    """Measured above chance + 0.1 on the training images (or not measured), the model
    did not collapse: the usual causes (rescale, directory, no training) are the hint."""
    verdict = hidden_accuracy(scored(0.5, train_accuracy=train_accuracy, layers=NORMALISED),
                              params())
    assert verdict.hint.startswith("the model barely beats guessing on new images")


@pytest.mark.parametrize(("accuracy", "status"), [
    (0.483, FAILED), (0.517, FAILED), (0.575, FAILED), (0.58, PARTIAL)])
def test_what_guessing_reaches_scores_nothing_whatever_split_was_drawn(
        accuracy: float, status: str) -> None:
    """An untrained model on 120 hidden images scores 0.48 to 0.52 depending on the
    course's split: never a point for that, the same grade on every split."""
    scoring = Scoring(model_loaded=True, hidden_accuracy=accuracy, hidden_images=120)
    verdict = hidden_accuracy(CheckContext(TRAINED, scoring, SPEC, "finished"), params())
    assert verdict.status == status
    if status == PARTIAL:
        assert verdict.fraction == pytest.approx(0.2)  # scaled from chance, as ever
    else:
        assert "guessing reaches (up to 57.5% on 120 images)" in verdict.message


def test_full_marks_message_has_no_target() -> None:
    verdict = hidden_accuracy(scored(0.95), params())

    assert verdict.message == "95.0% of 40 hidden images classified correctly"
    assert verdict.hint == ""


def test_no_hidden_accuracy_is_not_judged() -> None:
    verdict = hidden_accuracy(scored(None, evaluation_error="no hidden images found"), params())
    assert verdict.status == NOT_JUDGED and verdict.fraction == 0.0
    assert verdict.message == "not judged: no hidden images found"

    assert hidden_accuracy(scored(None), params()).message == \
        "not judged: no hidden images could be scored"


def test_no_model_is_not_judged() -> None:
    ctx = CheckContext(Trace(), Scoring(), SPEC, "finished")
    verdict = hidden_accuracy(ctx, params())

    assert verdict.status == NOT_JUDGED
    assert verdict.message == "not judged: the code never called fit"
