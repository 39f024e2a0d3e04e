"""grader.grade.run_rubric: every rubric item's check run and scored with the spec's points."""

from __future__ import annotations

import dataclasses

from grader import exercise
from grader.checks import REGISTRY
from grader.checks.base import FAILED, NOT_APPLICABLE, NOT_JUDGED, PARTIAL, PASSED, CheckContext
from grader.exercise import RubricItem
from grader.grade import run_rubric
from grader.results.result import CheckResult
from grader.run.callback_test import CallbackTest, CallbackTestOutcome
from grader.run.trace import (
    CompileCall,
    EntryPoint,
    Epoch,
    Execution,
    FitCall,
    FlowCall,
    Generator,
    Trace,
)
from grader.scoring.types import Layer, Scoring

SPEC = exercise.load("happy-or-sad")


def lesson_layers(last: Layer) -> tuple[Layer, ...]:
    conv = [Layer("Conv2D", f"conv2d_{i}", None, 16 * 2**i, "relu", None, 0) for i in range(3)]
    pool = [Layer("MaxPooling2D", f"pool_{i}", None, None, None, None, 0) for i in range(3)]
    blocks = tuple(x for pair in zip(conv, pool, strict=True) for x in pair)
    return blocks + (Layer("Flatten", "flatten", None, None, None, None, 0),
                     Layer("Dense", "dense", 512, None, "relu", None, 0), last)


SIGMOID = Layer("Dense", "dense_1", 1, None, "sigmoid", None, 0)
SOFTMAX = Layer("Dense", "dense_1", 2, None, "softmax", None, 0)

GOOD_TRACE = Trace(
    generators=(Generator(0, 1 / 255, {"rescale": 1 / 255}),),
    flows=(FlowCall(0, 0, "/tmp/h-or-s", (150, 150), 10, "binary", 80,
                    {"happy": 0, "sad": 1}, None),),
    compiles=(CompileCall("binary_crossentropy", "RMSprop", 0.001, ["accuracy"]),),
    fits=(FitCall(0, 15, 8, 0, ("myCallback",),
                  (Epoch(1, {"accuracy": 0.6}), Epoch(2, {"accuracy": 0.95}),
                   Epoch(3, {"accuracy": 1.0})), "myCallback", 3, True, None),),
    entry_point=EntryPoint("train_happy_sad_model", "student", "float", 1.0, None),
    model_saved=True,
    execution=Execution(kind="notebook", ran_to_end=True, code_cells=6, cells_run=6))
# what the callback test, run apart from the run, reports for a correct myCallback (no runs
# of epochs are played in these tests, so one record says it was tested)
TESTED = CallbackTestOutcome((CallbackTest("myCallback", 0, None, None),), "finished")


def good_scoring(last: Layer = SIGMOID, hidden: float = 0.95) -> Scoring:
    return Scoring(model_loaded=True, input_shape=(None, 150, 150, 3),
                   layers=lesson_layers(last), hidden_accuracy=hidden, hidden_images=40,
                   train_accuracy=1.0)


def by_id(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.id: r for r in results}


def test_every_check_in_the_spec_is_registered() -> None:
    for item in SPEC.rubric:
        assert item.id in REGISTRY, item.id
        assert REGISTRY[item.id].id == item.id and callable(REGISTRY[item.id].function)


def test_one_result_per_rubric_item_in_spec_order_with_the_registered_title() -> None:
    results = run_rubric(CheckContext(GOOD_TRACE, good_scoring(), SPEC, "finished",
                                      callback_tests=TESTED))[0]

    assert [r.id for r in results] == [item.id for item in SPEC.rubric]
    assert all(r.title == REGISTRY[r.id].title for r in results)


def test_a_perfect_submission_scores_every_point_of_the_spec() -> None:
    results = run_rubric(CheckContext(GOOD_TRACE, good_scoring(), SPEC, "finished",
                                      callback_tests=TESTED))[0]

    assert {r.id: r.status for r in results} == {item.id: PASSED for item in SPEC.rubric}
    assert all(r.passed is True and r.score == r.max_score for r in results)
    assert [r.max_score for r in results] == [item.points for item in SPEC.rubric]
    assert sum(r.score for r in results) == SPEC.max_score == 100


def test_partial_verdicts_score_their_fraction_of_the_points() -> None:
    results = by_id(run_rubric(CheckContext(GOOD_TRACE, good_scoring(SOFTMAX, hidden=0.7),
                                            SPEC, "finished",
                                      callback_tests=TESTED))[0])

    assert results["output_layer"].status == PARTIAL and results["output_layer"].passed is False
    assert (results["output_layer"].score, results["output_layer"].max_score) == (5.0, 10.0)
    assert (results["hidden_accuracy"].score, results["hidden_accuracy"].max_score) == (10.0,
                                                                                        20.0)
    assert sum(r.score for r in results.values()) == 85.0


def test_a_failed_check_scores_zero_of_its_points() -> None:
    trace = dataclasses.replace(GOOD_TRACE, compiles=(CompileCall("mse", "Adam", 0.001, None),))
    results = by_id(run_rubric(CheckContext(trace, good_scoring(), SPEC, "finished",
                                      callback_tests=TESTED))[0])

    assert results["loss"].status == FAILED and results["loss"].passed is False
    assert (results["loss"].score, results["loss"].max_score) == (0.0, 5.0)
    assert sum(r.score for r in results.values()) == 95.0


def test_not_applicable_is_excluded_and_not_judged_scores_zero_of_its_points() -> None:
    # Nothing ran: no trace at all, no model, and no graded function (cells form).
    results = by_id(run_rubric(CheckContext(Trace(), Scoring(), SPEC, "finished"))[0])

    returns = results["returns_accuracy"]
    assert returns.status == NOT_APPLICABLE and returns.passed is None
    assert (returns.score, returns.max_score) == (0.0, 0.0)

    not_judged = [r for r in results.values() if r.status == NOT_JUDGED]
    assert {r.id for r in not_judged} == {item.id for item in SPEC.rubric} - {
        "runs", "returns_accuracy"}
    for result in not_judged:
        assert result.passed is None and result.score == 0.0
        assert result.max_score == SPEC.rubric_item(result.id).points  # type: ignore[union-attr]
        assert result.message.startswith("not judged: ")

    assert results["runs"].status == FAILED
    assert sum(r.score for r in results.values()) == 0.0
    assert sum(r.max_score for r in results.values()) == SPEC.max_score - 5 == 95


def test_points_and_titles_come_from_the_spec() -> None:
    spec = dataclasses.replace(SPEC, rubric=(
        RubricItem("runs", 3.0, title="It runs"),
        RubricItem("hidden_accuracy", 40.0, {"chance": 0.6, "full_marks_at": 1.0})))
    results = run_rubric(CheckContext(GOOD_TRACE, good_scoring(hidden=0.9), spec,
                                      "finished"))[0]

    assert [(r.id, r.title, r.score, r.max_score) for r in results] == [
        ("runs", "It runs", 3.0, 3.0),
        ("hidden_accuracy", REGISTRY["hidden_accuracy"].title, 30.0, 40.0)]
