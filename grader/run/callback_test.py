"""The callback test, run apart from the student's run: a sandbox of its own that holds only
the student's callback classes (cut out of the source by grader.evidence.callback_source)
and the runs of epochs drawn from the course secret (grader.checks.callback_sequences).

Why apart: the process that ran the student's notebook is the student's. A test played
there could be seen (the harness on the stack, in `sys.modules`), its runs of epochs read
from the run's config, and its records rewritten by code that ran after it. Here the
epoch runs never enter the student's run folder, and nothing of the student's other code
runs beside the test (grader.runner.callback_harness drives the classes).

The test is bounded like a run: its own memory cgroup, process limit, CPU and wall time,
output tail; its results file is read with O_NOFOLLOW and a size cap, and every field is
typed and cut here, since the callback's code wrote beside it.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.exercise.spec import ExerciseSpec
from grader.files import remove_tree
from grader.run import sandbox
from grader.run.artefacts import copy_no_follow, read_json
from grader.run.stage import RUN_ROOT_IN_SANDBOX, environment
from grader.run.warm import Zygote

RESULTS_FILE = "callback_tests.json"
MAX_RESULTS_BYTES = 1024 * 1024
# The test imports TensorFlow and fits a small model once per run of epochs (about 60
# epochs of one batch in all): seconds here. The limit is for a callback that never
# returns, sized for a machine many times slower than a developer's, never for this one.
TIME_SECONDS = 300
MEMORY_MB = 2048
MAX_MODEL_BYTES = 512 * 1024 * 1024  # as the scorer: a larger model is not loaded
# which model the callbacks were played on, as result.json says it
MODEL_USED = {"student": "the student's own model",
              "logs_only": "a small stand-in model: the callbacks' code reads only their logs",
              "not_loaded": "a small stand-in model: the student's model could not be loaded"}


@dataclass(frozen=True)
class CallbackSource:
    """One callback class as the test process gets it (grader.evidence.callback_source
    reads it out of the submission)."""

    name: str
    module: str  # Python source: its scope, then the class, at module level
    constructor: str  # an expression that makes one instance, evaluated after `module`
    problem: str | None = None  # why the extraction may be incomplete
    # its code reads only its logs and sets the stop flag (grader.evidence.callback_reach):
    # it behaves the same on any model, so the test trains the harness's stand-in
    logs_only: bool = False


@dataclass(frozen=True)
class CallbackTest:
    """How one callback class behaved on one run of epochs (indices from 0, as Keras)."""

    callback: str
    sequence: int
    stopped_at: int | None
    error: str | None
    stage: str = "play"  # "define" | "construct" | "play": where an error arose
    output: str = ""


# Errors that say the class was cut out of its code without something it needs (a value
# computed at run time), not that the callback is wrong: its training in the graded run
# met no such error.
_SCOPE_ERRORS = ("NameError", "ImportError", "ModuleNotFoundError", "UnboundLocalError")


@dataclass(frozen=True)
class CallbackTestOutcome:
    tests: tuple[CallbackTest, ...] = ()
    status: str = "not_run"  # the sandbox's status, or "not_run" (nothing to test)
    message: str = ""  # why the test gave no results, when it gave none
    model: str = ""  # which model the callbacks were played on (MODEL_USED), "" not run

    def untested(self, names: Sequence[str]) -> str:
        """Why the callback classes `names` (the graded fit's) could not be judged apart
        from the run, or "" when they were. An honest class the grader could not carry out
        of its code (its scope computed at run time, a class made by exec) is not judged
        (grader.checks.training) and goes to review (grader.evidence.settings), never
        failed."""
        tested = [t for t in self.tests if t.callback in names]
        shown = ", ".join(names[:3])
        if not tested:
            why = self.message or "its class was not found in the code"
            return f"{shown} could not be tested apart from the run: {why}"
        cut_out = [t for t in tested if t.error and (t.stage in ("define", "construct")
                                                      or t.error.startswith(_SCOPE_ERRORS))]
        if cut_out and len({t.callback for t in cut_out}) == len({t.callback
                                                                  for t in tested}):
            return (f"{cut_out[0].callback} could not be tested apart from the run "
                    f"({cut_out[0].error}): the class needs something its code computes "
                    "when it runs")
        return ""


class PendingTest:
    """A callback test started in the background: its TensorFlow import overlaps the
    trusted scoring of the model. `result()` waits for it."""

    def __init__(self, sources: Sequence[CallbackSource], epoch_runs: list[list[list[float]]],
                 spec: ExerciseSpec, input_shape: Sequence[int], use_bubblewrap: bool,
                 model_file: Path | None = None, server: Zygote | None = None) -> None:
        self._outcome = CallbackTestOutcome()
        self._thread = threading.Thread(
            target=self._run, args=(sources, epoch_runs, spec, input_shape, use_bubblewrap,
                                    model_file, server), daemon=True)
        if sources:
            self._thread.start()

    def _run(self, sources: Sequence[CallbackSource], epoch_runs: list[list[list[float]]],
             spec: ExerciseSpec, input_shape: Sequence[int], use_bubblewrap: bool,
             model_file: Path | None, server: Zygote | None) -> None:
        try:
            self._outcome = run(sources, epoch_runs, spec, input_shape, use_bubblewrap,
                                model_file, server)
        except Exception as exc:  # noqa: BLE001 - recorded, never lost
            self._outcome = CallbackTestOutcome(status="crashed",
                                                message=f"the callback test failed: {exc}")

    def result(self) -> CallbackTestOutcome:
        if self._thread.ident is not None:
            self._thread.join()
        return self._outcome


def run(sources: Sequence[CallbackSource], epoch_runs: list[list[list[float]]],
        spec: ExerciseSpec, input_shape: Sequence[int], use_bubblewrap: bool,
        model_file: Path | None = None, server: Zygote | None = None) -> CallbackTestOutcome:
    """Test every class of `sources` (CallbackSource: name, module, constructor) on every
    run of epochs, in a fresh sandbox, and read back what the harness found. The callback
    trains the student's own saved model (`model_file`, copied without following links)
    where the harness can load it, so `self.model` is what it was in the graded run."""
    run_dir = Path(tempfile.mkdtemp(prefix="grader-callback-"))
    try:
        for name in ("tmp", "home", "artefacts", "work", "bin"):
            (run_dir / name).mkdir()
        root = RUN_ROOT_IN_SANDBOX if use_bubblewrap else str(run_dir)

        def inside(path: Path) -> str:
            return f"{root}/{path.relative_to(run_dir).as_posix()}"

        config = {
            "classes": [{"name": s.name, "module": s.module, "constructor": s.constructor}
                        for s in sources],
            "epoch_runs": epoch_runs, "input_shape": list(input_shape),
            "seed": spec.seed, "intra_op_threads": spec.intra_op_threads,
            "results": inside(run_dir / "artefacts" / RESULTS_FILE)}
        model = run_dir / "work" / "model.keras"
        logs_only = all(s.logs_only for s in sources)
        if logs_only or model_file is None \
                or not copy_no_follow(model_file, model, MAX_MODEL_BYTES + 1):
            model.unlink(missing_ok=True)
        config["model"] = inside(model) if model.exists() else None
        config_file = run_dir / "harness.json"
        config_file.write_text(json.dumps(config))
        limits = replace(sandbox.RunLimits.of(spec), time_seconds=TIME_SECONDS,
                         memory_mb=min(spec.memory_mb or MEMORY_MB, MEMORY_MB),
                         disk_mb=64)
        outcome = sandbox.run(run_dir, [sys.executable, "-m", "grader.runner.callback_harness",
                                        inside(config_file)],
                              environment(inside, run_dir, spec.intra_op_threads),
                              inside(run_dir / "work"), limits, use_bubblewrap, warm=server)
        results = read_json(run_dir / "artefacts" / RESULTS_FILE, [], MAX_RESULTS_BYTES)
        tests = parse(results, len(epoch_runs))
        message = "" if tests else (outcome.message or "the callback test left no results")
        # the harness says whether the offered model loaded; it ran beside the callback's
        # code, so this is only ever a note for the instructor, never a verdict's ground
        loaded = isinstance(results, dict) and results.get("model") == "student"
        used = "logs_only" if logs_only else "student" if config["model"] and loaded \
            else "not_loaded"
        return CallbackTestOutcome(tests, outcome.status, message,
                                   MODEL_USED[used] if tests else "")
    finally:
        remove_tree(run_dir)


def parse(data: Any, runs: int) -> tuple[CallbackTest, ...]:
    """The harness's results (as read_json parsed them, None when it could not), typed and
    cut: anything malformed is dropped, not believed."""
    items = data.get("tests") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return ()
    tests = []
    for item in items[:200]:
        if not isinstance(item, dict):
            continue
        sequence, stopped = item.get("sequence"), item.get("stopped_at")
        if not isinstance(sequence, int) or isinstance(sequence, bool) \
                or not 0 <= sequence < runs:
            continue
        if not (stopped is None or isinstance(stopped, int) and not isinstance(stopped, bool)
                and 0 <= stopped < 10_000):
            continue
        error = item.get("error")
        tests.append(CallbackTest(
            callback=str(item.get("callback", "?"))[:100], sequence=sequence,
            stopped_at=stopped, error=str(error)[:300] if error is not None else None,
            stage=str(item.get("stage", "play"))[:20],
            output=str(item.get("output", ""))[:300]))
    return tuple(tests)

