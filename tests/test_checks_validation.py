"""Checks added for the other exercises of the week: the validation generator and accuracy,
the train/validation gap, the 2024 tf.data pipeline, and the 2022 History return."""

from __future__ import annotations

import dataclasses

import pytest

from grader import exercise
from grader.checks.base import FAILED, NOT_JUDGED, PARTIAL, PASSED, CheckContext
from grader.checks.datasets import (
    dataset_directory,
    dataset_image_size,
    dataset_label_mode,
    dataset_rescaling,
)
from grader.checks.training import returns_history
from grader.checks.validation import (
    train_validation_gap,
    validation_accuracy,
    validation_generator,
)
from grader.run.trace import EntryPoint, Epoch, Execution, FitCall, FlowCall, Generator, Trace
from grader.scoring.types import Layer, Scoring

HOH = exercise.load("horse-or-human-validation")
PARAMS = {"rescale": 1 / 255, "target_size": [300, 300], "class_mode": "binary"}
CLASSES = {"horses": 0, "humans": 1}


def flow(flow_id: int, directory: str, *, generator_id: int | None = None,
         target_size: tuple[int, ...] = (300, 300), class_mode: str = "binary",
         classes: dict[str, int] | None = None) -> FlowCall:
    return FlowCall(flow_id, flow_id if generator_id is None else generator_id, directory,
                    target_size, 32, class_mode, 64, CLASSES if classes is None else classes,
                    None)


def context(validation: FlowCall | None = None, *, rescale: float = 1 / 255,
            epochs: tuple[dict[str, float], ...] = ({"accuracy": 0.9, "val_accuracy": 0.85},),
            spec: exercise.ExerciseSpec = HOH, **trace: object) -> CheckContext:
    flows = (flow(0, "/tmp/horse-or-human/"),) + ((validation,) if validation else ())
    fit = FitCall(0, 15, 8, 0, (), tuple(Epoch(i + 1, logs) for i, logs in enumerate(epochs)),
                  None, None, True, None, validation_flow_id=validation.id if validation
                  else None, validation_steps=8, has_validation=validation is not None)
    generators = (Generator(0, 1 / 255, {}), Generator(1, rescale, {}))
    return CheckContext(Trace(generators=generators, flows=flows, fits=(fit,), **trace),
                        Scoring(), spec, "finished")


def test_a_validation_generator_like_the_lessons_passes() -> None:
    verdict = validation_generator(context(flow(1, "/tmp/validation-horse-or-human/")), PARAMS)
    assert verdict.status == PASSED
    assert "/tmp/validation-horse-or-human/" in verdict.message


def test_validating_on_the_training_folder_loses_the_directory_quarter() -> None:
    verdict = validation_generator(context(flow(1, "/tmp/horse-or-human/")), PARAMS)
    assert verdict.status == PARTIAL and verdict.fraction == 0.75
    assert "wrong: directory" in verdict.message


def test_each_wrong_setting_costs_a_quarter() -> None:
    validation = flow(1, "/tmp/validation-horse-or-human/", target_size=(150, 150),
                      class_mode="categorical")
    verdict = validation_generator(context(validation, rescale=1.0), PARAMS)
    assert verdict.status == PARTIAL and verdict.fraction == 0.25
    assert "rescale, target_size, class_mode" in verdict.message


def test_no_validation_data_fails_with_the_lessons_recipe() -> None:
    verdict = validation_generator(context(), PARAMS)
    assert verdict.status == FAILED
    assert "validation_data=validation_generator" in verdict.hint


def test_validation_accuracy_must_be_logged_every_epoch() -> None:
    logged = ({"accuracy": 0.8, "val_accuracy": 0.7}, {"accuracy": 0.9, "val_acc": 0.8})
    assert validation_accuracy(context(epochs=logged), {}).status == PASSED
    partly = ({"accuracy": 0.8}, {"accuracy": 0.9, "val_accuracy": 0.8})
    assert validation_accuracy(context(epochs=partly), {}).status == FAILED
    assert validation_accuracy(context(epochs=({"accuracy": 0.9},)), {}).status == FAILED


def test_a_gap_above_the_spec_threshold_is_reported() -> None:
    overfit = context(epochs=({"accuracy": 1.0, "val_accuracy": 0.7},))
    verdict = train_validation_gap(overfit, {"max_gap": 0.2})
    assert verdict.status == FAILED and "overfits" in verdict.message
    assert any("1.000 vs validation accuracy 0.700" in note for note in verdict.notes)
    close = context(epochs=({"accuracy": 1.0, "val_accuracy": 0.85},))
    assert train_validation_gap(close, {"max_gap": 0.2}).status == PASSED
    assert train_validation_gap(close, {"max_gap": 0.2}).notes == ()


def test_the_gap_is_worth_no_points_in_the_horse_specs() -> None:
    item = HOH.rubric_item("train_validation_gap")
    assert item is not None and item.points == 0
    assert train_validation_gap(context(epochs=({"accuracy": 1.0},)), {}).status == NOT_JUDGED


# --- 2024: image_dataset_from_directory and Rescaling ---------------------------------------

HOS_2024 = exercise.load("happy-or-sad-2024")


def dataset_context(dataset: dict[str, object] | None, rescalings: tuple[float, ...] = (),
                    layers: tuple[Layer, ...] = ()) -> CheckContext:
    trace = Trace(datasets=(dataset,) if dataset else (), rescalings=rescalings,
                  execution=Execution())
    return CheckContext(trace, Scoring(model_loaded=True, layers=layers), HOS_2024, "finished")


GOOD_DATASET = {"directory": "./data/", "image_size": [150, 150], "label_mode": "binary",
                "class_names": ["happy", "sad"], "error": None}


def test_the_2024_dataset_checks_pass_on_the_template_answer() -> None:
    ctx = dataset_context(GOOD_DATASET, rescalings=(1 / 255,))
    for check, params in ((dataset_directory, {}), (dataset_image_size,
                                                    {"expected": [150, 150]}),
                          (dataset_label_mode, {"expected": "binary"}),
                          (dataset_rescaling, {"expected": 1 / 255})):
        assert check(ctx, params).status == PASSED, check.__name__


@pytest.mark.parametrize(("change", "check", "params"), [
    ({"class_names": ["data"]}, dataset_directory, {}),
    ({"image_size": [256, 256]}, dataset_image_size, {"expected": [150, 150]}),
    ({"label_mode": "int"}, dataset_label_mode, {"expected": "binary"}),
])
def test_each_wrong_dataset_argument_fails(change: dict[str, object], check: object,
                                           params: dict[str, object]) -> None:
    verdict = check(dataset_context({**GOOD_DATASET, **change}), params)  # type: ignore[operator]
    assert verdict.status == FAILED


def test_rescaling_missing_or_wrong_fails() -> None:
    assert dataset_rescaling(dataset_context(GOOD_DATASET), {}).status == FAILED
    wrong = dataset_rescaling(dataset_context(GOOD_DATASET, rescalings=(1 / 127.5,)), {})
    assert wrong.status == FAILED and "expected 1/255" in wrong.message


def test_no_dataset_call_is_not_judged() -> None:
    assert dataset_directory(dataset_context(None), {}).status == NOT_JUDGED


# --- 2022: train_happy_sad_model(train_generator) returns the History -------------------------

HOS_2022 = exercise.load("happy-or-sad-2022")


def entry_context(returned_type: str | None, error: str | None = None) -> CheckContext:
    entry = EntryPoint("train_happy_sad_model", "student", returned_type, None, error)
    return CheckContext(Trace(entry_point=entry), Scoring(), HOS_2022, "finished")


def test_returning_the_history_passes_and_a_number_fails() -> None:
    assert returns_history(entry_context("History"), {}).status == PASSED
    verdict = returns_history(entry_context("float"), {})
    assert verdict.status == FAILED and "expected the History" in verdict.message
    assert returns_history(entry_context(None, "TypeError: x"), {}).status == FAILED


def test_the_2022_spec_grades_the_history_not_the_accuracy() -> None:
    ids = [item.id for item in HOS_2022.rubric]
    assert "returns_history" in ids and "returns_accuracy" not in ids
    assert HOS_2022.rubric_item("returns_history") and HOS_2022.entry_required
    assert dataclasses.replace(HOS_2022).course_version == "2022"


def test_rescaling_is_not_judged_when_the_code_stopped_before_the_dataset() -> None:
    trace = Trace(execution=Execution(error_name="TypeError"))
    ctx = CheckContext(trace, Scoring(), HOS_2024, "finished")
    assert dataset_rescaling(ctx, {}).status == NOT_JUDGED
