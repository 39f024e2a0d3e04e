"""The callback test with real callbacks, run as a grading runs it: each class is cut out of
the source (grader.evidence.callback_source), driven through real Keras training in a
sandbox apart from the student's run (grader.run.callback_test, grader.runner.
callback_harness) on the trusted side's runs of epochs, and the check judges where it
stopped. A callback that counts epochs, compares with a wrong bound or watches the loss
fails; a correct one passes whichever accuracy key it reads (issue 11, attack 3: a
callback stopping when `epoch >= 1` used to pass).

Expected verdicts come from what each callback's code does (the CALLBACKS table says it),
not from the harness's output.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from rubric import SPEC, params

from grader.checks.base import CheckContext
from grader.checks.callback_sequences import epoch_runs
from grader.checks.training import callback_behaviour
from grader.evidence.callback_source import extract
from grader.run import callback_test, sandbox
from grader.run.callback_test import CallbackTestOutcome
from grader.run.trace import Epoch, FitCall, Trace
from grader.scoring.types import Scoring

pytestmark = pytest.mark.slow

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


def _class(number: int, body: str) -> str:
    return (f"class Student{number}(tf.keras.callbacks.Callback):\n"
            "    def on_epoch_end(self, epoch, logs=None):\n"
            + textwrap.indent(textwrap.dedent(body).strip("\n"), "        ") + "\n")


def _fit(name: str) -> FitCall:
    return FitCall(id=0, epochs_requested=15, steps_per_epoch=8, train_flow_id=0,
                   callbacks=(name,), epochs=(Epoch(1, {"accuracy": 1.0}),), stopped_by=name,
                   stopped_at_epoch=1, completed=True, error=None)


def _judge(name: str, outcome: CallbackTestOutcome, seed: int) -> object:
    ctx = CheckContext(Trace(fits=(_fit(name),)), Scoring(), SPEC, "finished",
                       callback_runs=epoch_runs(SPEC.accuracy_threshold, seed),
                       callback_tests=outcome)
    return callback_behaviour(ctx, params("callback_behaviour"))


def _test(code: str, seed: int) -> CallbackTestOutcome:
    runs = epoch_runs(SPEC.accuracy_threshold, seed)
    return callback_test.run(extract([code]), [r.as_config() for r in runs], SPEC,
                             (150, 150, 3), _sandbox())


def _sandbox() -> bool:
    works = sandbox.bubblewrap_works()
    if os.environ.get("CI") and not works:
        pytest.fail("bubblewrap is required in CI: the callback test runs in a sandbox")
    return works


@pytest.mark.parametrize("seed", [0, 1])
def test_real_callbacks_are_judged_by_where_they_stop(seed: int) -> None:
    names = list(CALLBACKS)
    code = "import tensorflow as tf\n\n" + "\n".join(
        _class(number, CALLBACKS[name][1]) for number, name in enumerate(names))
    outcome = _test(code, seed)

    assert outcome.status == "finished", outcome.message
    for number, name in enumerate(names):
        correct = CALLBACKS[name][0]
        verdict = _judge(f"Student{number}", outcome, seed)
        assert (verdict.status == "passed") is correct, (name, verdict.message)  # type: ignore[attr-defined]
    assert len(outcome.tests) == len(names) * 4


COURSE_SHAPES = '''
import tensorflow as tf
DESIRED_ACCURACY = 0.999
training_images = load_everything_and_train()  # a call: never carried into the test

def train_happy_sad_model(threshold=0.999):
    margin = 0
    class InFunction(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs={}):
            if logs.get('acc') > threshold + margin:
                self.model.stop_training = True
    class WithArgument(tf.keras.callbacks.Callback):
        def __init__(self, bound):
            super().__init__()
            self.bound = bound
        def on_epoch_end(self, epoch, logs=None):
            if logs['accuracy'] > self.bound:
                self.model.stop_training = True
    callbacks = [InFunction(), WithArgument(DESIRED_ACCURACY)]
    return callbacks

class NeedsRunTimeValue(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs['accuracy'] > len(training_images):
            self.model.stop_training = True
'''


def test_course_shapes_are_carried_out_of_their_code_and_judged() -> None:
    outcome = _test(COURSE_SHAPES, seed=3)

    # a class inside the graded function reads its enclosing function's default and
    # constant; a class made with an argument is made with the code's own argument
    assert _judge("InFunction", outcome, 3).status == "passed"  # type: ignore[attr-defined]
    assert _judge("WithArgument", outcome, 3).status == "passed"  # type: ignore[attr-defined]
    # a value computed when the code ran cannot be carried: not judged (review), not failed
    verdict = _judge("NeedsRunTimeValue", outcome, 3)
    assert verdict.status == "not_judged"  # type: ignore[attr-defined]
    assert "training_images" in verdict.message  # type: ignore[attr-defined]


def test_the_test_never_runs_the_rest_of_the_code(tmp_path: object) -> None:
    """Nothing but definitions, imports and constants reaches the test process: the
    module-level call and the graded function's body are not there."""
    (source,) = [s for s in extract([COURSE_SHAPES]) if s.name == "NeedsRunTimeValue"]
    assert "load_everything_and_train" not in source.module
    assert "DESIRED_ACCURACY = 0.999" in source.module


def test_the_check_uses_the_graders_runs_not_a_claimed_stop() -> None:
    """Stopping at epoch 1 of every run is right only for the run that passes at once."""
    runs = epoch_runs(0.999, 5)
    claimed = tuple(callback_test.CallbackTest("Student", n, 0, None)
                    for n in range(len(runs)))
    ctx = replace(CheckContext(Trace(fits=(_fit("Student"),)), Scoring(), SPEC, "finished",
                               callback_tests=CallbackTestOutcome(claimed, "finished")),
                  callback_runs=runs)
    assert callback_behaviour(ctx, params("callback_behaviour")).status == "failed"


WATCHER = '''
import numpy as np
import tensorflow as tf

class Watcher(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        sums = [float(np.abs(w).sum()) for w in self.model.get_weights()]
        if getattr(self, 'before', None) is not None:
            print('layers', len(self.model.layers),
                  'changed', ''.join('x' if a != b else '.' for a, b in zip(self.before, sums)))
        self.before = sums
        if logs.get('accuracy') > 0.999:
            self.model.stop_training = True
'''


def test_the_callback_sees_its_own_model_really_trained(tmp_path: Path) -> None:
    """The test fits the student's saved model for real: between two epochs the output
    layer's kernel and bias change (printed 'x'), while the layers before it are frozen to
    keep the fit cheap ('.'); the callback sees the model's own five layers."""
    saved = _small_saved_model(tmp_path / "model.keras")
    runs = epoch_runs(SPEC.accuracy_threshold, 7)
    outcome = callback_test.run(extract([WATCHER]), [r.as_config() for r in runs], SPEC,
                                (150, 150, 3), _sandbox(), model_file=saved)

    late = next(t for t in outcome.tests if t.sequence == 0)  # a run of several epochs
    assert late.error is None, late.error
    # weights in order: conv kernel, bias; dense kernel, bias; output kernel, bias
    assert late.output.strip().splitlines()[-1] == "layers 5 changed ....xx"
    assert _judge("Watcher", outcome, 7).status == "passed"  # type: ignore[attr-defined]
    assert outcome.model == callback_test.MODEL_USED["student"]


def _small_saved_model(path: Path) -> Path:
    import keras

    model = keras.Sequential([
        keras.Input((150, 150, 3)),
        keras.layers.Conv2D(2, 3, activation="relu"),
        keras.layers.MaxPooling2D(4),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.save(path)
    return path


COURSE_CALLBACK = '''
import tensorflow as tf
DESIRED_ACCURACY = 0.999

class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get('acc') > DESIRED_ACCURACY:
            print('stop at', epoch)
            self.model.stop_training = True
'''


def test_a_callback_that_reads_only_its_logs_is_played_on_the_stand_in(
        tmp_path: Path) -> None:
    """The course's callback can reach nothing of its model but the stop flag
    (grader.evidence.callback_reach), so the test plays it on the harness's small model
    and never loads the student's: it stops where it would on the student's own model,
    the first epoch of each run whose accuracy is above the threshold."""
    saved = _small_saved_model(tmp_path / "model.keras")
    runs = epoch_runs(SPEC.accuracy_threshold, 3)
    configs = [r.as_config() for r in runs]
    sources = extract([COURSE_CALLBACK])
    assert [s.logs_only for s in sources] == [True]
    on_stand_in = callback_test.run(sources, configs, SPEC, (150, 150, 3), _sandbox(),
                                    model_file=saved)
    on_own = callback_test.run([replace(s, logs_only=False) for s in sources], configs,
                               SPEC, (150, 150, 3), _sandbox(), model_file=saved)

    assert on_stand_in.model == callback_test.MODEL_USED["logs_only"]
    assert on_own.model == callback_test.MODEL_USED["student"]
    expected = [next((i for i, (accuracy, _) in enumerate(run) if accuracy > 0.999), None)
                for run in configs]
    for outcome in (on_stand_in, on_own):
        assert [t.error for t in outcome.tests] == [None] * len(configs)
        assert [t.stopped_at for t in outcome.tests] == expected
    assert [t.output for t in on_stand_in.tests] == [t.output for t in on_own.tests]
