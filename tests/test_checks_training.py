"""Checks on the run itself: runs, callback_stop, callback_behaviour, returns_accuracy."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any

import pytest
from rubric import SPEC, params

from grader import exercise
from grader.checks.base import FAILED, NOT_APPLICABLE, NOT_JUDGED, PASSED, CheckContext
from grader.checks.callback_sequences import epoch_runs
from grader.checks.training import (
    accuracy_not_comparable,
    callback_behaviour,
    callback_stop,
    recorded_accuracy_disagrees,
    returns_accuracy,
    runs,
)
from grader.run.callback_test import CallbackTest, CallbackTestOutcome
from grader.run.trace import EntryPoint, Epoch, Execution, FitCall, FlowCall, Trace
from grader.scoring.types import Scoring

ENTRY = "train_happy_sad_model"


def fit(accuracies: list[float | None], stopped_at: int | None = None,
        stopped_by: str | None = "myCallback", callbacks: tuple[str, ...] = ("myCallback",),
        key: str = "accuracy") -> FitCall:
    epochs = tuple(Epoch(i + 1, {"loss": 0.1} if a is None else {"loss": 0.1, key: a})
                   for i, a in enumerate(accuracies))
    return FitCall(id=0, epochs_requested=15, steps_per_epoch=8, train_flow_id=0,
                   callbacks=callbacks, epochs=epochs,
                   stopped_by=stopped_by if stopped_at is not None else None,
                   stopped_at_epoch=stopped_at, completed=True, error=None)


def context(*fits: FitCall, train_accuracy: float | None = None, run_status: str = "finished",
            run_message: str = "", spec: exercise.ExerciseSpec = SPEC,
            **trace: Any) -> CheckContext:
    return CheckContext(Trace(fits=fits, **trace), Scoring(train_accuracy=train_accuracy), spec,
                        run_status, run_message)



def test_a_repeat_cut_off_by_the_time_limit_is_noted_and_the_first_call_judged() -> None:
    """issue 20, item 1: the first call stopped at epoch 3, the first above 0.999, and
    returned its accuracy; the same training called again was cut off after 2 epochs."""
    first = fit([0.8, 0.95, 1.0], stopped_at=3)
    again = replace(first, id=1, epochs=first.epochs[:2], completed=False,
                    stopped_by=None, stopped_at_epoch=None)
    ctx = context(first, again, run_status="timeout", flows=(), entry_point=EntryPoint(
        name=ENTRY, called_by="student", returned_type="float", returned_value=1.0,
        error=None))
    stop = callback_stop(ctx, {})
    assert stop.status == PASSED and "at epoch 3, the first epoch above" in stop.message
    assert any("the time limit cut that one off after 2 epoch(s); the first, completed "
               "training (3 epochs) is the one judged" in note for note in stop.notes)
    assert returns_accuracy(ctx, params("returns_accuracy")).status == PASSED
    alone = callback_stop(context(again, run_status="timeout"), {})  # no first call
    assert alone.status == NOT_JUDGED and not alone.notes


def test_a_training_run_again_to_its_end_is_noted_and_the_last_judged() -> None:
    """issue 20, item 1, the completed variant (submissions' called_twice.ipynb): a cell
    calls the training function again to print its result; both trainings end. The
    model the run left is the second's, so the second is judged, and the note says so."""
    first = fit([0.8, 0.95, 1.0], stopped_at=3)
    again = replace(fit([0.7, 0.9, 0.99, 1.0], stopped_at=4), id=1)
    stop = callback_stop(context(first, again, flows=()), {})
    assert stop.status == PASSED and "at epoch 4" in stop.message
    assert ("the same training ran 2 times (the training function called again, to see its "
            "result); the last (4 epochs) is the one judged, and its model the one scored"
            in stop.notes)
    other = replace(again, epochs_requested=20)  # another training, not the same one again
    assert not any("the same training" in n
                   for n in callback_stop(context(first, other, flows=()), {}).notes)
    assert not any("the same training" in n for n in callback_stop(context(again), {}).notes)

# --- runs -----------------------------------------------------------------------------------

def notebook(**kw: Any) -> Execution:
    return Execution(**{"kind": "notebook", "code_cells": 8, "cells_run": 8, **kw})


def test_a_notebook_that_runs_to_the_end_passes() -> None:
    verdict = runs(context(execution=notebook(ran_to_end=True)), {})

    assert verdict.status == PASSED
    assert verdict.message == "ran 8 of 8 code cell(s) without error"


def test_a_module_that_runs_to_the_end_passes() -> None:
    verdict = runs(context(execution=Execution(kind="module", ran_to_end=True)), {})

    assert verdict.status == PASSED and verdict.message == "the module ran without error"


@pytest.mark.parametrize("message", ["stopped after the 600 s time limit", ""])
def test_timeout_fails(message: str) -> None:
    verdict = runs(context(run_status="timeout", run_message=message,
                           execution=notebook(cells_run=3)), {})

    assert verdict.status == FAILED
    assert verdict.message == f"the run {message or 'hit the time limit'}"
    assert "everything recorded before the limit is still graded" in verdict.hint


def test_an_error_names_the_cell_and_the_first_line_of_the_error() -> None:
    execution = notebook(cells_run=4, error_name="NameError", error_cell=7,
                         error_value="name 'model' is not defined\nsecond line")
    verdict = runs(context(execution=execution), {})

    assert verdict.status == FAILED
    assert verdict.message == \
        "the code raised NameError in code cell 7: name 'model' is not defined"
    assert "fix the first error" in verdict.hint


def test_a_syntax_error_in_a_module_names_the_line() -> None:
    execution = Execution(kind="module", error_name="SyntaxError", error_cell=12,
                          error_value="invalid syntax")
    verdict = runs(context(execution=execution), {})

    assert verdict.message == "the code raised SyntaxError (line 12): invalid syntax"


@pytest.mark.parametrize("run_status", ["finished", "crashed"])
def test_kernel_dying_in_the_last_cell_counts_as_running_to_the_end(run_status: str) -> None:
    # The lessons end with a cell that kills its own kernel.
    execution = notebook(ran_to_end=True, kernel_died=True)
    verdict = runs(context(execution=execution, run_status=run_status,
                           run_message="the run exited with code 1"), {})

    assert verdict.status == PASSED
    assert verdict.message == ("ran 8 of 8 code cell(s) without error (the last cell stopped "
                               "its own kernel, as in the lesson)")


def test_kernel_dying_before_the_last_cell_fails() -> None:
    execution = notebook(cells_run=3, kernel_died=True, error_name="DeadKernelError",
                         error_cell=5, error_value="the kernel died while running this cell")
    verdict = runs(context(execution=execution), {})

    assert verdict.status == FAILED
    assert verdict.message.startswith("the code raised DeadKernelError in code cell 5")


def test_a_crash_without_a_recorded_error_fails() -> None:
    verdict = runs(context(run_status="crashed", run_message="the run was killed by signal 9",
                           execution=notebook(cells_run=3)), {})

    assert verdict.status == FAILED
    assert verdict.message == "the run stopped abnormally: the run was killed by signal 9"
    assert "out of memory" in verdict.hint


def test_a_run_that_stops_early_without_error_fails() -> None:
    verdict = runs(context(execution=notebook(cells_run=3)), {})

    assert verdict.status == FAILED and verdict.message == "the run did not reach its last cell"


# --- callback_stop --------------------------------------------------------------------------

def test_stopping_at_the_first_epoch_above_threshold_passes() -> None:
    verdict = callback_stop(context(fit([0.6, 0.9, 0.99, 0.9995], stopped_at=4)),
                            params("callback_stop"))

    assert verdict.status == PASSED
    assert verdict.message == ("myCallback stopped training at epoch 4, the first epoch above "
                               "0.999 (limit 15)")
    assert verdict.found == {"stopped_by": "myCallback", "epochs_run": 4, "first_above": 4,
                             "stopped_at": 4}


def test_stopping_at_the_limit_epoch_passes() -> None:
    verdict = callback_stop(context(fit([0.9] * 14 + [1.0], stopped_at=15)),
                            params("callback_stop"))

    assert verdict.status == PASSED


def test_old_acc_key_is_read() -> None:
    verdict = callback_stop(context(fit([0.7, 1.0], stopped_at=2, key="acc")),
                            params("callback_stop"))

    assert verdict.status == PASSED


def test_accuracy_equal_to_threshold_is_not_above_it() -> None:
    verdict = callback_stop(context(fit([0.9, 0.999], stopped_at=2)), params("callback_stop"))

    assert verdict.status == FAILED
    assert verdict.message == ("myCallback stopped training at epoch 2 while accuracy was "
                               "0.9990, not above 0.999")


def test_training_past_the_threshold_without_stopping_fails() -> None:
    verdict = callback_stop(context(fit([0.8, 0.9995, 1.0, 1.0, 1.0, 1.0])),
                            params("callback_stop"))

    assert verdict.status == FAILED
    assert verdict.message == ("accuracy passed 0.999 at epoch 2 but training went on for 6 "
                               "epoch(s): no callback stopped it")
    assert "self.model.stop_training = True" in verdict.hint


def test_stopping_on_loss_before_accuracy_passed_fails() -> None:
    verdict = callback_stop(context(fit([0.7, 0.95, 0.98], stopped_at=3)),
                            params("callback_stop"))

    assert verdict.status == FAILED
    assert verdict.message == ("myCallback stopped training at epoch 3 while accuracy was "
                               "0.9800, not above 0.999")
    assert "not on another quantity" in verdict.hint


def test_stopping_later_than_the_first_epoch_above_fails() -> None:
    verdict = callback_stop(context(fit([0.9, 0.9995, 1.0], stopped_at=3)),
                            params("callback_stop"))

    assert verdict.status == FAILED
    assert verdict.message == ("myCallback stopped training at epoch 3, but accuracy first "
                               "passed 0.999 at epoch 2")


def test_never_reaching_the_threshold_fails_with_the_best_accuracy() -> None:
    verdict = callback_stop(context(fit([0.5 + i * 0.03 for i in range(15)])),
                            params("callback_stop"))

    assert verdict.status == FAILED
    assert verdict.message == "training accuracy never exceeded 0.999 in 15 epoch(s) (best 0.9200)"
    assert "within 15 epochs" in verdict.hint


def test_stopping_after_the_epoch_limit_fails() -> None:
    verdict = callback_stop(context(fit([0.9] * 15 + [1.0], stopped_at=16)),
                            params("callback_stop"))

    assert verdict.status == FAILED
    assert verdict.message == "stopped at epoch 16, after the 15-epoch limit"
    assert verdict.hint == "train for at most epochs=15"


def test_a_disagreement_with_the_scorer_is_a_note_and_left_to_the_evidence() -> None:
    """How far the recorded epochs are trusted is grader.evidence's question (a model at
    chance is not trusted, a disagreement of degree goes to review: tests/test_evidence.py);
    the check judges the stop and notes the disagreement."""
    ctx = context(fit([0.8, 1.0], stopped_at=2), train_accuracy=0.6)

    verdict = callback_stop(ctx, params("callback_stop"))

    assert SPEC.train_accuracy_tolerance == 0.2
    assert verdict.status == PASSED
    assert verdict.notes == ("the recorded final training accuracy 1.000 disagrees with the "
                             "0.600 the grader measured on the training images",)


def test_recorded_accuracy_within_tolerance_is_trusted() -> None:
    ctx = context(fit([0.8, 1.0], stopped_at=2), train_accuracy=0.85)

    assert recorded_accuracy_disagrees(ctx) is None
    assert callback_stop(ctx, params("callback_stop")).status == PASSED


def _short_epochs(train_accuracy: float) -> CheckContext:
    """2 steps of batch 10 per epoch: each epoch saw 20 of the 80 training images."""
    flow = FlowCall(id=0, generator_id=0, directory="/tmp/h-or-s", target_size=(150, 150),
                    batch_size=10, class_mode="binary", images_found=80,
                    class_indices={"happy": 0, "sad": 1}, error=None)
    short = dataclasses.replace(fit([0.8, 1.0], stopped_at=2), steps_per_epoch=2)
    return context(short, train_accuracy=train_accuracy, flows=(flow,))


def test_partial_epochs_are_not_taken_as_a_lying_trace() -> None:
    ctx = _short_epochs(train_accuracy=0.6)

    assert recorded_accuracy_disagrees(ctx) is None
    assert callback_stop(ctx, params("callback_stop")).status == PASSED
    assert accuracy_not_comparable(ctx) == (
        "each epoch saw only 20 of the 80 training images, so its recorded accuracy (1.000) "
        "says little about the final model, which classifies 60.0% of all training images "
        "correctly")


def test_partial_epochs_within_tolerance_need_no_note() -> None:
    assert accuracy_not_comparable(_short_epochs(train_accuracy=0.95)) is None


def test_no_logged_accuracy_fails() -> None:
    verdict = callback_stop(context(fit([None, None])), params("callback_stop"))

    assert verdict.status == FAILED and verdict.message == "training logged no accuracy"
    assert "metrics=['accuracy']" in verdict.hint


def test_callback_stop_is_not_judged_without_epochs() -> None:
    assert callback_stop(context(), params("callback_stop")).message == \
        "not judged: the code never called fit"
    verdict = callback_stop(context(fit([])), params("callback_stop"))
    assert verdict.status == NOT_JUDGED
    assert verdict.message == "not judged: no training epoch was recorded"


def test_a_stop_epoch_beyond_the_recorded_epochs_gives_a_verdict() -> None:
    # E.g. a second callback raised in on_epoch_end after the first set stop_training, so
    # the recorder never logged that epoch; or a tampered trace. Either way: a verdict.
    verdict = callback_stop(context(fit([0.5, 0.8, 0.9], stopped_at=4)),
                            params("callback_stop"))

    assert verdict.status == FAILED
    assert "not recorded" in verdict.message


# --- callback_behaviour ---------------------------------------------------------------------

RUNS = epoch_runs(0.999, seed=11)  # the runs a grading would play for one submission


def probed(stops: list[int | None] | None = None, error: str | None = None,
           name: str = "myCallback") -> tuple[CallbackTest, ...]:
    """What the runner reports: where the callback stopped in each run (default: where a
    correct callback stops)."""
    stops = [r.expected_stop(0.999) for r in RUNS] if stops is None else stops
    return tuple(CallbackTest(name, number, stop, error) for number, stop in enumerate(stops))


def test_a_callback_the_test_could_not_find_in_the_code_is_not_judged() -> None:
    verdict = behaviour(fit([1.0], 1), callback_tests=probed(name="Other"))

    assert verdict.status == NOT_JUDGED
    assert verdict.message == ("not judged: myCallback could not be tested apart from the "
                               "run: its class was not found in the code")


def test_a_class_cut_out_without_its_scope_is_not_judged_not_failed() -> None:
    # the graded run met no error in this callback, so a NameError in the test is the
    # extraction's (a value the code computes at run time), not the student's mistake
    verdict = behaviour(fit([1.0], 1), callback_tests=probed(
        [None] * 4, error="NameError: name 'THRESHOLD' is not defined"))

    assert verdict.status == NOT_JUDGED and "THRESHOLD" in verdict.message


def test_a_test_of_another_class_does_not_count_for_the_fits_callback() -> None:
    tests = probed(name="Decoy") + probed([1, 1, 1, 1])
    verdict = behaviour(fit([1.0], 1), callback_tests=tests)

    assert verdict.status == FAILED  # judged on myCallback, the fit's, not the decoy


def behaviour(*fits: FitCall, callback_tests: tuple[CallbackTest, ...] = (),
              **trace: Any) -> Any:
    """The check, given what the callback test (run apart from the run) found."""
    ctx = context(*fits, **trace)
    return callback_behaviour(replace(ctx, callback_runs=RUNS,
                                      callback_tests=CallbackTestOutcome(callback_tests,
                                                                         "finished")),
                              params("callback_behaviour"))


def test_a_callback_that_stops_at_the_first_epoch_above_in_every_run_passes() -> None:
    verdict = behaviour(fit([1.0], 1), callback_tests=probed())

    assert verdict.status == PASSED
    assert verdict.message.startswith("myCallback stopped at the first epoch above 0.999 in "
                                      "each of the 4 runs")


def test_no_callback_passed_to_fit_fails_with_a_hint() -> None:
    verdict = behaviour(fit([0.9, 1.0], callbacks=()))

    assert verdict.status == FAILED and verdict.message == "no callback was passed to fit"
    assert "callbacks=[callbacks]" in verdict.hint


def test_a_right_callback_defined_but_never_passed_keeps_the_behaviour_points() -> None:
    # issue 20: a TA marks the missing `callbacks=[...]` on the stop, not on the class
    verdict = behaviour(fit([0.9, 1.0], callbacks=()), callback_tests=probed())

    assert verdict.status == PASSED
    assert verdict.message.startswith("myCallback stopped at the first epoch above 0.999")
    assert verdict.message.endswith("but it was never passed to fit, so it did not stop "
                                    "this training (see where training stopped)")


def test_a_wrong_callback_defined_but_never_passed_fails_on_both_counts() -> None:
    verdict = behaviour(fit([0.9, 1.0], callbacks=()),
                        callback_tests=probed([None] * len(RUNS)))

    assert verdict.status == FAILED
    assert verdict.message.startswith("no callback was passed to fit, and the one the code "
                                      "defines, myCallback kept training at epoch")
    assert "callbacks=[callbacks]" in verdict.hint


def test_a_defined_class_that_could_not_be_tested_is_no_callback_passed() -> None:
    # nothing credits the class, and nothing was passed: the old verdict, not a review
    verdict = behaviour(fit([0.9, 1.0], callbacks=()), callback_tests=probed(
        [None] * 4, error="NameError: name 'THRESHOLD' is not defined"))

    assert verdict.status == FAILED and verdict.message == "no callback was passed to fit"


def test_a_callback_stopping_early_in_the_late_run_fails() -> None:
    late = RUNS[0].expected_stop(0.999)
    assert late is not None and late >= 5
    stops = [r.expected_stop(0.999) for r in RUNS]
    stops[0] = 1  # stopped when epoch >= 1, say
    verdict = behaviour(fit([0.9], 1), callback_tests=probed(stops))

    assert verdict.status == FAILED
    assert verdict.message.startswith(f"myCallback stopped at epoch 2 (accuracy "
                                      f"{RUNS[0].steps[1].accuracy:g}), but the first epoch "
                                      f"above 0.999 was epoch {late + 1}")
    assert "not the loss, not the epoch number" in verdict.hint


def test_a_callback_stopping_in_the_run_that_never_passes_fails() -> None:
    stops = [r.expected_stop(0.999) for r in RUNS]
    stops[2] = 24
    verdict = behaviour(fit([0.9], 1), callback_tests=probed(stops))

    assert verdict.status == FAILED
    assert "stopped at epoch 25 of the grader's test run that never passes 0.999" in verdict.message


def test_a_callback_that_never_stops_fails() -> None:
    verdict = behaviour(fit([0.9, 1.0]), callback_tests=probed([None] * len(RUNS)))

    assert verdict.status == FAILED
    late = RUNS[0].expected_stop(0.999)
    assert verdict.message.startswith(f"myCallback kept training at epoch {late + 1}")


def test_a_callback_that_raises_fails() -> None:
    verdict = behaviour(fit([0.9], 1), callback_tests=probed([None] * 4,
                                                            error="KeyError: 'acc'"))

    assert verdict.status == FAILED
    assert verdict.message == "myCallback raised KeyError: 'acc' when given epoch logs"
    assert "logs.get('accuracy')" in verdict.hint


def test_a_run_the_runner_did_not_report_is_a_failure_not_a_pass() -> None:
    verdict = behaviour(fit([1.0], 1), callback_tests=probed()[:2])

    assert verdict.status == FAILED and "was not tested on the run" in verdict.message


def test_the_runs_test_what_a_counter_or_a_wrong_bound_gets_wrong() -> None:
    for seed in range(20):
        runs = epoch_runs(0.999, seed)
        late, first, never, early = runs
        assert late.expected_stop(0.999) >= 5 and first.expected_stop(0.999) == 0
        assert never.expected_stop(0.999) is None and len(never.steps) >= 25
        assert 1 <= early.expected_stop(0.999) <= 4
        assert any(s.accuracy > 0.998 for s in never.steps)  # catches `> 0.998`
        assert any(s.loss < 0.001 for s in never.steps)  # catches `loss < 0.001`
    assert epoch_runs(0.999, 3) == epoch_runs(0.999, 3) != epoch_runs(0.999, 4)


def test_callback_behaviour_is_not_judged_without_fit_or_tests() -> None:
    assert callback_behaviour(context(), params("callback_behaviour")).status == NOT_JUDGED
    verdict = behaviour(fit([0.9]))
    assert verdict.status == NOT_JUDGED
    assert verdict.message.startswith("not judged: myCallback could not be tested apart")


# --- returns_accuracy -----------------------------------------------------------------------

def entry(**kw: Any) -> EntryPoint:
    return EntryPoint(**{"name": ENTRY, "called_by": "student", "returned_type": "float",
                         "returned_value": 0.9995, "error": None, **kw})


def test_returns_accuracy_is_not_applicable_without_the_function() -> None:
    verdict = returns_accuracy(context(fit([0.9, 0.9995], 2)), params("returns_accuracy"))

    assert verdict.status == NOT_APPLICABLE and verdict.fraction == 0.0
    assert verdict.message.startswith(f"no {ENTRY}() defined")


def test_a_missing_function_fails_when_the_spec_requires_it() -> None:
    required = dataclasses.replace(SPEC, entry_required=True)
    verdict = returns_accuracy(context(fit([0.9]), spec=required), params("returns_accuracy"))

    assert verdict.status == FAILED and verdict.message == f"no function {ENTRY}() was defined"


def test_an_exercise_without_a_graded_function_is_not_applicable() -> None:
    no_entry = dataclasses.replace(SPEC, entry_function=None)
    verdict = returns_accuracy(context(fit([0.9]), spec=no_entry, entry_point=entry()),
                               params("returns_accuracy"))

    assert verdict.status == NOT_APPLICABLE


@pytest.mark.parametrize("called_by", ["student", "grader"])
def test_returning_the_last_epoch_accuracy_passes(called_by: str) -> None:
    ctx = context(fit([0.9, 0.9995], 2), entry_point=entry(called_by=called_by))
    verdict = returns_accuracy(ctx, params("returns_accuracy"))

    assert verdict.status == PASSED
    assert verdict.message == f"{ENTRY}() returned 0.9995, the final training accuracy"


def test_returning_another_number_fails() -> None:
    ctx = context(fit([0.9, 0.9995], 2), entry_point=entry(returned_value=0.9))
    verdict = returns_accuracy(ctx, params("returns_accuracy"))

    assert verdict.status == FAILED
    assert verdict.message == (f"{ENTRY}() returned 0.9000 but the final training accuracy "
                               "was 0.9995")
    assert verdict.hint == "return history.history['accuracy'][-1]"


def test_returning_the_history_object_fails() -> None:
    ctx = context(fit([0.9, 0.9995], 2),
                  entry_point=entry(returned_type="History", returned_value=None))
    verdict = returns_accuracy(ctx, params("returns_accuracy"))

    assert verdict.status == FAILED
    assert verdict.message == (f"{ENTRY}() returned a History, expected the final training "
                               "accuracy as a number")


def test_a_function_that_raises_fails() -> None:
    ctx = context(fit([0.9]), entry_point=entry(returned_type=None, returned_value=None,
                                                error="ValueError: bad input shape"))
    verdict = returns_accuracy(ctx, params("returns_accuracy"))

    assert verdict.status == FAILED
    assert verdict.message == f"{ENTRY}() raised ValueError: bad input shape"


def test_a_function_never_called_is_not_judged() -> None:
    ctx = context(entry_point=entry(called_by=None, returned_type=None, returned_value=None))
    verdict = returns_accuracy(ctx, params("returns_accuracy"))

    assert verdict.status == NOT_JUDGED
    assert verdict.message == f"not judged: {ENTRY}() was never called (the run stopped before)"


def test_a_function_that_never_returned_is_not_judged() -> None:
    ctx = context(entry_point=entry(returned_type=None, returned_value=None),
                  run_status="timeout")
    verdict = returns_accuracy(ctx, params("returns_accuracy"))

    assert verdict.status == NOT_JUDGED
    assert verdict.message == (f"not judged: {ENTRY}() was called but never returned "
                               "(the time limit stopped it)")


def test_a_run_killed_for_memory_says_so_even_when_the_kernel_died() -> None:
    message = "the run went over its 4096 MB memory limit and was killed"
    execution = notebook(cells_run=3, error_name="DeadKernelError", error_cell=3,
                         error_value="the kernel died while running this cell")
    verdict = runs(context(execution=execution, run_status="out_of_memory",
                           run_message=message), {})

    assert verdict.status == FAILED
    assert verdict.message == message
    assert "memory" in verdict.hint


def test_training_cut_off_by_the_time_limit_before_the_threshold_is_not_judged() -> None:
    """Issue 20, 3: seven epochs, then the time limit; accuracy had not passed 0.999 yet, so
    the stop cannot be judged (a TA would not fail a callback that never had its chance)."""
    cut = dataclasses.replace(fit([0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98]), completed=False)
    verdict = callback_stop(context(cut, run_status="timeout"), params("callback_stop"))

    assert verdict.status == NOT_JUDGED
    assert "time limit stopped the run after 7 epoch(s)" in verdict.message


def test_a_finished_training_that_never_passed_the_threshold_still_fails() -> None:
    verdict = callback_stop(context(fit([0.6, 0.7, 0.8])), params("callback_stop"))

    assert verdict.status == FAILED and "never exceeded 0.999 in 3 epoch(s)" in verdict.message
