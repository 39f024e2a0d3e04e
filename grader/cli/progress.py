"""What an instructor watches while a class is graded: a bar on a terminal, lines in a log.

On a terminal: a rich progress bar with the count, the time left, and the last finished
submission's score. Elsewhere (CI logs, `| tee`): one plain line per submission, because
a redrawn bar turns a log file into noise. `--quiet`: nothing until the end.

A line names a student, so it is made inert (grader.terminal) and the bar's text column
shows it as text, not rich markup.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from grader.classwork.batch import Listener
from grader.cli.common import console, tolerant
from grader.results.result import GradeResult
from grader.terminal import inert


def _score(result: GradeResult) -> str:
    text = f"{result.student}: {result.score:g} / {result.max_score:g}"
    return inert(text if result.status == "graded" else f"{text} ({result.status})")


class Quiet(Listener):
    pass


class Lines(Listener):
    def __init__(self, stream: Any = None) -> None:
        self.stream = tolerant(stream or sys.stdout)
        self.total = self.done = 0
        self.start = time.monotonic()

    def started(self, total: int, to_grade: int) -> None:
        self.total = total
        reused = total - to_grade - self.done
        print(f"{total} submission(s): {to_grade} to grade"
              + (f", {self.done} already graded (cached)" if self.done else "")
              + (f", {reused} not gradable" if reused > 0 else ""),
              file=self.stream, flush=True)

    def finished(self, result: GradeResult, reused: bool) -> None:
        self.done += 1
        if reused:
            return
        print(f"[{self.done}/{self.total or '?'}] graded {_score(result)}", file=self.stream,
              flush=True)


class Bar(Listener):
    """rich's Progress; started lazily because the total is known only after the cache
    lookups, which report their hits first."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"),
                                 TimeRemainingColumn(),
                                 TextColumn("{task.fields[last]}", markup=False),
                                 console=console(), transient=False)
        self.task: Any = None
        self.reused = 0

    def started(self, total: int, to_grade: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task("grading", total=to_grade,
                                           last=f"({self.reused} cached)" if self.reused
                                           else "")

    def finished(self, result: GradeResult, reused: bool) -> None:
        if reused:
            self.reused += 1
            return
        if self.task is not None:
            self.progress.update(self.task, advance=1, last=f"last: {_score(result)}")

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()


def choose(quiet: bool) -> Listener:
    if quiet:
        return Quiet()
    if sys.stdout.isatty():
        return Bar()
    return Lines()
