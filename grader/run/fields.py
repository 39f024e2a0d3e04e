"""Typed, bounded readers of the JSON a run leaves: its event stream's record and its
trace.json and execution.json (grader.run.trace builds the Trace with them).

Why apart from trace.py: these are the rules for any untrusted JSON — a wrong type is a
problem noted once, never an exception; a free-form value is cut to a small shape before
it is written out; a file is refused, before it is parsed, when its text holds more values
than any trace (5 MB of `[[],[],…]` is 1.7 million values, ~110 MB of Python) — while
trace.py says what a trace holds.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import Any

from grader.run.artefacts import MAX_JSON_BYTES, open_artefact, read_json
from grader.run.events import MAX_VALUES

MAX_CLASSES = 100  # class_indices kept per flow (the course's data sets have two to ten)
# values trace.json or execution.json may hold: no more than the stream's record (a file
# must be a prefix of it)
MAX_FILE_VALUES = MAX_VALUES


class Reader:
    """Typed getters that note a problem instead of raising on a wrong type."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def note(self, problem: str) -> None:
        """Note `problem` once: a run can give a wrong type to every one of a million
        fields, and the result says each kind of mistake once."""
        if problem not in self.problems:
            self.problems.append(problem)

    def get(self, raw: Any, key: str, kind: type | tuple[type, ...], default: Any = None,
            limit: int = 1000) -> Any:
        value = raw.get(key, default) if isinstance(raw, dict) else default
        if value is None or value is default:
            return value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is int and isinstance(value, bool):
            value = None
        if not isinstance(value, kind):
            self.note(f"trace field '{key}' has an unexpected type")
            return default
        if isinstance(value, float) and not math.isfinite(value):
            return default
        if isinstance(value, str):
            return value[:limit]
        return value

    def items(self, raw: Any, key: str, limit: int = 500) -> list[Any]:
        value = raw.get(key) if isinstance(raw, dict) else None
        if not isinstance(value, list):
            if value is not None:
                self.note(f"trace field '{key}' is not a list")
            return []
        return [v for v in value[:limit] if isinstance(v, dict)]


def bounded(value: Any, depth: int = 0) -> Any:
    """A free-form value (generator kwargs, loss, metrics) cut to a sane shape: reports and
    result.json never carry a 900-deep structure or a megabyte string from the run."""
    if isinstance(value, str):
        return value[:300]
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= 4:
        return "…"
    if isinstance(value, dict):
        return {str(k)[:100]: bounded(v, depth + 1)
                for k, v in itertools.islice(value.items(), 50)}
    if isinstance(value, list):
        return [bounded(v, depth + 1) for v in value[:50]]
    return None


def optional_floats(raw: Any) -> tuple[float | None, ...]:
    """Up to 20 numbers, each None where the run sent something else (a rescale)."""
    if not isinstance(raw, list):
        return ()
    return tuple(float(v) if isinstance(v, int | float) and not isinstance(v, bool)
                 and math.isfinite(v) else None for v in raw[:20])


def text(value: Any, limit: int) -> str:
    """A free-form value as text of at most `limit` characters, without first writing out
    all of a value that may hold a million items."""
    return (value if isinstance(value, str) else str(bounded(value)))[:limit]


def classes(raw: Any) -> dict[str, int] | None:
    """A flow's class indices, at most MAX_CLASSES of them: a report lists them all."""
    if not isinstance(raw, dict):
        return None
    return {str(k)[:100]: v for k, v in itertools.islice(raw.items(), MAX_CLASSES)
            if isinstance(v, int)}


def size(raw: Any) -> tuple[int, ...] | None:
    """An image size of up to four ints, else None (the length is checked first: the run
    may send a million)."""
    if isinstance(raw, list) and len(raw) <= 4 and all(isinstance(v, int) for v in raw):
        return tuple(raw)
    return None


def json_object(value: Any, name: str, problems: list[str]) -> dict[str, Any]:
    """A file's top-level value as a record; anything else is a problem and nothing."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{name} is not a JSON object; ignored")
        return {}
    return value


def json_file(path: Path, problems: list[str]) -> Any:
    """An artefact's JSON, unless its text holds more values than any trace does. Counted
    on the bytes, before a value is made: each value but the first follows a comma or
    opens a container, so commas and brackets bound the count from above."""
    descriptor = open_artefact(path.parent, path.name)
    if descriptor is not None:
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(MAX_JSON_BYTES + 1)
        if len(data) <= MAX_JSON_BYTES \
                and sum(map(data.count, (b",", b"[", b"{"))) > MAX_FILE_VALUES:
            problems.append(f"{path.name} holds more values than any trace; ignored")
            return None
    return read_json(path, problems)
