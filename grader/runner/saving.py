"""The trained model, saved where the trusted scorer will look for it (artefacts/model.keras).

Saved at the end of every fit, atomically, so a run killed later (the lessons' last cell
SIGKILLs its own kernel; the time limit) still leaves the last trained model behind.
"""

from __future__ import annotations

import os
from typing import Any

from grader.runner.contract import MODEL_FILE
from grader.runner.recorder import current


def save_model(model: Any) -> None:
    """Save without optimizer state: smaller, faster, and the scorer never needs it."""
    recorder = current()
    path = recorder.path.parent / MODEL_FILE
    tmp = path.with_name("model.tmp.keras")
    optimizer = getattr(model, "optimizer", None)
    try:
        if optimizer is not None:
            model.optimizer = None
        try:
            model.save(tmp)
        finally:
            if optimizer is not None:
                model.optimizer = optimizer
        os.replace(tmp, path)
        recorder.data["model_saved"] = True
        recorder.data["model_error"] = None
    except Exception as exc:  # noqa: BLE001 - reported to the trusted side, never fatal
        recorder.data["model_error"] = f"{type(exc).__name__}: {exc}"[:500]
    recorder.flush()
