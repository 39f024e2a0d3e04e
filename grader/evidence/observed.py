"""Everything the trusted side observed of one run, in one record the evidence rules read.

Kept apart from the rules (training.py, settings.py) so each rule is a small pure function
of this record, testable with a hand-made one, like the checks.
"""

from __future__ import annotations

import bisect
import os
import posixpath
from dataclasses import dataclass, field
from typing import Any

from grader.evidence.source import SourceFacts
from grader.exercise.spec import ExerciseSpec
from grader.run.callback_test import CallbackTestOutcome
from grader.run.events import Replay
from grader.run.reads import Reads
from grader.run.trace import FitCall, Trace
from grader.scoring.types import Scoring


@dataclass(frozen=True)
class Observed:
    trace: Trace
    replay: Replay
    reads: Reads
    facts: SourceFacts
    scoring: Scoring
    spec: ExerciseSpec
    run_status: str  # the sandbox's verdict: finished, timeout, crashed, out_of_memory
    file_state: tuple[dict[str, Any], dict[str, Any]] = ({}, {})  # trace.json, execution
    train_names: frozenset[str] = frozenset()  # file names of the training images
    validation_names: frozenset[str] = frozenset()
    run_root: str = "/grader/run"  # the run folder as the run saw it
    # what the callback test, run apart from the run, found (grader.run.callback_test);
    # None where no test was asked for (evidence assembled without one)
    callback_tests: CallbackTestOutcome | None = None
    _sorted: dict[str, list[float]] = field(default_factory=dict, compare=False)

    def read_times(self, names: frozenset[str], under: str | None = None) -> list[float]:
        """When an image whose file name is in `names` (under the run-relative folder
        `under`, if given) was read, sorted."""
        key = f"{id(names)}:{under}"
        if key not in self._sorted:
            prefix = under.rstrip("/") + "/" if under else ""
            self._sorted[key] = sorted(at for at, path in self.reads.opens
                                       if os.path.basename(path) in names
                                       and path.startswith(prefix))
        return self._sorted[key]

    def fit_times(self, fit: FitCall) -> tuple[float | None, list[float], float | None]:
        """(when the fit started, when each of its epochs ended, when its stop was
        recorded) as the events arrived."""
        index = self.trace.position(fit)
        starts = self.replay.times("add", ("trace", "fits"))
        start = starts[index] if index < len(starts) else None
        epochs = self.replay.times("add", ("trace", "fits", index, "epochs"))
        stops = self.replay.times("set", ("trace", "fits", index, "stopped_by"))
        return start, epochs, (stops[0] if stops else None)

    def inference_windows(self) -> list[tuple[float, float]]:
        """When each recorded evaluate/predict call ran (its reads are not training)."""
        starts = self.replay.times("add", ("trace", "inferences"))
        windows = []
        for index, start in enumerate(starts):
            ends = self.replay.times("set", ("trace", "inferences", index, "finished"))
            windows.append((start, ends[0] if ends else float("inf")))
        return windows

    def reads_outside_inference(self, reads: list[float], after: float,
                                grace: float) -> list[float]:
        """The sorted `reads` later than `after` that fall in no recorded evaluate/predict
        call, each widened by `grace` on both sides. The windows are merged and searched:
        checking every read against every window made 500,000 reads and 100,000 calls a
        matter of hours."""
        merged: list[list[float]] = []
        for start, end in sorted((a - grace, b + grace) for a, b in self.inference_windows()):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        starts = [start for start, _ in merged]
        outside = []
        for at in reads[bisect.bisect_right(reads, after):]:
            window = bisect.bisect_right(starts, at) - 1
            if window < 0 or at > merged[window][1]:
                outside.append(at)
        return outside

    def run_relative(self, directory: str | None) -> str | None:
        """A directory as the run named it, as a path relative to the run folder (where
        the reads are recorded); None when it is not in the run folder."""
        if not directory:
            return None
        path = posixpath.normpath(directory)
        if path == "/tmp" or path.startswith("/tmp/"):
            return "tmp" + path[len("/tmp"):]
        root = self.run_root.rstrip("/")
        if path.startswith(root + "/"):
            return path[len(root) + 1:]
        if not path.startswith("/"):
            return posixpath.normpath(posixpath.join("work", path))
        return None


def count_between(times: list[float], start: float, end: float) -> int:
    """How many of the sorted `times` fall in (start, end]."""
    return bisect.bisect_right(times, end) - bisect.bisect_right(times, start)
