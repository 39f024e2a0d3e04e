"""The trusted end of the run's event stream: read as it arrives, replayed append-only.

The runner sends each change of its trace the moment it is made (grader/runner/events.py):
`{"o": "set" | "add", "p": path, "v": value}`, one JSON line each, on a pipe created here
and passed into the sandbox. A thread reads the pipe while the run goes, stamps each
line with the time it arrived and replays it at once, so the grader knows *when* each
epoch ended, not only that the run says it did.

Replaying the lines rebuilds the trace under one rule: what was recorded stays recorded.
A list only grows; a key set once (to anything but "not yet": None, False) cannot be
set to something else. A line that breaks the rule is a rewrite — the student's code
editing what the grader had already been told — and is refused and reported: the
evidence module (grader/evidence) then trusts nothing that only the trace says. A
student can still add lines; what they claim is corroborated elsewhere.

The stream is hostile data, so the trusted side is linear and bounded in it (issue 19):
each line is parsed once, as it arrives, and then dropped (the replay never holds the raw
lines beside their parsed copies); the record it rebuilds holds at most MAX_VALUES JSON
values, nested at most MAX_DEPTH deep (the probe's nest under ten), so neither a megabyte
line of `[[],[],…]` (3 bytes of JSON, ~70 of Python each) nor a 900-deep value (which
made comparisons recurse) reaches the trusted process; and when each change arrived is
indexed by its path, so asking for it costs one lookup, not a scan of every event.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from grader.runner.contract import EXECUTION_ROOT, MODEL_ERROR, TRACE_ROOT

MAX_STREAM_BYTES = 64 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
MAX_EVENTS = 200_000
# JSON values (each container, string, number) the replayed record may hold: an honest
# trace holds a few thousand (a 10,000-epoch fit with four logs ~60,000). Each costs the
# trusted process ~150 bytes at most beyond its text (a dict and a copy of each of its
# keys: json shares no key between lines), so the record stays under ~75 MB plus what
# long strings take, which the 64 MB cap bounds.
MAX_VALUES = 500_000
MAX_PATH = 16  # parts of a path; the probe's have at most six
MAX_DEPTH = 32  # a path plus its value; the probe's records nest under ten
MAX_KEY = 200  # characters of a key named in a path; the probe's are field names
MAX_KEPT = 100  # refused rewrites kept (each says what was changed; one is enough)
_ROOTS = (TRACE_ROOT, EXECUTION_ROOT)
# keys the probe legitimately sets more than once
_MUTABLE = {(TRACE_ROOT, MODEL_ERROR)}
_NOT_AN_EVENT = "a line of the event stream is not an event; ignored"


@dataclass(frozen=True, slots=True)
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
    values: int = 0  # JSON values the state holds (at most MAX_VALUES)
    full: bool = False  # an event would have taken it over MAX_VALUES: no more replayed
    # (op, path) → arrival times, built from `events` as they are asked for
    _times: dict[tuple[str, tuple[Any, ...]], list[float]] = field(
        default_factory=dict, repr=False, compare=False)
    _indexed: int = field(default=0, repr=False, compare=False)
    _paths: dict[tuple[Any, ...], tuple[Any, ...]] = field(
        default_factory=dict, repr=False, compare=False)

    def shared(self, path: tuple[Any, ...]) -> tuple[Any, ...]:
        """One tuple, of interned names, for every event on the same path: 200,000 epochs
        hold one path, not 200,000 copies of it and of its names."""
        path = tuple(sys.intern(part) if type(part) is str else part for part in path)
        return self._paths.setdefault(path, path)

    def root(self, name: str) -> dict[str, Any] | None:
        value = self.state.get(name)
        return value if isinstance(value, dict) else None

    def times(self, op: str, path: tuple[Any, ...]) -> list[float]:
        """When each `op` on exactly `path` arrived, in order. Indexed: the evidence asks
        this for every recorded evaluate call, and a scan of all the events each time made
        200,000 events cost minutes."""
        for event in self.events[self._indexed:]:
            self._times.setdefault((event.op, event.path), []).append(event.at)
        self._indexed = len(self.events)
        return list(self._times.get((op, path), ()))


class EventReader:
    """Reads the pipe in a thread for as long as the run lives and replays each line as it
    arrives; bounded in bytes, lines and events, so a run that floods the pipe costs the
    grader nothing but a note."""

    def __init__(self, clock: float) -> None:
        self.read_end, self.write_end = os.pipe()
        self.problems: list[str] = []
        self._replay = Replay()
        self._lines = 0
        self._done = False  # finish() took the replay: no line changes it any more
        self._lock = threading.Lock()
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
        pending: list[bytes] = []  # the pieces of a line not ended yet
        size = total = 0
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
                *complete, rest = chunk.split(b"\n")
                now = time.monotonic() - self._started
                for line in complete:
                    self._keep(now, b"".join([*pending, line]) if pending else line)
                    pending, size = [], 0
                if rest:
                    pending.append(rest)
                    size += len(rest)
                if size > MAX_LINE_BYTES:
                    self.problems.append("an event line was longer than 1 MB; dropped")
                    pending, size = [], 0
        if pending:
            self._keep(time.monotonic() - self._started, b"".join(pending))

    def _keep(self, at: float, line: bytes) -> None:
        with self._lock:
            if self._done:
                return
            self._lines += 1
            if self._lines <= MAX_EVENTS:
                replay_line(self._replay, at, line)
            elif self._lines == MAX_EVENTS + 1:
                self.problems.append(f"more than {MAX_EVENTS} events; the rest were ignored")

    def finish(self, timeout: float = 10.0) -> Replay:
        """Wait for the end of the stream (every writer gone) and return its replay."""
        self._thread.join(timeout)
        with self._lock:
            self._done = True
            if self._thread.is_alive():
                self.problems.append("the event stream was still open after the run ended "
                                     "(a process of the run kept it); read up to then")
            replay = self._replay
            replay.problems[:0] = self.problems
        return replay


def replay_lines(lines: list[tuple[float, bytes]]) -> Replay:
    """The replay of (arrival time, line) pairs: what EventReader builds as they arrive."""
    replay = Replay()
    for at, line in lines:
        replay_line(replay, at, line)
    return replay


def replay_line(replay: Replay, at: float, line: bytes) -> None:
    """Apply one line of the stream to `replay`: its event, or the reason it was refused."""
    if not line.strip():
        return
    replay.received = True
    if replay.full:
        return  # noted when it filled
    try:
        raw = json.loads(line)
        op, path, value = raw["o"], tuple(raw["p"]), raw.get("v")
    except (ValueError, KeyError, TypeError, RecursionError):
        _note(replay.problems, _NOT_AN_EVENT)
        return
    if len(path) > MAX_PATH or any(isinstance(part, str) and len(part) > MAX_KEY
                                   for part in path):
        _note(replay.problems, _NOT_AN_EVENT)  # no record of the probe is that deep
        return
    target = _target(replay.state, op, path, value)
    if isinstance(target, str):
        if not target.startswith("rewrite: "):
            _note(replay.problems, target)
        elif len(replay.rewrites) < MAX_KEPT:
            replay.rewrites.append(target[len("rewrite: "):])
        return
    # weighed only once it would be applied: a refused line costs its parsing alone
    weight = _weight(value, MAX_DEPTH - len(path))
    if weight is None:
        _note(replay.problems, _NOT_AN_EVENT)
        return
    if replay.values + weight > MAX_VALUES:
        replay.full = True
        _note(replay.problems, f"the event stream would make a record of more than "
                               f"{MAX_VALUES:,} values; the rest was not replayed")
        return
    container, key = target
    if key is None:
        container.append(value)
    else:
        container[key] = value
    replay.events.append(Event(at, sys.intern(op), replay.shared(path)))
    replay.values += weight


def _weight(value: Any, room: int) -> int | None:
    """How many JSON values `value` holds, itself included; None when it nests deeper
    than `room` levels. Walked with a stack: the value may be as deep as json allows."""
    count, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        count += 1
        children = item.values() if isinstance(item, dict) else item \
            if isinstance(item, list) else ()
        if children and depth >= room:
            return None
        stack.extend((child, depth + 1) for child in children)
    return count


def _note(problems: list[str], message: str) -> None:
    if message not in problems:
        problems.append(message)


def _target(state: dict[str, Any], op: str, path: tuple[Any, ...],
            value: Any) -> tuple[Any, str | None] | str:
    """Where one event changes the record — (the list to add to, None) or (the record,
    the key to set) — else why it may not ("rewrite: …" for a change of something already
    recorded)."""
    if not path or path[0] not in _ROOTS or op not in ("set", "add"):
        return "an event names no known part of the trace; ignored"
    if len(path) == 1:
        if op != "set" or not isinstance(value, dict):
            return "an event replaces a whole trace; ignored"
        if path[0] in state:
            return f"rewrite: the {path[0]} record was started twice"
        return state, path[0]
    parent = _resolve(state, path[:-1] if op == "set" else path)
    if op == "add":
        if not isinstance(parent, list):
            return "an event adds to something that is not a list; ignored"
        return parent, None
    key = path[-1]
    if not isinstance(parent, dict) or not isinstance(key, str):
        return "an event sets a key of something that is not a record; ignored"
    if key in parent and parent[key] not in (None, False) and parent[key] != value \
            and (path[0], key) not in _MUTABLE:
        return f"rewrite: {'.'.join(map(str, path[1:]))} was changed after it was recorded"
    return parent, key


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
