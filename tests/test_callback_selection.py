"""Which callback classes the trusted side tests apart from the run
(grader.evidence.callback_source.to_test): the graded fit's, or where it was given none,
every class the code defines (issue 20: a right callback made but never passed)."""

from __future__ import annotations

from grader.evidence.callback_source import to_test
from grader.run.trace import Epoch, FitCall, Trace

CODE = '''
import tensorflow as tf

class Stopper(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] > 0.999:
            self.model.stop_training = True

class Printer(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        print(epoch)

class Helper:
    pass
'''


def trace(callbacks: tuple[str, ...], callback_error: str | None = None) -> Trace:
    fit = FitCall(id=1, epochs_requested=15, steps_per_epoch=8, train_flow_id=None,
                  callbacks=callbacks, epochs=(Epoch(1, {"accuracy": 0.9}),),
                  stopped_by=None, stopped_at_epoch=None, completed=True, error=None,
                  callback_error=callback_error)
    return Trace(fits=(fit,))


def names(callbacks: tuple[str, ...], **kw: object) -> list[str]:
    return [source.name for source in to_test([CODE], trace(callbacks, **kw))]


def test_the_graded_fits_callbacks_are_tested_and_no_other() -> None:
    assert names(("Printer",)) == ["Printer"]


def test_with_no_callback_passed_every_callback_class_defined_is_tested() -> None:
    assert names(()) == ["Stopper", "Printer"]  # Helper is no callback


def test_nothing_is_tested_without_a_fit_or_after_the_callback_failed_in_training() -> None:
    assert to_test([CODE], Trace()) == ()
    assert names(("Stopper",), callback_error="KeyError: 'accuracy'") == []
