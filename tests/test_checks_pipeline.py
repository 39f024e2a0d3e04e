"""Data pipeline and compile checks, judged from what the run recorded in its trace."""

from __future__ import annotations

from typing import Any

import pytest
from rubric import SPEC, params

from grader.checks.base import FAILED, NOT_JUDGED, PASSED, CheckContext
from grader.checks.pipeline import (
    generator_class_mode,
    generator_directory,
    generator_rescale,
    generator_target_size,
    loss,
)
from grader.run.trace import CompileCall, Epoch, Execution, FitCall, FlowCall, Generator, Trace
from grader.scoring.types import Scoring


def flow(directory: str = "/tmp/h-or-s", *, flow_id: int = 0, generator_id: int = 0,
         target_size: tuple[int, ...] | None = (150, 150), class_mode: str | None = "binary",
         images: int | None = 80,
         classes: dict[str, int] | None = None) -> FlowCall:
    return FlowCall(id=flow_id, generator_id=generator_id, directory=directory,
                    target_size=target_size, batch_size=10, class_mode=class_mode,
                    images_found=images,
                    class_indices={"happy": 0, "sad": 1} if classes is None else classes,
                    error=None)


def context(*flows: FlowCall, rescale: float | None = 1 / 255,
            compiles: tuple[CompileCall, ...] = (), train_flow_id: int | None = 0,
            execution: Execution | None = None) -> CheckContext:
    fit = FitCall(0, 15, 8, train_flow_id, ("myCallback",), (Epoch(1, {"accuracy": 0.9}),),
                  None, None, True, None)
    trace = Trace(generators=(Generator(0, rescale, {"rescale": rescale}),), flows=flows,
                  compiles=compiles, fits=(fit,), execution=execution or Execution())
    return CheckContext(trace, Scoring(), SPEC, "finished")


def compiled(loss_value: Any) -> CheckContext:
    return context(flow(), compiles=(CompileCall(loss_value, "RMSprop", 0.001, ["accuracy"]),))


# --- loss -----------------------------------------------------------------------------------

@pytest.mark.parametrize("found", ["binary_crossentropy", "BinaryCrossentropy",
                                   ["binary_crossentropy"]])
def test_binary_crossentropy_in_any_spelling_passes(found: Any) -> None:
    verdict = loss(compiled(found), params("loss"))

    assert verdict.status == PASSED
    assert verdict.message == f"loss is {found!r}"


@pytest.mark.parametrize("found", ["mse", "categorical_crossentropy", None, []])
def test_other_losses_fail(found: Any) -> None:
    verdict = loss(compiled(found), params("loss"))

    assert verdict.status == FAILED
    assert verdict.message == f"loss is {found!r}, expected 'binary_crossentropy'"
    assert "loss='binary_crossentropy'" in verdict.hint


def test_the_last_compile_is_the_one_judged() -> None:
    ctx = context(flow(), compiles=(CompileCall("mse", "Adam", 0.01, None),
                                    CompileCall("binary_crossentropy", "RMSprop", 0.001,
                                                ["accuracy"])))

    assert loss(ctx, params("loss")).status == PASSED


def test_loss_is_not_judged_without_compile() -> None:
    verdict = loss(context(flow()), params("loss"))
    assert verdict.status == NOT_JUDGED
    assert verdict.message == "not judged: the code never called compile"

    crashed = context(flow(), execution=Execution(kind="notebook", error_name="ImportError"))
    assert loss(crashed, params("loss")).message == \
        "not judged: the code raised ImportError before compile"


# --- generator_rescale ----------------------------------------------------------------------

@pytest.mark.parametrize("rescale", [1 / 255, 1.0 / 255.0, 0.00392156862745098])
def test_rescale_one_over_255_passes(rescale: float) -> None:
    verdict = generator_rescale(context(flow(), rescale=rescale), params("generator_rescale"))

    assert verdict.status == PASSED
    assert verdict.message == "pixels are rescaled by 0.00392157 (1/255)"


@pytest.mark.parametrize("rescale", [None, 1.0, 255.0])
def test_missing_or_wrong_rescale_fails(rescale: float | None) -> None:
    verdict = generator_rescale(context(flow(), rescale=rescale), params("generator_rescale"))

    assert verdict.status == FAILED
    assert verdict.message == f"rescale is {rescale!r}, expected 1/255 ≈ 0.00392157"
    assert "rescale=1/255" in verdict.hint


def test_rescale_is_read_from_the_generator_of_the_training_flow() -> None:
    # The validation generator rescales, the training one does not: the training one counts.
    validation = Generator(1, 1 / 255, {"rescale": 1 / 255})
    train_flow, validation_flow = flow(flow_id=0, generator_id=0), flow(flow_id=1,
                                                                         generator_id=1)
    fit = FitCall(0, 15, 8, 0, (), (Epoch(1, {"accuracy": 0.5}),), None, None, True, None)
    trace = Trace(generators=(Generator(0, None, {}), validation),
                  flows=(validation_flow, train_flow), fits=(fit,))

    verdict = generator_rescale(CheckContext(trace, Scoring(), SPEC, "finished"),
                                params("generator_rescale"))

    assert verdict.status == FAILED and verdict.found is None


def test_pipeline_checks_are_not_judged_without_a_flow() -> None:
    no_flow = context()
    crashed = context(execution=Execution(kind="notebook", error_name="FileNotFoundError"))

    for function, check_id in ((generator_rescale, "generator_rescale"),
                               (generator_target_size, "generator_target_size"),
                               (generator_class_mode, "generator_class_mode"),
                               (generator_directory, "generator_directory")):
        assert function(no_flow, params(check_id)).message == \
            "not judged: the code never called flow_from_directory"
        verdict = function(crashed, params(check_id))
        assert verdict.status == NOT_JUDGED
        assert verdict.message == \
            "not judged: the code raised FileNotFoundError before flow_from_directory"


# --- target_size and class_mode ----------------------------------------------------------------

def test_target_size_150_passes() -> None:
    verdict = generator_target_size(context(flow()), params("generator_target_size"))

    assert verdict.status == PASSED and verdict.message == "images are resized to (150, 150)"


@pytest.mark.parametrize("size", [(300, 300), (150, 150, 3), None])
def test_other_target_sizes_fail(size: tuple[int, ...] | None) -> None:
    verdict = generator_target_size(context(flow(target_size=size)),
                                    params("generator_target_size"))

    assert verdict.status == FAILED
    assert verdict.message == f"target_size is {size}, expected (150, 150)"
    assert "target_size=(150, 150)" in verdict.hint


def test_binary_class_mode_passes() -> None:
    verdict = generator_class_mode(context(flow()), params("generator_class_mode"))

    assert verdict.status == PASSED and verdict.message == "class_mode is 'binary'"


@pytest.mark.parametrize("mode", ["categorical", "sparse", None])
def test_other_class_modes_fail(mode: str | None) -> None:
    verdict = generator_class_mode(context(flow(class_mode=mode)),
                                   params("generator_class_mode"))

    assert verdict.status == FAILED
    assert verdict.message == f"class_mode is {mode!r}, expected 'binary'"
    assert "class_mode='binary'" in verdict.hint


# --- generator_directory --------------------------------------------------------------------

def test_folder_holding_both_classes_passes() -> None:
    verdict = generator_directory(context(flow("/tmp/h-or-s")), params("generator_directory"))

    assert verdict.status == PASSED
    assert verdict.message == "reads '/tmp/h-or-s' (80 images, classes ['happy', 'sad'])"


@pytest.mark.parametrize("directory", ["/tmp/h-or-s/happy", "/tmp/h-or-s/sad/", "happy"])
def test_a_class_subfolder_gets_the_containing_directory_hint(directory: str) -> None:
    verdict = generator_directory(context(flow(directory, images=0, classes={})),
                                  params("generator_directory"))

    assert verdict.status == FAILED
    assert verdict.message.endswith(": that is one class's folder")
    assert "the directory that contains the sub-directories happy and sad" in verdict.hint
    assert verdict.found == directory


def test_a_folder_one_level_too_high_gets_the_extraction_hint() -> None:
    verdict = generator_directory(context(flow("/tmp", images=80, classes={"h-or-s": 0})),
                                  params("generator_directory"))

    assert verdict.status == FAILED
    assert verdict.message == ("reads '/tmp' (80 images, classes ['h-or-s']); expected a "
                               "folder with sub-folders ['happy', 'sad']")
    assert "the folder the zip was extracted to" in verdict.hint


def test_right_classes_but_no_images_fails() -> None:
    verdict = generator_directory(context(flow("/tmp/h-or-s", images=0)),
                                  params("generator_directory"))

    assert verdict.status == FAILED
