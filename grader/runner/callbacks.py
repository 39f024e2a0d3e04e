"""The grader's own Keras callbacks, and the test of the student's stopping callback.

The student's callbacks get logs that answer to both 'acc' and 'accuracy'; FitRecorder
runs last so it sees what the student's callback did.
"""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any

import keras

from grader.runner.compat import AliasLogs
from grader.runner.recorder import current, plain
from grader.runner.saving import save_model

_BUILTIN_CALLBACKS = ("History", "ProgbarLogger")
# The runs of epochs the callback test plays ([[accuracy, loss], …] each); set by bootstrap
# from the run config, which the trusted side fills (grader.checks.callback_sequences).
EPOCH_RUNS: list[list[list[float]]] = []


class FitRecorder(keras.callbacks.Callback):
    def __init__(self, entry: dict[str, Any], user_callbacks: list[Any]) -> None:
        super().__init__()
        self.entry = entry
        self.user_callbacks = user_callbacks

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.entry["epochs"].add({"epoch": epoch + 1, "logs": plain(dict(logs or {}))})
        current().flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        save_model(self.model)
        self.entry["saved"] = True
        test_callbacks(self.user_callbacks, self.entry["id"])
        self.entry["callbacks_tested"] = True


def watch_stop_training(callback: Any, model: Any, entry: dict[str, Any]) -> None:
    """Note which callback set model.stop_training, and at which (1-based) epoch."""
    original = callback.on_epoch_end
    if getattr(original, "_grader_watch", False):
        original = original._grader_original

    def on_epoch_end(epoch: int, logs: dict[str, Any] | None = None) -> Any:
        before = bool(getattr(model, "stop_training", False))
        try:
            return original(epoch, AliasLogs(logs or {}, "logs"))
        except Exception as exc:
            entry["callback_error"] = (f"{type(callback).__name__} raised "
                                       f"{type(exc).__name__}: {exc} at epoch {epoch + 1}")[:300]
            current().flush()
            raise
        finally:
            if not before and getattr(model, "stop_training", False) \
                    and entry["stopped_by"] is None:
                entry["stopped_by"] = {"callback": type(callback).__name__, "epoch": epoch + 1}
                current().flush()

    on_epoch_end._grader_watch = True  # type: ignore[attr-defined]
    on_epoch_end._grader_original = original  # type: ignore[attr-defined]
    callback.on_epoch_end = on_epoch_end


_stand_in: Any = None


def _stand_in_model() -> Any:
    global _stand_in
    if _stand_in is None:
        _stand_in = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    _stand_in.stop_training = False
    return _stand_in


def _fresh_copy(callback: Any) -> Any:
    """A copy of the student's callback for one run of test epochs, so state it keeps
    (a counter, a best value) starts from where training left it in every run, and the
    original keeps its model. Its on_epoch_end is the class's own, not the grader's
    recording wrapper around the original."""
    model = getattr(callback, "_model", None)
    try:
        callback._model = None
        try:
            copied = copy.deepcopy(callback)
        except Exception:  # noqa: BLE001 - whatever it holds that cannot be deep-copied
            copied = copy.copy(callback)
    finally:
        callback._model = model
    vars(copied).pop("on_epoch_end", None)
    return copied


def _logs(accuracy: float, loss: float) -> AliasLogs:
    return AliasLogs({"loss": loss, "accuracy": accuracy, "acc": accuracy}, "logs")


def _play(callback: Any, steps: list[list[float]]) -> dict[str, Any]:
    """Call on_epoch_end for each (accuracy, loss) until the callback stops training."""
    played: dict[str, Any] = {"stopped_at": None, "error": None}
    stand_in = _stand_in_model()
    copied = _fresh_copy(callback)
    copied.set_model(stand_in)
    try:
        for epoch, (accuracy, loss) in enumerate(steps):
            copied.on_epoch_end(epoch, _logs(accuracy, loss))
            if stand_in.stop_training:
                played["stopped_at"] = epoch
                break
    except Exception as exc:  # noqa: BLE001 - the student's callback failing is a verdict
        played["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return played


def test_callbacks(callbacks: list[Any], fit_id: int) -> None:
    """Play each run of epochs of the config (grader.checks.callback_sequences) to a fresh
    copy of each student callback, and record where it stopped training. The trusted side
    knows where a correct callback stops; this grades the callback even when real training
    never crossed the threshold."""
    recorder = current()
    for callback in callbacks:
        name = type(callback).__name__
        if name in _BUILTIN_CALLBACKS:
            continue
        output = io.StringIO()
        for number, steps in enumerate(EPOCH_RUNS):
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                played = _play(callback, steps)
            recorder.add("callback_tests", {"fit_id": fit_id, "callback": name,
                                            "sequence": number, **played,
                                            "output": output.getvalue()[-300:]})
    recorder.flush()
