"""Validation checks (Horse-or-Human lesson 3 on): the validation generator, the validation
accuracy Keras recorded, and the gap between training and validation accuracy.

Validation numbers come from the run's own logs: the validation images are public (the
course ships them), so they measure the student's setup, not the grade; the grade's
accuracy is the hidden split's, measured by the trusted scorer.
"""

from __future__ import annotations

import math
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
)
from grader.run.trace import Epoch

_VALIDATION_KEYS = ("val_accuracy", "val_acc")


def _validation_accuracy(epoch: Epoch) -> float | None:
    return next((epoch.logs[k] for k in _VALIDATION_KEYS if k in epoch.logs), None)


@check("validation_generator", "A validation generator like the training one",
       setting=("validation", "validation generator"),
       claims=("validation",))
def validation_generator(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    """Four parts, a quarter each: rescale, target size, class mode, directory."""
    fit = ctx.trace.training_fit
    if fit is None:
        return not_judged("the code never called fit")
    flow = ctx.trace.validation_flow
    if flow is None:
        return failed("fit was given no validation generator" if not fit.has_validation else
                      "fit's validation_data is not a flow_from_directory generator",
                      hint="make a second ImageDataGenerator(rescale=1/255), call its "
                           "flow_from_directory on the validation folder and pass it as "
                           "fit(..., validation_data=validation_generator)")
    generator = ctx.trace.generator_of(flow)
    rescale = generator.applied_rescales[-1] if generator else None
    expected_rescale = float(params.get("rescale", 1 / 255))
    size = tuple(params.get("target_size", (150, 150)))
    mode = params.get("class_mode", "binary")
    training = ctx.trace.training_flow
    found_classes = sorted(flow.class_indices or {})
    parts = {
        "rescale": rescale is not None and math.isclose(rescale, expected_rescale,
                                                         abs_tol=1e-6),
        "target_size": flow.target_size == size,
        "class_mode": flow.class_mode == mode,
        "directory": found_classes == sorted(ctx.spec.classes) and bool(flow.images_found)
        and (training is None or flow.directory != training.directory),
    }
    shown = (f"validation reads {flow.directory!r} ({flow.images_found} images), rescale "
             f"{rescale!r}, target_size {flow.target_size}, class_mode {flow.class_mode!r}")
    wrong = [name for name, ok in parts.items() if not ok]
    if not wrong:
        return passed(shown, found=flow.directory)
    hint = {"rescale": "rescale=1/255, as for training",
            "target_size": f"target_size={size}, as for training",
            "class_mode": f"class_mode={mode!r}, as for training",
            "directory": "the validation folder (holding one sub-folder per class), not the "
                         "training folder"}
    fraction = 1 - len(wrong) / len(parts)
    message = f"{shown}; wrong: {', '.join(wrong)}"
    hints = "; ".join(hint[name] for name in wrong)
    if fraction == 0:
        return failed(message, hint=hints)
    return partial(fraction, message, hint=hints)


@check("validation_accuracy", "Validation accuracy recorded at every epoch",
       claims=("validation", "training"))
def validation_accuracy(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    fit = ctx.trace.training_fit
    if fit is None or not fit.epochs:
        return not_judged("no training epoch was recorded" if ctx.trace.fits
                          else "the code never called fit")
    values = [_validation_accuracy(e) for e in fit.epochs]
    if all(v is not None for v in values):
        return passed(f"validation accuracy at each of {len(values)} epoch(s), last "
                      f"{values[-1]:.3f}", found=values[-1])
    hint = "pass validation_data (and validation_steps) to fit, with metrics=['accuracy']"
    if any(v is not None for v in values):
        return failed("validation accuracy is missing for some epochs", hint=hint)
    return failed("training logged no validation accuracy", hint=hint)


def overfitting(ctx: CheckContext, max_gap: float) -> tuple[float, float] | None:
    """(training, validation) accuracy of the last epoch when the gap is above max_gap."""
    fit = ctx.trace.training_fit
    if fit is None or not fit.epochs:
        return None
    last = fit.epochs[-1]
    validation = _validation_accuracy(last)
    if last.accuracy is None or validation is None or last.accuracy - validation <= max_gap:
        return None
    return last.accuracy, validation


@check("train_validation_gap", "Training does not overfit (train vs validation accuracy)",
       claims=("training", "validation"))
def train_validation_gap(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    """Usually worth 0 points: a note for the student, as in the lesson's discussion."""
    max_gap = float(params.get("max_gap", 0.2))
    fit = ctx.trace.training_fit
    last = fit.epochs[-1] if fit is not None and fit.epochs else None
    validation = _validation_accuracy(last) if last is not None else None
    if last is None or last.accuracy is None or validation is None:
        return not_judged("no training and validation accuracy of the last epoch to compare")
    gap = overfitting(ctx, max_gap)
    if gap is None:
        return passed(f"training accuracy {last.accuracy:.3f}, validation {validation:.3f}: "
                      f"gap within {max_gap}", found=last.accuracy - validation)
    note = (f"training accuracy {gap[0]:.3f} vs validation accuracy {gap[1]:.3f}: a gap of "
            f"{gap[0] - gap[1]:.3f} (above {max_gap}) means the model overfits")
    return failed(note, hint="the model learns the training images rather than the "
                             "classes: fewer epochs, data augmentation or dropout close the "
                             "gap (the next lessons)",
                  found=gap[0] - gap[1], expected=max_gap, notes=(note,))
