"""Architecture checks, read from the saved model by the trusted scorer (not from the trace)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.checks.base import (
    CheckContext,
    Verdict,
    check,
    failed,
    not_judged,
    partial,
    passed,
    why_no_model,
)


@check("input_shape", "Model input is 150×150 RGB", setting=("model", "input shape"))
def input_shape(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    if not ctx.scoring.model_loaded:
        return not_judged(why_no_model(ctx))
    expected = tuple(params.get("expected", (150, 150, 3)))
    found = tuple(ctx.scoring.input_shape[1:]) if ctx.scoring.input_shape else None
    shown = "×".join(str(v) for v in expected)
    if found == expected:
        return passed(f"input shape is ({', '.join(map(str, found))})", found=found,
                      expected=expected)
    return failed(f"input shape is {found}, expected {expected}",
                  hint=f"the first layer needs input_shape={expected} so the model takes the "
                       f"{shown} images that flow_from_directory(target_size=...) produces",
                  found=found, expected=expected)


@check("output_layer", "Output layer: Dense(1, activation='sigmoid')",
       setting=("model", "output layer"))
def output_layer(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    if not ctx.scoring.model_loaded:
        return not_judged(why_no_model(ctx))
    if not ctx.scoring.layers:
        return failed("the model has no layers")
    last = ctx.scoring.layers[-1]
    units, activation = params.get("units", 1), params.get("activation", "sigmoid")
    found = f"{last.cls}({last.units}, activation={last.activation!r})"
    expected = f"Dense({units}, activation={activation!r})"
    if last.cls == "Dense" and last.units == units and last.activation == activation:
        return passed(f"the output layer is {found}", found=found, expected=expected)
    if last.cls == "Dense" and last.units == params.get("partial_units") \
            and last.activation == params.get("partial_activation"):
        return partial(float(params.get("partial_fraction", 0.5)),
                       f"the output layer is {found}: it works for two classes, but this "
                       f"exercise asks for Dense({units}, activation='{activation}')",
                       hint="with class_mode='binary' one sigmoid unit gives the probability "
                            "of the second class; two softmax units say the same thing twice",
                       found=found, expected=expected)
    return failed(f"the output layer is {found}, expected Dense({units}, "
                  f"activation='{activation}')",
                  hint="a binary classifier ends with a single neuron and a sigmoid activation",
                  found=found, expected=expected)


@check("conv_layers", "Convolution and pooling blocks",
       setting=("model", "convolution and pooling layers"))
def conv_layers(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    if not ctx.scoring.model_loaded:
        return not_judged(why_no_model(ctx))
    convs = ctx.scoring.layers_of("Conv2D")
    pools = ctx.scoring.layers_of("MaxPooling2D", "AveragePooling2D")
    low, high = int(params.get("min", 1)), int(params.get("max", 5))
    found = {"conv2d": len(convs), "pooling": len(pools)}
    wanted = f"{low}" if low == high else f"{low} to {high}"
    expected = f"{wanted} Conv2D with activations, each followed by pooling"
    if not low <= len(convs) <= high:
        return failed(f"the model has {len(convs)} Conv2D layer(s), expected {low} to {high}",
                      hint="stack Conv2D + MaxPooling2D blocks before Flatten, as in the "
                           "lesson", found=found, expected=expected)
    linear = [c.name for c in convs if c.activation in (None, "linear")]
    if linear:
        return partial(0.5, f"{len(convs)} Conv2D layer(s), but {', '.join(linear)} has no "
                            "activation", hint="give each Conv2D activation='relu'",
                       found=found, expected=expected)
    if len(pools) < len(convs):
        return partial(0.5, f"{len(convs)} Conv2D layer(s) but only {len(pools)} pooling "
                            "layer(s)", hint="follow each Conv2D with MaxPooling2D(2, 2) to "
                                             "shrink the feature maps",
                       found=found, expected=expected)
    return passed(f"{len(convs)} Conv2D layer(s), each followed by pooling", found=found,
                  expected=expected)
