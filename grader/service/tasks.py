"""What every grading process of the service shares: the test-only grade hook, the
heartbeat of the jobs it holds, its log line, and `cluster_task` (what a Dask worker runs
for the dispatcher).

The test-only hook: when $GRADER_SERVICE_TEST_GRADE is set to `module:function`, that
function grades instead of grade_file (same signature: path, spec, data, options →
GradeResult), in local workers and in `cluster_task`. Only the test fixtures set it (real
gradings take ~8 CPU-seconds each); the service prints a warning when it is set.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

TEST_GRADE_ENV = "GRADER_SERVICE_TEST_GRADE"
HEARTBEAT_SECONDS = 5.0


def test_grade_function() -> Callable[..., Any] | None:
    """The grade function named by $GRADER_SERVICE_TEST_GRADE, or None (the real one)."""
    named = os.environ.get(TEST_GRADE_ENV, "").strip()
    if not named:
        return None
    module, _, attribute = named.partition(":")
    return getattr(importlib.import_module(module), attribute or "grade")


class Heartbeat:
    """While a grading runs, refresh its job's heartbeat so nobody re-queues it."""

    def __init__(self, engine: Any, held: Callable[[], list[tuple[int, str]]]) -> None:
        self.engine, self.held = engine, held
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        from grader.service import queue

        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                queue.heartbeat(self.engine, self.held())
            except Exception as exc:  # noqa: BLE001 - a missed beat only risks a re-queue
                print(f"grader serve: heartbeat failed: {type(exc).__name__}", file=sys.stderr)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def cluster_task(name: str, payload: bytes, student: str, spec: Any, options: Any,
                 secret: bytes) -> Any:
    """The Dask task of the dispatcher: grader.classwork.cluster.grade_on_worker, or the
    test hook's grading of the same bytes; either draws the data with the service's course
    `secret`, never the worker's own."""
    from grader.classwork.cluster import grade_on_worker

    hook = test_grade_function()
    if hook is None:
        return grade_on_worker(name, payload, student, spec, options, secret)
    from grader.classwork.tasks import grade_safely
    from grader.exercise import datasource

    with tempfile.TemporaryDirectory(prefix="grader-task-") as folder:
        path = Path(folder) / name
        path.write_bytes(payload)
        return grade_safely(path, student, spec, datasource.resolve(spec, secret=secret),
                            options, hook)


def _log(name: str, text: str) -> None:
    print(f"grader serve: {name}: {text}", file=sys.stderr, flush=True)
