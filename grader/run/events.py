"""The trusted end of the run's event stream: read as it arrives, replayed append-only.

The runner sends each change of its trace the moment it is made (grader/runner/events.py):
`{"o": "set" | "add", "p": path, "v": value}`, one JSON line each, on a pipe created here
and passed into the sandbox. A thread reads the pipe while the run goes and stamps each
line with the time it arrived, so the grader knows *when* each epoch ended, not only
that the run says it did.

Replaying the lines rebuilds the trace under one rule: what was recorded stays recorded.
A list only grows; a key set once (to anything but "not yet": None, False) cannot be
set to something else. A line that breaks the rule is a rewrite — the student's code
editing what the grader had already been told — and is refused and reported: the
evidence module (grader/evidence) then trusts nothing that only the trace says. A
student can still add lines; what they claim is corroborated elsewhere.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from grader.runner.contract import EXECUTION_ROOT, MODEL_ERROR, TRACE_ROOT

MAX_STREAM_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_EVENTS = 200_000
_ROOTS = (TRACE_ROOT, EXECUTION_ROOT)
# keys the probe legitimately sets more than once
_MUTABLE = {(TRACE_ROOT, MODEL_ERROR)}


@dataclass(frozen=True)
class Event:
    at: float  # seconds since the stream was opened, when the line arrived
    op: str
    path: tuple[Any, ...]


@dataclass
class Replay:
    """What the stream says, rebuilt: the trace and the execution record, when each change
    arrived, and what had to be refused."""

    state: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    rewrites: list[str] = field(default_factory=list)  # refused changes of recorded values
    problems: list[str] = field(default_factory=list)  # malformed lines, limits
    received: bool = False  # any line at all arrived

    def root(self, name: str) -> dict[str, Any] | None:
        value = self.state.get(name)
        return value if isinstance(value, dict) else None

    def times(self, op: str, path: tuple[Any, ...]) -> list[float]:
        """When each `op` on exactly `path` arrived, in order."""
        return [e.at for e in self.events if e.op == op and e.path == path]


class EventReader:
    """Reads the pipe in a thread for as long as the run lives; bounded in bytes, lines
    and events, so a run that floods the pipe costs the grader nothing but a note."""

    def __init__(self, clock: float) -> None:
        self.read_end, self.write_end = os.pipe()
        self.lines: list[tuple[float, bytes]] = []
        self.problems: list[str] = []
        self._started = clock
        self._thread = threading.Thread(target=self._read, daemon=True)

    def start(self) -> int:
        """Start reading; returns the descriptor to pass into the run (the same number
        there: subprocess and bubblewrap keep it)."""
        self._thread.start()
        return self.write_end

    def close_write_end(self) -> None:
        """The run is over (every process of it killed): close the grader's copy of the
        write end, so the reader sees the end of the stream."""
        os.close(self.write_end)

    def _read(self) -> None:
        pending, total = b"", 0
        with os.fdopen(self.read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                total += len(chunk)
                if total > MAX_STREAM_BYTES:
                    self.problems.append(f"the event stream went over "
                                         f"{MAX_STREAM_BYTES // 2**20} MB; the rest was "
                                         "not read")
                    while pipe.read(65536):
                        pass  # drain, so the run never blocks on a full pipe
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                now = time.monotonic() - self._started
                for line in complete:
                    self._keep(now, line)
                if len(pending) > MAX_LINE_BYTES:
                    self.problems.append("an event line was longer than 1 MB; dropped")
                    pending = b""
        if pending:
            self._keep(time.monotonic() - self._started, pending)

    def _keep(self, at: float, line: bytes) -> None:
        if len(self.lines) < MAX_EVENTS:
            self.lines.append((at, line))
        elif len(self.lines) == MAX_EVENTS:
            self.problems.append(f"more than {MAX_EVENTS} events; the rest were ignored")
            self.lines.append((at, b""))

    def finish(self, timeout: float = 10.0) -> Replay:
        """Wait for the end of the stream (every writer gone) and replay it."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.problems.append("the event stream was still open after the run ended "
                                 "(a process of the run kept it); read up to then")
        replay = replay_lines(list(self.lines))
        replay.problems[:0] = self.problems
        return replay


def replay_lines(lines: list[tuple[float, bytes]]) -> Replay:
    replay = Replay()
    for at, line in lines:
        if not line.strip():
            continue
        replay.received = True
        try:
            raw = json.loads(line)
            op, path, value = raw["o"], tuple(raw["p"]), raw.get("v")
        except (ValueError, KeyError, TypeError, RecursionError):
            _note(replay.problems, "a line of the event stream is not an event; ignored")
            continue
        error = _apply(replay.state, op, path, value)
        if error is None:
            replay.events.append(Event(at, op, path))
        elif error.startswith("rewrite"):
            replay.rewrites.append(error[len("rewrite: "):])
        else:
            _note(replay.problems, error)
    return replay


def _note(problems: list[str], message: str) -> None:
    if message not in problems:
        problems.append(message)


def _apply(state: dict[str, Any], op: str, path: tuple[Any, ...], value: Any) -> str | None:
    """Apply one event; None when applied, else why not ("rewrite: …" for a change of
    something already recorded)."""
    if not path or path[0] not in _ROOTS or op not in ("set", "add"):
        return "an event names no known part of the trace; ignored"
    if len(path) == 1:
        if op != "set" or not isinstance(value, dict):
            return "an event replaces a whole trace; ignored"
        if path[0] in state:
            return f"rewrite: the {path[0]} record was started twice"
        state[path[0]] = value
        return None
    parent = _resolve(state, path[:-1] if op == "set" else path)
    if op == "add":
        if not isinstance(parent, list):
            return "an event adds to something that is not a list; ignored"
        parent.append(value)
        return None
    key = path[-1]
    if not isinstance(parent, dict) or not isinstance(key, str):
        return "an event sets a key of something that is not a record; ignored"
    if key in parent and parent[key] not in (None, False) and parent[key] != value \
            and (path[0], key) not in _MUTABLE:
        return f"rewrite: {'.'.join(map(str, path[1:]))} was changed after it was recorded"
    parent[key] = value
    return None


def _resolve(state: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = state
    for part in path:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def is_prefix(earlier: Any, later: Any) -> bool:
    """Whether `later` could have grown out of `earlier` by appending and by setting what
    was not yet set — the one way the probe changes its trace. A trace.json that is no
    prefix of the stream was changed on disk after the events were sent."""
    if isinstance(earlier, dict) and isinstance(later, dict):
        return all(earlier[key] in (None, False) or key in later
                   and (key == MODEL_ERROR or is_prefix(earlier[key], later[key]))
                   for key in earlier)
    if isinstance(earlier, list) and isinstance(later, list):
        return len(earlier) <= len(later) and all(
            is_prefix(a, b) for a, b in zip(earlier, later, strict=False))
    return earlier == later or earlier in (None, False)
