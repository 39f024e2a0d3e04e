"""Data pipeline and compile checks, from what the run recorded (the only place it exists)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from grader.checks.base import CheckContext, Verdict, check, failed, not_judged, passed
from grader.run.trace import FlowCall

_BINARY_CROSSENTROPY = {"binary_crossentropy", "BinaryCrossentropy", "binarycrossentropy"}


def _flow_or_reason(ctx: CheckContext) -> FlowCall | str:
    flow = ctx.trace.training_flow
    if flow is not None:
        return flow
    if ctx.trace.execution.error_name:
        return f"the code raised {ctx.trace.execution.error_name} before flow_from_directory"
    return "the code never called flow_from_directory"


@check("loss", "Loss: binary cross-entropy", setting=("compile", "loss"),
       claims=("compile",))
def loss(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    """The loss the saved model was compiled with, where the scorer could read it from the
    file (the compile that produced the graded model: a decoy compile of another model, or
    the last of several models, is not what trained it), else the last compile call's."""
    saved = ctx.scoring.saved_loss
    if saved is None and not ctx.trace.compiles:
        return not_judged("the code never called compile" if not ctx.trace.execution.error_name
                          else f"the code raised {ctx.trace.execution.error_name} before "
                               "compile")
    found: Any = (saved if isinstance(saved, str) else list(saved)) if saved is not None \
        else ctx.trace.compiles[-1].loss
    expected = [str(e) for e in params.get("expected", ["binary_crossentropy"])]
    names = {str(found)} if not isinstance(found, list) else {str(f) for f in found}
    accepted = set(expected) | (_BINARY_CROSSENTROPY if "binary_crossentropy" in expected
                                else set())
    if names and names <= accepted:
        return passed(f"loss is {found!r}", found=found, expected=expected)
    head = ctx.scoring.layers[-1] if ctx.scoring.layers else None
    with_head = {str(e) for e in params.get("accepted_with_softmax_head", [])}
    if head is not None and head.activation == "softmax" and names and names <= with_head:
        return passed(f"loss is {found!r}, the right loss for the softmax output layer "
                      "(that head is judged by output_layer)", found=found, expected=expected)
    return failed(f"loss is {found!r}, expected {' or '.join(map(repr, expected))}",
                  hint="two classes and one sigmoid output call for "
                       "loss='binary_crossentropy'", found=found, expected=expected)


def _number(value: float | None) -> str:
    return "None" if value is None else f"{value:.6g}"


@check("generator_rescale", "ImageDataGenerator(rescale=1/255)",
       setting=("ImageDataGenerator", "rescale"),
       claims=("generator",))
def generator_rescale(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    flow = _flow_or_reason(ctx)
    if isinstance(flow, str):
        return not_judged(flow)
    generator = ctx.trace.generator_of(flow)
    applied = generator.applied_rescales if generator else (None,)
    expected = float(params.get("expected", 1 / 255))
    tolerance = float(params.get("tolerance", 1e-6))
    wrong = [r for r in applied if r is None or not math.isclose(r, expected,
                                                                 abs_tol=tolerance)]
    found = wrong[0] if wrong else applied[0]
    if not wrong:
        return passed(f"pixels are rescaled by {found:.6g} (1/255)", found=found,
                      expected=expected)
    changed = generator is not None and generator.rescales_used \
        and generator.rescale != found
    return failed(f"rescale is {found!r}, expected 1/255 ≈ {expected:.6g}"
                  + (f" (the generator was made with {_number(generator.rescale)}, then "
                     "changed before its batches were made)" if changed else ""),
                  hint="pass rescale=1/255 to ImageDataGenerator so pixel values lie in "
                       "[0, 1] as the network expects", found=found, expected=expected)


@check("generator_target_size", "flow_from_directory(target_size=(150, 150))",
       setting=("flow_from_directory", "target_size"),
       claims=("flow",))
def generator_target_size(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    flow = _flow_or_reason(ctx)
    if isinstance(flow, str):
        return not_judged(flow)
    expected = tuple(params.get("expected", (150, 150)))
    if flow.target_size == expected:
        return passed(f"images are resized to {expected}", found=flow.target_size,
                      expected=expected)
    return failed(f"target_size is {flow.target_size}, expected {expected}",
                  hint=f"use target_size={expected} and the same size in the model's "
                       "input_shape", found=flow.target_size, expected=expected)


@check("generator_class_mode", "flow_from_directory(class_mode='binary')",
       setting=("flow_from_directory", "class_mode"),
       claims=("flow",))
def generator_class_mode(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    flow = _flow_or_reason(ctx)
    if isinstance(flow, str):
        return not_judged(flow)
    expected = params.get("expected", "binary")
    if flow.class_mode == expected:
        return passed(f"class_mode is {expected!r}", found=flow.class_mode, expected=expected)
    return failed(f"class_mode is {flow.class_mode!r}, expected {expected!r}",
                  hint="two classes with binary_crossentropy need class_mode='binary'",
                  found=flow.class_mode, expected=expected)


@check("generator_directory", "flow_from_directory reads the folder holding the classes",
       setting=("flow_from_directory", "directory"),
       claims=("flow",))
def generator_directory(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    flow = _flow_or_reason(ctx)
    if isinstance(flow, str):
        return not_judged(flow)
    classes = sorted(ctx.spec.classes)
    found = sorted(flow.class_indices or {})
    shown = f"{flow.directory!r} ({flow.images_found} images, classes {found})"
    expected = f"the folder holding {' and '.join(f'{c}/' for c in classes)}"
    if found == classes and (flow.images_found or 0) > 0:
        return passed(f"reads {shown}", found=flow.directory, expected=expected)
    leaf = (flow.directory or "").rstrip("/").rsplit("/", 1)[-1]
    if leaf in classes:
        return failed(f"reads {shown}: that is one class's folder",
                      hint="point flow_from_directory at the directory that contains the "
                           f"sub-directories {' and '.join(classes)}, not at one of them",
                      found=flow.directory, expected=expected)
    return failed(f"reads {shown}; expected a folder with sub-folders {classes}",
                  hint="point flow_from_directory at the folder the zip was extracted to, "
                       "whose sub-folders are the classes", found=flow.directory,
                  expected=expected)
