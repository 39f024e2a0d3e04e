"""The grader's own Keras callback in the student's run, and the watch on the student's.

FitRecorder runs FIRST, so the epoch's logs are recorded as Keras computed them, before
any student callback could edit them in place (Keras hands every callback the same dict).
The student's callbacks get logs that answer to both 'acc' and 'accuracy', and a watch
notes which of them set `stop_training`, and when.

The callback is not tested here: a test inside the student's process could be seen and
its records rewritten. grader.runner.callback_harness tests it in a sandbox of its own.
"""

from __future__ import annotations

from typing import Any

import keras

from grader.runner.compat import AliasLogs
from grader.runner.recorder import current, plain
from grader.runner.saving import save_model


class FitRecorder(keras.callbacks.Callback):
    def __init__(self, entry: dict[str, Any]) -> None:
        super().__init__()
        self.entry = entry

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.entry["epochs"].add({"epoch": epoch + 1, "logs": plain(dict(logs or {}))})
        current().flush()

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        save_model(self.model)
        self.entry["saved"] = True


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
