"""The callback test with real callbacks: the runner plays the trusted side's runs of epochs
(grader.checks.callback_sequences) to a copy of each, and the check judges where it
stopped. A callback that counts epochs, compares with a wrong bound or watches the loss
fails; a correct one passes whichever accuracy key it reads (issue 11, attack 3: a
callback stopping when `epoch >= 1` used to pass)."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rubric import SPEC, params

from grader.checks.base import CheckContext
from grader.checks.callback_sequences import epoch_runs
from grader.checks.training import callback_behaviour
from grader.run import trace as traces
from grader.run.trace import Epoch, FitCall, Trace
from grader.scoring.types import Scoring

keras = pytest.importorskip("keras")

CALLBACKS = {
    "reads accuracy, as the course does": (True, """
        if logs.get('accuracy') > 0.999:
            self.model.stop_training = True"""),
    "reads 'acc', as TF 1.x code does": (True, """
        if logs['acc'] > 0.999:
            self.model.stop_training = True"""),
    "compares with >=, never told apart": (True, """
        if logs.get('accuracy') >= 0.999:
            self.model.stop_training = True"""),
    "stops when epoch >= 1": (False, """
        if epoch >= 1:
            self.model.stop_training = True"""),
    "counts its own calls": (False, """
        self.calls = getattr(self, 'calls', 0) + 1
        if self.calls >= 3:
            self.model.stop_training = True"""),
    "compares with 0.99": (False, """
        if logs.get('accuracy') > 0.99:
            self.model.stop_training = True"""),
    "compares with >= 0.998": (False, """
        if logs.get('accuracy') >= 0.998:
            self.model.stop_training = True"""),
    "watches the loss": (False, """
        if logs.get('loss') < 1 - 0.999:
            self.model.stop_training = True"""),
    "never stops": (False, """
        print('epoch', epoch)"""),
    "reads a key training never logs": (False, """
        if logs['val_accuracy'] > 0.999:
            self.model.stop_training = True"""),
}


def _callback(body: str) -> Any:
    source = ("import keras\nclass Student(keras.callbacks.Callback):\n"
              "    def on_epoch_end(self, epoch, logs=None):\n"
              + textwrap.indent(textwrap.dedent(body).strip("\n"), "        ") + "\n")
    namespace: dict[str, Any] = {}
    exec(compile(source, "student.py", "exec"), namespace)  # noqa: S102 - test code
    return namespace["Student"]()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(CALLBACKS))
def test_real_callbacks_are_judged_by_where_they_stop(name: str, seed: int,
                                                      tmp_path: Path) -> None:
    from grader.runner import callbacks, recorder

    correct, body = CALLBACKS[name]
    runs = epoch_runs(SPEC.accuracy_threshold, seed)
    recorder.install(recorder.Recorder(tmp_path / "trace.json"))
    callbacks.EPOCH_RUNS = [run.as_config() for run in runs]
    callbacks.test_callbacks([_callback(body)], 0)
    tested = traces.parse(dict(recorder.current().data), {})
    fit = FitCall(id=0, epochs_requested=15, steps_per_epoch=8, train_flow_id=0,
                  callbacks=("Student",), epochs=(Epoch(1, {"accuracy": 1.0}),),
                  stopped_by="Student", stopped_at_epoch=1, completed=True, error=None)
    ctx = CheckContext(Trace(fits=(fit,), callback_tests=tested.callback_tests), Scoring(),
                       SPEC, "finished", callback_runs=runs)

    verdict = callback_behaviour(ctx, params("callback_behaviour"))

    assert (verdict.status == "passed") is correct, verdict.message
    assert len(tested.callback_tests) == len(runs)


def test_the_callback_is_played_on_copies_so_its_own_state_is_kept(tmp_path: Path) -> None:
    from grader.runner import callbacks, recorder

    student = _callback(CALLBACKS["counts its own calls"][1])
    student.calls = 7
    recorder.install(recorder.Recorder(tmp_path / "trace.json"))
    callbacks.EPOCH_RUNS = [run.as_config() for run in epoch_runs(0.999, 0)]
    callbacks.test_callbacks([student], 0)
    assert student.calls == 7  # the training's own callback object is untouched


def test_the_check_uses_the_graders_runs_not_what_the_run_says_it_played() -> None:
    runs = epoch_runs(0.999, 5)
    claimed = tuple(traces.CallbackTest("Student", n, 0, None) for n in range(len(runs)))
    fit = FitCall(id=0, epochs_requested=1, steps_per_epoch=1, train_flow_id=0,
                  callbacks=("Student",), epochs=(), stopped_by=None, stopped_at_epoch=None,
                  completed=True, error=None)
    ctx = replace(CheckContext(Trace(fits=(fit,), callback_tests=claimed), Scoring(), SPEC,
                               "finished"), callback_runs=runs)
    # "stopped at epoch 1 in every run" is only right for the run that passes at once
    assert callback_behaviour(ctx, params("callback_behaviour")).status == "failed"
