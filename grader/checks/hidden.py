"""Accuracy on the hidden split, measured by the trusted scorer on images the run never saw."""

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
    why_no_model,
)
from grader.scoring.types import at_chance_behind

# one-sided 95 %: an accuracy guessing reaches once in twenty tries on this many images
GUESSING_Z = 1.645


def guessing_reaches(chance: float, images: int) -> float:
    """The accuracy up to which a model cannot be told from one that guesses.

    Why: each course draws its own hidden split (from its secret), and a model that never
    trained scores 0.48 on one split and 0.52 on another. Points for that are luck, and
    would make the same submission's grade depend on which split the course drew."""
    if images <= 0:
        return chance
    return chance + GUESSING_Z * math.sqrt(chance * (1 - chance) / images)


def _guessing_hint(ctx: CheckContext, chance: float) -> str:
    """What to look at when the model guesses on new images. Where the saved model guesses
    on the very training images too (the trusted scorer measured them) although an epoch
    recorded high accuracy, the rescale and the directory are not the cause: the model
    changed after the batches that were counted. The common honest cause is
    BatchNormalization, which trains on each batch's own statistics but predicts with
    running averages that a few dozen steps leave far from them (issue 20, item 4: the
    sample batchnorm_collapse.py records 1.000 and measures 50 % on its training images)."""
    fit = ctx.trace.training_fit
    # the last epoch's record, as grader.evidence.training reads it for the review
    recorded = fit.epochs[-1].accuracy if fit and fit.epochs else None
    measured = ctx.scoring.train_accuracy
    if not at_chance_behind(recorded, measured, chance):
        return ("the model barely beats guessing on new images: check the rescale, the "
                "directory and that training actually ran")
    said = (f"the saved model guesses on the training images too ({measured:.0%}), "
            f"although its last epoch recorded {recorded:.1%}: ")
    if ctx.scoring.has_layer("BatchNormalization"):
        return said + ("its BatchNormalization layers predict with running averages of the "
                       "batches they saw, which a short training leaves far from the "
                       "batches' own statistics; the course's model has no "
                       "BatchNormalization")
    return said + ("the last training steps moved it away from what the epochs counted: "
                   "look at the learning rate and at how many images each step sees")


@check("hidden_accuracy", "Accuracy on the hidden validation images")
def hidden_accuracy(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    """Scaled linearly from 0 at chance to full marks at the spec's threshold; nothing for
    an accuracy guessing reaches (guessing_reaches)."""
    if not ctx.scoring.model_loaded:
        return not_judged(why_no_model(ctx))
    accuracy = ctx.scoring.hidden_accuracy
    if accuracy is None:
        return not_judged(ctx.scoring.evaluation_error or "no hidden images could be scored")
    chance = float(params.get("chance", 0.5))
    full = float(params.get("full_marks_at", 0.9))
    fraction = max(0.0, min(1.0, (accuracy - chance) / (full - chance)))
    shown = f"{accuracy:.1%} of {ctx.scoring.hidden_images} hidden images classified correctly"
    guessing = guessing_reaches(chance, ctx.scoring.hidden_images)
    if fraction < 1.0 and accuracy <= guessing:
        fraction = 0.0
        shown += (f", which guessing reaches (up to {guessing:.1%} on "
                  f"{ctx.scoring.hidden_images} images)")
    if fraction >= 1.0:
        return passed(shown, found=accuracy, expected=full)
    hint = _guessing_hint(ctx, chance) if fraction == 0 else (
        "the model learned the training images better than new ones: train until the "
        "callback stops it, and keep the architecture of the lesson")
    if fraction == 0.0:
        return failed(f"{shown}; full marks from {full:.0%}", hint=hint, found=accuracy,
                      expected=full)
    return partial(fraction, f"{shown}; full marks from {full:.0%}", hint=hint,
                   found=accuracy, expected=full)
