"""Accuracy on the hidden split, measured by the trusted scorer on images the run never saw."""

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


@check("hidden_accuracy", "Accuracy on the hidden validation images")
def hidden_accuracy(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    """Scaled linearly from 0 at chance to full marks at the spec's threshold."""
    if not ctx.scoring.model_loaded:
        return not_judged(why_no_model(ctx))
    accuracy = ctx.scoring.hidden_accuracy
    if accuracy is None:
        return not_judged(ctx.scoring.evaluation_error or "no hidden images could be scored")
    chance = float(params.get("chance", 0.5))
    full = float(params.get("full_marks_at", 0.9))
    fraction = max(0.0, min(1.0, (accuracy - chance) / (full - chance)))
    shown = f"{accuracy:.1%} of {ctx.scoring.hidden_images} hidden images classified correctly"
    if fraction >= 1.0:
        return passed(shown, found=accuracy, expected=full)
    hint = ("the model barely beats guessing on new images: check the rescale, the "
            "directory and that training actually ran" if fraction == 0 else
            "the model learned the training images better than new ones: train until the "
            "callback stops it, and keep the architecture of the lesson")
    if fraction == 0.0:
        return failed(f"{shown}; full marks from {full:.0%}", hint=hint, found=accuracy,
                      expected=full)
    return partial(fraction, f"{shown}; full marks from {full:.0%}", hint=hint,
                   found=accuracy, expected=full)
