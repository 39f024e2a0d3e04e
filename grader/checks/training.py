"""Checks on the run itself: did it finish, did the callback stop training at the right
epoch, does the callback behave, and does the graded function return the accuracy."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from grader.checks.base import (
    PASSED,
    CheckContext,
    Verdict,
    check,
    failed,
    not_applicable,
    not_judged,
    passed,
)
from grader.run.trace import FitCall


@check("runs", "The submission runs to the end",
       claims=("execution",))
def runs(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    execution = ctx.trace.execution
    if ctx.run_status == "timeout":
        return failed(f"the run {ctx.run_message or 'hit the time limit'}",
                      hint="look for a loop that never ends or far more epochs than asked; "
                           "everything recorded before the limit is still graded")
    if ctx.run_status == "out_of_memory":
        return failed(ctx.run_message,
                      hint="a model or batch far larger than the exercise asks for needs more "
                           "memory than a run may use; keep the lesson's sizes")
    if execution.error_name:
        where = f" in code cell {execution.error_cell}" if execution.error_cell is not None \
            and execution.kind == "notebook" else ""
        line = f" (line {execution.error_cell})" if execution.kind == "module" \
            and execution.error_cell and execution.error_name == "SyntaxError" else ""
        first_line = (execution.error_value or "").strip().splitlines()[:1] or [""]
        return failed(f"the code raised {execution.error_name}{where}{line}: "
                      f"{first_line[0][:200]}",
                      hint="run the notebook top to bottom in a fresh kernel and fix the "
                           "first error; later cells were not run")
    if ctx.run_status == "crashed" and not (execution.kernel_died and execution.ran_to_end):
        return failed(f"the run stopped abnormally: {ctx.run_message}",
                      hint="the process was killed or crashed (out of memory?)")
    if not execution.ran_to_end:
        return failed("the run did not reach its last cell")
    note = " (the last cell stopped its own kernel, as in the lesson)" \
        if execution.kernel_died else ""
    return passed(f"ran {execution.cells_run} of {execution.code_cells} code cell(s) "
                  f"without error{note}" if execution.kind == "notebook"
                  else "the module ran without error")


def _accuracies(fit: FitCall) -> list[float | None]:
    return [epoch.accuracy for epoch in fit.epochs]


def epoch_coverage(ctx: CheckContext) -> tuple[int, int] | None:
    """(images one epoch saw, images in the training set) when an epoch saw only part."""
    fit, flow = ctx.trace.training_fit, ctx.trace.training_flow
    if fit is None or flow is None or not fit.steps_per_epoch or not flow.batch_size \
            or not flow.images_found:
        return None
    seen = fit.steps_per_epoch * flow.batch_size
    return (seen, flow.images_found) if seen < flow.images_found else None


def _accuracy_gap(ctx: CheckContext) -> tuple[float, float] | None:
    fit = ctx.trace.training_fit
    recomputed = ctx.scoring.train_accuracy
    if fit is None or not fit.epochs or recomputed is None:
        return None
    recorded = fit.epochs[-1].accuracy
    if recorded is None or abs(recorded - recomputed) <= ctx.spec.train_accuracy_tolerance:
        return None
    return recorded, recomputed


def recorded_accuracy_disagrees(ctx: CheckContext) -> str | None:
    """The trace's final accuracy against the accuracy the scorer recomputed itself.

    Only evidence when each epoch saw the whole training set: an epoch of 2 batches
    reports accuracy on 20 images under moving weights, which may honestly differ a lot
    from the final model on all 80 (see accuracy_not_comparable).
    """
    gap = _accuracy_gap(ctx)
    if gap is None or epoch_coverage(ctx) is not None:
        return None
    return (f"the recorded final training accuracy {gap[0]:.3f} disagrees with the "
            f"{gap[1]:.3f} the grader measured on the training images")


def accuracy_not_comparable(ctx: CheckContext) -> str | None:
    gap, coverage = _accuracy_gap(ctx), epoch_coverage(ctx)
    if gap is None or coverage is None:
        return None
    return (f"each epoch saw only {coverage[0]} of the {coverage[1]} training images, so its "
            f"recorded accuracy ({gap[0]:.3f}) says little about the final model, which "
            f"classifies {gap[1]:.1%} of all training images correctly")


@check("callback_stop", "Training stopped at the first epoch above 0.999",
       setting=("fit", "stopped by"),
       claims=("training",))
def callback_stop(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    notes = tuple(note for note in (recorded_accuracy_disagrees(ctx),
                                    accuracy_not_comparable(ctx), repeat_cut_off(ctx),
                                    repeated_training(ctx)) if note)
    return replace(_callback_stop(ctx), notes=notes)


def repeat_cut_off(ctx: CheckContext) -> str | None:
    """The training judged is the first call's when a second call of it was cut off
    (grader.run.trace): say so, since the run's output shows the second as the last."""
    repeat, judged = ctx.trace.cut_off_repeat, ctx.trace.training_fit
    if repeat is None or judged is None:
        return None
    why = "the time limit" if ctx.run_status == "timeout" else "the end of the run"
    return (f"the training was run a second time (the same fit again, in a later call) and "
            f"{why} cut that one off after {len(repeat.epochs)} epoch(s); the first, "
            f"completed training ({len(judged.epochs)} epochs) is the one judged, and its "
            "model the one scored")


def repeated_training(ctx: CheckContext) -> str | None:
    """The training function called again after a completed training, to look at what it
    returns (issue 20, item 1): the same fit ran more than once, each to its end. The last
    is judged (its model is the one the run left); say so, since a student reading two
    trainings in the output should know which one the points are about."""
    judged = ctx.trace.training_fit
    if judged is None or ctx.trace.cut_off_repeat is not None:
        return None
    place = ctx.trace.position(judged)
    earlier = [f for f in ctx.trace.fits[:place] if f.epochs and ctx.trace.repeats(f, judged)]
    if not earlier:
        return None
    return (f"the same training ran {len(earlier) + 1} times (the training function called "
            f"again, to see its result); the last ({len(judged.epochs)} epochs) is the one "
            "judged, and its model the one scored")


def _callback_stop(ctx: CheckContext) -> Verdict:
    fit = ctx.trace.training_fit
    if fit is None or not fit.epochs:
        return not_judged("no training epoch was recorded" if ctx.trace.fits
                          else "the code never called fit")
    threshold, limit = ctx.spec.accuracy_threshold, ctx.spec.epoch_limit
    accuracies = _accuracies(fit)
    if all(a is None for a in accuracies):
        return failed("training logged no accuracy",
                      hint="compile with metrics=['accuracy'] so the callback can read it")
    first_above = next((i + 1 for i, a in enumerate(accuracies)
                        if a is not None and a > threshold), None)
    epochs_run = len(fit.epochs)
    stopped_at = fit.stopped_at_epoch if fit.stopped_by else None
    found = {"stopped_by": fit.stopped_by, "stopped_at": stopped_at, "epochs_run": epochs_run,
             "first_above": first_above}
    expected = (f"a callback stops at the first epoch above {threshold}"
                + (f" (epoch {first_above})" if first_above else "") + f", by epoch {limit}")
    best = max(a for a in accuracies if a is not None)
    if first_above is None:
        if stopped_at is not None:
            at = accuracies[stopped_at - 1] if 1 <= stopped_at <= len(accuracies) else None
            shown = f"{at:.4f}" if at is not None else "not recorded"
            return failed(f"{fit.stopped_by} stopped training at epoch {stopped_at} while "
                          f"accuracy was {shown}, not above {threshold}",
                          hint="stop when logs['accuracy'] > 0.999, not on another quantity",
                          found=found, expected=expected)
        if not fit.completed and ctx.run_status == "timeout":
            # training was cut off, not finished: whether the callback would have stopped
            # it at the right epoch cannot be told from the epochs it had
            return not_judged(f"the time limit stopped the run after {epochs_run} epoch(s), "
                              f"before accuracy exceeded {threshold}")
        return failed(f"training accuracy never exceeded {threshold} in {epochs_run} epoch(s) "
                      f"(best {best:.4f})",
                      hint="with the lesson's architecture, rescale=1/255 and RMSprop at "
                           "0.001 the model passes 0.999 within 15 epochs",
                      found=found, expected=expected)
    if stopped_at == first_above and stopped_at <= limit:
        return passed(f"{fit.stopped_by} stopped training at epoch {stopped_at}, the first "
                      f"epoch above {threshold} (limit {limit})", found=found,
                      expected=expected)
    if stopped_at == first_above:
        return failed(f"stopped at epoch {stopped_at}, after the {limit}-epoch limit",
                      hint=f"train for at most epochs={limit}", found=found, expected=expected)
    if stopped_at is None:
        return failed(f"accuracy passed {threshold} at epoch {first_above} but training went "
                      f"on for {epochs_run} epoch(s): no callback stopped it",
                      hint="pass your callback to fit(..., callbacks=[callbacks]) and set "
                           "self.model.stop_training = True in on_epoch_end",
                      found=found, expected=expected)
    return failed(f"{fit.stopped_by} stopped training at epoch {stopped_at}, but accuracy "
                  f"first passed {threshold} at epoch {first_above}",
                  hint="compare the epoch's accuracy with 0.999 in on_epoch_end",
                  found=found, expected=expected)


@check("callback_behaviour", "The callback stops above 0.999 and only then",
       claims=("callback",))
def callback_behaviour(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    """The runs of epochs the grader played to each callback class passed to the graded
    fit, in a sandbox apart from the student's run (grader.run.callback_test; the runs are
    grader.checks.callback_sequences): passed when one of them stops each run exactly at
    its first epoch above the threshold, and never in the run that stays below."""
    fit = ctx.trace.training_fit
    if fit is None:
        return not_judged("the code never called fit, so no callback reached training")
    if not fit.callbacks:
        return _never_passed(ctx)
    if fit.callback_error:
        return failed(f"{fit.callback_error} during training",
                      hint="read logs only with keys that training logs (e.g. "
                           "logs.get('accuracy')); a callback must never crash training")
    untested = untested_callbacks(ctx)
    if untested:
        return not_judged(untested)
    return _judged(ctx, fit.callbacks)


_PASS_IT = "create your callback and pass it: model.fit(..., callbacks=[callbacks])"


def _never_passed(ctx: CheckContext) -> Verdict:
    """The graded fit was given no callback: the callback classes the code defines were
    tested instead (grader.evidence.callback_source.to_test). A right one keeps these
    points, as a TA marks it: what it failed to do, stop the training, is `callback_stop`'s
    to say. Without one the code has no working callback at all."""
    defined = tuple(dict.fromkeys(t.callback for t in ctx.callback_tests.tests))
    if not defined or ctx.callback_tests.untested(defined):
        return failed("no callback was passed to fit", hint=_PASS_IT)
    verdict = _judged(ctx, defined)
    if verdict.status == PASSED:
        return replace(verdict, message=verdict.message + "; but it was never passed to "
                       "fit, so it did not stop this training (see where training stopped)")
    return failed(f"no callback was passed to fit, and the one the code defines, "
                  f"{verdict.message}", hint=_PASS_IT, found=verdict.found,
                  expected=verdict.expected)


def _judged(ctx: CheckContext, names: Sequence[str]) -> Verdict:
    """Passed when one of the classes `names` stops each of the grader's runs of epochs
    exactly at its first epoch above the threshold, and never in the run that stays below."""
    threshold, runs = ctx.spec.accuracy_threshold, ctx.callback_runs
    by_callback: dict[str, dict[int, Any]] = {}
    for test in ctx.callback_tests.tests:
        if test.callback in names:
            by_callback.setdefault(test.callback, {})[test.sequence] = test
    mistakes = {name: _first_mistake(tested, runs, threshold)
                for name, tested in by_callback.items()}
    expected = f"stops at the first epoch above {threshold} in each of {len(runs)} runs"
    good = [name for name, mistake in mistakes.items() if mistake is None]
    if good:
        return passed(f"{good[0]} stopped at the first epoch above {threshold} in each of "
                      f"the {len(runs)} runs of epochs the grader played, and never below "
                      "it", found=good[0], expected=expected)
    name, mistake = next(iter(mistakes.items()))
    return failed(f"{name} {mistake}", hint=mistake_hint(mistake), found=name,
                  expected=expected)


def untested_callbacks(ctx: CheckContext) -> str:
    """Why the callbacks of the graded fit could not be judged apart from the run, or ""
    (grader.run.callback_test.CallbackTestOutcome.untested)."""
    fit = ctx.trace.training_fit
    return ctx.callback_tests.untested(fit.callbacks if fit is not None else ())


def _first_mistake(tested: dict[int, Any], runs: tuple[Any, ...],
                   threshold: float) -> str | None:
    for number, run in enumerate(runs):
        test = tested.get(number)
        if test is None:
            return f"was not tested on the run that {run.name} (the test did not finish)"
        if test.error:
            return f"raised {test.error} when given epoch logs"
        want, got = run.expected_stop(threshold), test.stopped_at
        if got == want:
            continue
        if got is None:
            step = run.steps[want]
            return (f"kept training at epoch {want + 1}, whose accuracy {step.accuracy:g} "
                    f"is above {threshold}, in the grader's test run that {run.name}")
        step = run.steps[got]
        if want is None:
            return (f"stopped at epoch {got + 1} of the grader's test run that never passes "
                    f"{threshold} (accuracy {step.accuracy:g}, loss {step.loss:g})")
        return (f"stopped at epoch {got + 1} (accuracy {step.accuracy:g}), but the first "
                f"epoch above {threshold} was epoch {want + 1}, in the grader's test run "
                f"that {run.name}")
    return None


def mistake_hint(mistake: str) -> str:
    if "raised" in mistake:
        return "read the accuracy with logs.get('accuracy') and compare it with 0.999"
    if "kept training" in mistake:
        return ("in on_epoch_end, set self.model.stop_training = True as soon as "
                "logs['accuracy'] > 0.999")
    return ("stop only when the accuracy of this epoch is above 0.999: compare "
            "logs['accuracy'] with 0.999 (not the loss, not the epoch number)")


@check("returns_accuracy", "The graded function returns the final training accuracy",
       setting=("graded function", "returns"),
       claims=("entry", "training"))
def returns_accuracy(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    name = ctx.spec.entry_function
    if not name:
        return not_applicable("this exercise has no graded function")
    entry = ctx.trace.entry_point
    if entry is None and ctx.source_defines_entry:
        return not_judged(f"{name}() is defined in code that never ran")
    if entry is None:
        if ctx.spec.entry_required:
            return failed(f"no function {name}() was defined",
                          hint=f"keep the graded function {name}() from the template")
        return not_applicable(f"no {name}() defined: the cells form of the exercise has no "
                              "return value to check")
    if entry.error:
        return failed(f"{name}() raised {entry.error}",
                      hint="return history.history['accuracy'][-1]")
    if entry.called_by is None:
        return not_judged(f"{name}() was never called (the run stopped before)")
    if entry.returned_type is None:
        why = "the time limit stopped it" if ctx.run_status == "timeout" \
            else "the run ended inside it"
        return not_judged(f"{name}() was called but never returned ({why})")
    fit = ctx.trace.training_fit
    final = fit.epochs[-1].accuracy if fit is not None and fit.epochs else None
    value = entry.returned_value
    if value is None:
        return failed(f"{name}() returned a {entry.returned_type}, expected the final training "
                      "accuracy as a number", hint="return history.history['accuracy'][-1]")
    if final is None:
        return not_judged("no training accuracy was recorded to compare with")
    if math.isclose(value, final, abs_tol=float(params.get("tolerance", 1e-6))):
        return passed(f"{name}() returned {value:.4f}, the final training accuracy",
                      found=value, expected=final)
    return failed(f"{name}() returned {value:.4f} but the final training accuracy was "
                  f"{final:.4f}", hint="return history.history['accuracy'][-1]",
                  found=value, expected=final)


@check("returns_history", "The graded function returns the training History",
       setting=("graded function", "returns"),
       claims=("entry",))
def returns_history(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    """The 2022 template: train_happy_sad_model(train_generator) returns model.fit's History."""
    name = ctx.spec.entry_function
    if not name:
        return not_applicable("this exercise has no graded function")
    entry = ctx.trace.entry_point
    if entry is None:
        return not_judged(f"{name}() is defined in code that never ran") \
            if ctx.source_defines_entry else failed(f"no function {name}() was defined",
                                                    hint=f"keep {name}() from the template")
    if entry.error:
        return failed(f"{name}() raised {entry.error}", hint="return the History that "
                      "model.fit returns")
    if entry.called_by is None or entry.returned_type is None:
        return not_judged(f"{name}() never returned (the run stopped before)")
    if entry.returned_type == "History":
        return passed(f"{name}() returned the History of its training")
    return failed(f"{name}() returned a {entry.returned_type}, expected the History",
                  hint="history = model.fit(...); return history")
