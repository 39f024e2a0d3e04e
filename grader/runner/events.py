"""The run's account of itself, sent to the trusted side the moment each part is recorded.

Why: the probe records in the same process as the student's code, and that code can read
this file and edit what was recorded before it is written (cut the epochs a callback
never stopped, say). So every change is sent at once, as one JSON line, on a pipe whose
other end is the grader outside the sandbox: what was sent cannot be taken back. The
trusted side (grader/run/events.py) replays the lines and refuses any that would change a
value already set. A student can still *add* lines; what they claim is corroborated there
with what the grader sees from outside the run.

Records are dicts and lists that send their own changes: `record[key] = value` sends a
`set`, `records.add(value)` sends an `add` and returns the tracked value, so code keeps
recording into the object it holds.
"""

from __future__ import annotations

import json
import os
from typing import Any

from grader.runner.contract import EVENTS_FD_ENV

_LINE_LIMIT = 1 << 20  # a longer line is not an event the probe makes


class Stream:
    """The write end of the event pipe (none when the run was started without one)."""

    def __init__(self, descriptor: int | None) -> None:
        self.descriptor = descriptor

    def send(self, op: str, path: list[Any], value: Any) -> None:
        if self.descriptor is None:
            return
        line = json.dumps({"o": op, "p": path, "v": value}, default=repr,
                          separators=(",", ":")) + "\n"
        data = line.encode("utf-8", "replace")[:_LINE_LIMIT]
        try:
            while data:
                data = data[os.write(self.descriptor, data):]
        except OSError:
            self.descriptor = None  # closed under us: the trusted side sees the gap


_stream: Stream | None = None


def stream() -> Stream:
    """This process's stream, from the descriptor the grader passed (GRADER_EVENTS_FD)."""
    global _stream
    if _stream is None:
        raw = os.environ.get(EVENTS_FD_ENV, "")
        _stream = Stream(int(raw) if raw.isdigit() else None)
    return _stream


class Record(dict):  # type: ignore[type-arg]
    """A dict whose every `record[key] = value` is sent as it happens."""

    def __init__(self, channel: Stream, path: list[Any], initial: dict[str, Any]) -> None:
        super().__init__()
        self._channel, self._path = channel, path
        for key, value in initial.items():
            super().__setitem__(key, tracked(value, channel, [*path, key]))

    def __setitem__(self, key: str, value: Any) -> None:
        value = tracked(value, self._channel, [*self._path, key])
        super().__setitem__(key, value)
        self._channel.send("set", [*self._path, key], value)

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a trace record only grows: set keys one by one")

    update = pop = popitem = clear = __delitem__ = _refuse  # type: ignore[assignment]


class Records(list):  # type: ignore[type-arg]
    """A list that only grows; `add` sends the new item and returns it, tracked."""

    def __init__(self, channel: Stream, path: list[Any], initial: list[Any]) -> None:
        super().__init__(tracked(v, channel, [*path, i]) for i, v in enumerate(initial))
        self._channel, self._path = channel, path

    def add(self, value: Any) -> Any:
        value = tracked(value, self._channel, [*self._path, len(self)])
        super().append(value)
        self._channel.send("add", self._path, value)
        return value

    def append(self, value: Any) -> None:
        self.add(value)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a trace list only grows: use add()")

    extend = insert = pop = remove = clear = sort = reverse = _refuse  # type: ignore[assignment]
    __setitem__ = __delitem__ = __iadd__ = _refuse  # type: ignore[assignment]


def tracked(value: Any, channel: Stream, path: list[Any]) -> Any:
    if isinstance(value, Record | Records):
        return value
    if isinstance(value, dict):
        return Record(channel, path, value)
    if isinstance(value, list):
        return Records(channel, path, value)
    return value


def root(name: str, initial: dict[str, Any]) -> Record:
    """A top-level record (`trace`, `execution`), announced whole on the stream."""
    channel = stream()
    record = Record(channel, [name], initial)
    channel.send("set", [name], record)
    return record
