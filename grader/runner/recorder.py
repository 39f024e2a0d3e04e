"""The trace a run leaves behind: records kept in memory, each change sent to the trusted
side as it happens (runner/events.py), and the whole flushed atomically to trace.json.

Flushed after every event so that a kernel killed mid-run (the lessons' last cell sends
SIGKILL to itself) loses nothing recorded before it; the trusted side reads the stream,
and the file only where no stream could be passed (the Jupyter-kernel executor).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from grader.runner.contract import (
    COMPAT_NOTES,
    COMPILES,
    DATASETS,
    ENTRY_POINTS,
    FITS,
    FLOWS,
    GENERATORS,
    INFERENCES,
    MODEL_ERROR,
    MODEL_SAVED,
    OUTSIDE_FIT,
    RESCALINGS,
    TRACE_ROOT,
)
from grader.runner.events import root

TRACE_SCHEMA = 3  # 2: sent as events; entry_points a list; 3: no callback_tests (run apart)
_MAX_STR = 2000
_MAX_ITEMS = 200


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, size-bounded copy of a value the student's code handed to Keras."""
    if value is None or isinstance(value, bool | str):
        return value if not isinstance(value, str) else value[:_MAX_STR]
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth > 4:
        return repr(value)[:200]
    if isinstance(value, dict):
        return {str(k)[:200]: plain(v, depth + 1) for k, v in list(value.items())[:_MAX_ITEMS]}
    if isinstance(value, list | tuple):
        return [plain(v, depth + 1) for v in list(value)[:_MAX_ITEMS]]
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return plain(value.item(), depth + 1)  # numpy / tensor scalar
    if hasattr(value, "numpy"):
        try:
            return plain(value.numpy().tolist(), depth + 1)
        except Exception:  # noqa: BLE001 - any odd tensor is just shown by repr
            pass
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)[:200]


class Recorder:
    """Holds the trace, sends every change on the event stream as it is made
    (runner/events.py) and writes it to trace.json after each event, so a run killed
    mid-way leaves what it recorded; one per run process (the shell, kernel or module
    run)."""

    def __init__(self, path: Path, tmp_remap: str | None = None) -> None:
        self.path = path
        self.tmp_remap = tmp_remap
        self.data = root(TRACE_ROOT, {
            "schema": TRACE_SCHEMA,
            GENERATORS: [], FLOWS: [], DATASETS: [], RESCALINGS: [], COMPILES: [],
            FITS: [], INFERENCES: [], ENTRY_POINTS: [],
            COMPAT_NOTES: [], OUTSIDE_FIT: [],
            MODEL_SAVED: False, MODEL_ERROR: None,
        })

    def add(self, section: str, record: dict[str, Any] | str) -> Any:
        """Append a record to one of the trace's lists; returns it, tracked, so later
        changes to it are sent too."""
        return self.data[section].add(record)

    def shown_path(self, path: Any) -> str:
        """A path as the student wrote it: undo the grader's /tmp remapping (fallback mode)."""
        text = os.fspath(path) if isinstance(path, str | os.PathLike) else repr(path)
        if self.tmp_remap and text.startswith(self.tmp_remap):
            return "/tmp" + text[len(self.tmp_remap):]
        return text

    def note(self, message: str) -> None:
        """A compatibility rewrite; each distinct one is recorded once."""
        if message not in self.data[COMPAT_NOTES]:
            self.add(COMPAT_NOTES, message)
            self.flush()

    def flush(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, default=repr))
        os.replace(tmp, self.path)


_current: Recorder | None = None


def install(recorder: Recorder) -> None:
    global _current
    _current = recorder


def current() -> Recorder:
    if _current is None:
        raise RuntimeError("grader probe used before bootstrap")
    return _current
