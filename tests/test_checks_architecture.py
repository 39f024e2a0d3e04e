"""Architecture checks, judged from what the trusted scorer read out of the saved model."""

from __future__ import annotations

from typing import Any

import pytest
from rubric import SPEC, params

from grader.checks.architecture import conv_layers, input_shape, output_layer
from grader.checks.base import FAILED, NOT_JUDGED, PARTIAL, PASSED, CheckContext
from grader.run.trace import Epoch, Execution, FitCall, Trace
from grader.scoring.types import Layer, Scoring


def layer(cls: str, name: str, units: int | None = None, filters: int | None = None,
          activation: str | None = None) -> Layer:
    return Layer(cls, name, units, filters, activation, None, 0)


def conv(name: str, filters: int = 16, activation: str | None = "relu") -> Layer:
    return layer("Conv2D", name, filters=filters, activation=activation)


def pool(name: str) -> Layer:
    return layer("MaxPooling2D", name)


def dense(name: str, units: int, activation: str | None) -> Layer:
    return layer("Dense", name, units=units, activation=activation)


# The lesson's model: three Conv2D/MaxPooling2D blocks, Flatten, Dense(512), Dense(1).
LESSON = (conv("conv2d", 16), pool("max_pooling2d"), conv("conv2d_1", 32),
          pool("max_pooling2d_1"), conv("conv2d_2", 64), pool("max_pooling2d_2"),
          layer("Flatten", "flatten"), dense("dense", 512, "relu"),
          dense("dense_1", 1, "sigmoid"))

TRAINED = Trace(fits=(FitCall(0, 15, 8, 0, ("myCallback",), (Epoch(1, {"accuracy": 1.0}),),
                              "myCallback", 1, True, None),), model_saved=True)


def context(layers: tuple[Layer, ...] = LESSON,
            shape: tuple[Any, ...] | None = (None, 150, 150, 3)) -> CheckContext:
    scoring = Scoring(model_loaded=True, input_shape=shape, layers=layers)
    return CheckContext(TRAINED, scoring, SPEC, "finished")


def with_last(last: Layer) -> tuple[Layer, ...]:
    return LESSON[:-1] + (last,)


# --- input_shape ----------------------------------------------------------------------------

def test_input_shape_150_rgb_passes() -> None:
    verdict = input_shape(context(), params("input_shape"))

    assert verdict.status == PASSED and verdict.fraction == 1.0
    assert verdict.message == "input shape is (150, 150, 3)"


def test_input_shape_100_fails_and_says_what_to_change() -> None:
    verdict = input_shape(context(shape=(None, 100, 100, 3)), params("input_shape"))

    assert verdict.status == FAILED and verdict.fraction == 0.0
    assert verdict.message == "input shape is (100, 100, 3), expected (150, 150, 3)"
    assert "input_shape=(150, 150, 3)" in verdict.hint
    assert verdict.found == (100, 100, 3) and verdict.expected == (150, 150, 3)


def test_grayscale_input_fails() -> None:
    verdict = input_shape(context(shape=(None, 150, 150, 1)), params("input_shape"))

    assert verdict.status == FAILED
    assert "(150, 150, 1)" in verdict.message


@pytest.mark.parametrize(("trace", "scoring", "run_status", "reason"), [
    (Trace(), Scoring(), "finished", "the code never called fit"),
    (Trace(execution=Execution(kind="notebook", error_name="NameError")), Scoring(),
     "finished", "the code raised NameError before fit"),
    (Trace(), Scoring(), "timeout", "the run hit the time limit before training finished"),
    (Trace(model_saved=True), Scoring(model_error="the grader's scorer failed: bad layer"),
     "finished", "the grader's scorer failed: bad layer"),
    (TRAINED, Scoring(), "finished", "no trained model was saved"),
])
def test_model_checks_are_not_judged_without_a_model(trace: Trace, scoring: Scoring,
                                                     run_status: str, reason: str) -> None:
    ctx = CheckContext(trace, scoring, SPEC, run_status)

    for check_function, check_id in ((input_shape, "input_shape"),
                                     (output_layer, "output_layer"),
                                     (conv_layers, "conv_layers")):
        verdict = check_function(ctx, params(check_id))
        assert verdict.status == NOT_JUDGED and verdict.fraction == 0.0
        assert verdict.message == f"not judged: {reason}"


# --- output_layer ---------------------------------------------------------------------------

def test_dense_1_sigmoid_output_passes() -> None:
    verdict = output_layer(context(), params("output_layer"))

    assert verdict.status == PASSED
    assert verdict.message == "the output layer is Dense(1, activation='sigmoid')"


def test_dense_2_softmax_output_gets_half_marks() -> None:
    verdict = output_layer(context(with_last(dense("dense_1", 2, "softmax"))),
                           params("output_layer"))

    assert verdict.status == PARTIAL and verdict.fraction == 0.5
    assert verdict.message.startswith("the output layer is Dense(2, activation='softmax')")
    assert "Dense(1, activation='sigmoid')" in verdict.message
    assert "sigmoid" in verdict.hint


@pytest.mark.parametrize("last", [dense("dense_1", 1, "linear"), dense("dense_1", 2, "sigmoid"),
                                  dense("dense_1", 1, "relu"), layer("Flatten", "flatten")])
def test_other_output_layers_fail(last: Layer) -> None:
    verdict = output_layer(context(with_last(last)), params("output_layer"))

    assert verdict.status == FAILED and verdict.fraction == 0.0
    assert verdict.message.endswith("expected Dense(1, activation='sigmoid')")
    assert verdict.hint == "a binary classifier ends with a single neuron and a sigmoid " \
                           "activation"


def test_dense_1_linear_names_what_was_found() -> None:
    verdict = output_layer(context(with_last(dense("dense_1", 1, "linear"))),
                           params("output_layer"))

    assert verdict.message.startswith("the output layer is Dense(1, activation='linear')")


def test_a_model_without_layers_fails_the_output_check() -> None:
    verdict = output_layer(context(layers=()), params("output_layer"))

    assert verdict.status == FAILED and verdict.message == "the model has no layers"


# --- conv_layers ----------------------------------------------------------------------------

def test_lesson_conv_blocks_pass() -> None:
    verdict = conv_layers(context(), params("conv_layers"))

    assert verdict.status == PASSED
    assert verdict.message == "3 Conv2D layer(s), each followed by pooling"
    assert verdict.found == {"conv2d": 3, "pooling": 3}


@pytest.mark.parametrize("count", [1, 5])
def test_conv_count_at_the_edges_of_the_range_passes(count: int) -> None:
    blocks = tuple(x for i in range(count) for x in (conv(f"c{i}"), pool(f"p{i}")))
    verdict = conv_layers(context(blocks + LESSON[-3:]), params("conv_layers"))

    assert verdict.status == PASSED


@pytest.mark.parametrize("count", [0, 6])
def test_conv_count_outside_the_range_fails(count: int) -> None:
    blocks = tuple(x for i in range(count) for x in (conv(f"c{i}"), pool(f"p{i}")))
    verdict = conv_layers(context(blocks + LESSON[-3:]), params("conv_layers"))

    assert verdict.status == FAILED
    assert verdict.message == f"the model has {count} Conv2D layer(s), expected 1 to 5"
    assert "Conv2D + MaxPooling2D" in verdict.hint


@pytest.mark.parametrize("activation", [None, "linear"])
def test_conv_without_activation_is_partial(activation: str | None) -> None:
    layers = (conv("conv2d", 16), pool("p0"), conv("conv2d_1", 32, activation), pool("p1"),
              *LESSON[-3:])
    verdict = conv_layers(context(layers), params("conv_layers"))

    assert verdict.status == PARTIAL and verdict.fraction == 0.5
    assert verdict.message == "2 Conv2D layer(s), but conv2d_1 has no activation"
    assert verdict.hint == "give each Conv2D activation='relu'"


def test_conv_without_enough_pooling_is_partial() -> None:
    layers = (conv("conv2d"), conv("conv2d_1"), pool("p0"), *LESSON[-3:])
    verdict = conv_layers(context(layers), params("conv_layers"))

    assert verdict.status == PARTIAL and verdict.fraction == 0.5
    assert verdict.message == "2 Conv2D layer(s) but only 1 pooling layer(s)"
    assert "MaxPooling2D" in verdict.hint
