"""The event stream: the runner's tracked records send every change, the trusted side
replays them append-only and refuses rewrites (issue 11, 1b)."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from grader.run.events import EventReader, is_prefix, replay_lines
from grader.runner import events as runner_events


def lines(*events: dict[str, Any], start: float = 0.0) -> list[tuple[float, bytes]]:
    return [(start + i, json.dumps(e).encode()) for i, e in enumerate(events)]


def test_tracked_records_send_each_change_and_replay_to_the_same_trace() -> None:
    read, write = os.pipe()
    runner_events._stream = runner_events.Stream(write)
    try:
        trace = runner_events.root("trace", {"fits": [], "model_saved": False})
        fit = trace["fits"].add({"id": 0, "epochs": [], "stopped_by": None})
        fit["epochs"].add({"epoch": 1, "logs": {"accuracy": 0.5}})
        fit["stopped_by"] = {"callback": "C", "epoch": 1}
        trace["model_saved"] = True
    finally:
        runner_events._stream = None
        os.close(write)
    with os.fdopen(read, "rb") as pipe:
        received = [(0.0, line) for line in pipe.read().splitlines()]
    replay = replay_lines(received)
    assert replay.rewrites == [] and replay.problems == []
    assert replay.root("trace") == json.loads(json.dumps(trace))
    assert [e.op for e in replay.events] == ["set", "add", "add", "set", "set"]


def test_tracked_records_only_grow() -> None:
    runner_events._stream = runner_events.Stream(None)
    try:
        trace = runner_events.root("trace", {"fits": [1, 2]})
        with pytest.raises(TypeError):
            del trace["fits"]
        with pytest.raises(TypeError):
            trace["fits"].pop()
        with pytest.raises(TypeError):
            trace.update({"fits": []})
    finally:
        runner_events._stream = None


def test_a_value_changed_after_it_was_recorded_is_a_refused_rewrite() -> None:
    replay = replay_lines(lines(
        {"o": "set", "p": ["trace"], "v": {"fits": []}},
        {"o": "add", "p": ["trace", "fits"], "v": {"stopped_by": None, "epochs": []}},
        {"o": "set", "p": ["trace", "fits", 0, "stopped_by"], "v": {"epoch": 15}},
        {"o": "set", "p": ["trace", "fits", 0, "stopped_by"], "v": {"epoch": 7}},
    ))
    assert replay.rewrites == ["fits.0.stopped_by was changed after it was recorded"]
    assert replay.root("trace")["fits"][0]["stopped_by"] == {"epoch": 15}


def test_setting_what_was_not_yet_set_and_the_model_error_are_allowed() -> None:
    replay = replay_lines(lines(
        {"o": "set", "p": ["trace"], "v": {"model_error": "x", "completed": False}},
        {"o": "set", "p": ["trace", "completed"], "v": True},
        {"o": "set", "p": ["trace", "model_error"], "v": None},
    ))
    assert replay.rewrites == [] and replay.root("trace") == {"model_error": None,
                                                              "completed": True}


@pytest.mark.parametrize("line", [b"not json", b'{"o": "del", "p": ["trace"]}',
                                  b'{"o": "set", "p": ["elsewhere", "x"], "v": 1}',
                                  b'{"o": "add", "p": ["trace", "missing"], "v": 1}',
                                  b'[1, 2]', b'{"o": "set", "p": ["trace"], "v": 3}'])
def test_junk_on_the_stream_is_a_problem_never_an_exception(line: bytes) -> None:
    replay = replay_lines([(0.0, b'{"o": "set", "p": ["trace"], "v": {}}'), (1.0, line)])
    assert replay.problems and replay.root("trace") == {}


def test_the_reader_stamps_lines_as_they_arrive_and_survives_a_flood() -> None:
    reader = EventReader(time.monotonic())
    write = reader.start()
    os.write(write, b'{"o": "set", "p": ["trace"], "v": {}}\n')
    time.sleep(0.3)
    os.write(write, b'{"o": "set", "p": ["execution"], "v": {}}\n')
    os.write(write, b"x" * (2 * 1024 * 1024) + b"\n")  # one line longer than any event
    reader.close_write_end()
    replay = reader.finish()
    first, second = replay.events
    assert second.at - first.at >= 0.25
    assert any("longer than 1 MB" in p or "not an event" in p for p in replay.problems)


def test_a_trace_file_is_a_prefix_of_the_stream_only_if_nothing_was_changed() -> None:
    stream = {"fits": [{"epochs": [1, 2, 3], "stopped_by": None}], "model_error": None}
    assert is_prefix({"fits": [{"epochs": [1, 2], "stopped_by": None}]}, stream)
    assert not is_prefix({"fits": [{"epochs": [1, 2], "stopped_by": {"epoch": 2}}]}, stream)
    assert not is_prefix({"fits": [{"epochs": [1, 2, 3, 4]}]}, stream)
    assert not is_prefix({"fits": [{"epochs": [1, 9]}]}, stream)
