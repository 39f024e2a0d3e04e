"""The grader's own Keras callbacks, and the test of the student's stopping callback.

The student's callbacks get logs that answer to both 'acc' and 'accuracy'; FitRecorder
runs last so it sees what the student's callback did.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import keras

from grader.runner.compat import AliasLogs
from grader.runner.recorder import current, plain
from grader.runner.saving import save_model

_BUILTIN_CALLBACKS = ("History", "ProgbarLogger")
# (below, above) the threshold; set by bootstrap from the exercise spec's rubric params.
TEST_ACCURACIES: tuple[float, float] = (0.998, 0.9995)


class FitRecorder(keras.callbacks.Callback):
    def __init__(self, entry: dict[str, Any], user_callbacks: list[Any]) -> None:
        super().__init__()
        self.entry = entry
        self.user_callbacks = user_callbacks

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.entry["epochs"].append({"epoch": epoch + 1, "logs": plain(dict(logs or {}))})
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


def _epoch_logs(accuracy: float, loss: float) -> dict[str, float]:
    return {"loss": loss, "acc": accuracy, "accuracy": accuracy}


def test_callbacks(callbacks: list[Any], fit_id: int) -> None:
    """Call each student callback at 0.998 then at 0.9995 accuracy: it must stop only after
    the second. This grades the callback even when real training never crossed 0.999."""
    recorder = current()
    below, above = TEST_ACCURACIES
    for callback in callbacks:
        name = type(callback).__name__
        if name in _BUILTIN_CALLBACKS:
            continue
        result: dict[str, Any] = {"fit_id": fit_id, "callback": name,
                                  "stopped_below": None, "stopped_above": None,
                                  "error": None, "output": ""}
        method = getattr(callback.on_epoch_end, "_grader_original", callback.on_epoch_end)
        previous_model = getattr(callback, "_model", None)
        output = io.StringIO()
        try:
            stand_in = _stand_in_model()
            callback.set_model(stand_in)
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                method(0, _epoch_logs(below, 0.05))
                result["stopped_below"] = bool(stand_in.stop_training)
                stand_in.stop_training = False
                method(1, _epoch_logs(above, 0.02))
                result["stopped_above"] = bool(stand_in.stop_training)
        except Exception as exc:  # noqa: BLE001 - the student's callback failing is a verdict
            result["error"] = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            if previous_model is not None:
                with contextlib.suppress(Exception):
                    callback.set_model(previous_model)
        result["output"] = output.getvalue()[:300]
        recorder.data["callback_tests"].append(result)
    recorder.flush()
