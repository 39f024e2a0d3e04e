"""Grade a class: N submissions at once, each result kept the moment it is known.

The main process owns every write (result.json, reports, results.csv, the gradebook); the
gradings themselves run in worker processes, so a submission that kills its parent, or a
grader crash, takes down one worker and not the batch. A grading is reused when the
gradebook holds one with the same cache key (submission sha256, exercise spec and data,
grader version) for the same student; `regrade` grades again and keeps the old rows.

Interrupts (Ctrl-C, SIGTERM) stop the workers, whose sandboxes and scorers die with them;
everything finished before is already in the gradebook, and a re-run grades the rest.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from grader import __version__, exports, report, sandbox
from grader import gradebook as gradebooks
from grader.datasource import DataPaths
from grader.exercise import ExerciseSpec
from grader.grade import GradeOptions, SandboxRequired, error_result, grade_file
from grader.intake import Entry, Intake
from grader.result import GradeResult
from grader.scoring_service import ScoringService

CSV_NAME = "results.csv"
GRADER_FAILURE_NOTE = "grader failure: not cached, retried on the next run"


@dataclass(frozen=True)
class BatchOptions:
    jobs: int = 1
    regrade: bool = False
    grade: GradeOptions = field(default_factory=GradeOptions)
    # what grades one file; a module-level function, as it is sent to worker processes
    grade_function: Callable[[Path, ExerciseSpec, DataPaths, GradeOptions], GradeResult] = \
        grade_file
    cluster: str | None = None  # a Dask scheduler address; None: the local worker pool


@dataclass
class BatchOutcome:
    results: list[GradeResult]  # the grade that counts, for each student of this intake
    graded: int = 0
    reused: int = 0
    interrupted: bool = False


class Listener:
    """Progress hooks; the CLI draws a bar or prints lines from them."""

    def started(self, total: int, to_grade: int) -> None: ...

    def finished(self, result: GradeResult, reused: bool) -> None: ...

    def close(self) -> None: ...


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def spec_key(spec: ExerciseSpec, data: DataPaths, options: GradeOptions) -> str:
    """Everything besides the submission and the grader version that can change a grade:
    the spec file, the data it is graded on, and the options that override the spec."""
    digest = hashlib.sha256()
    for part in (spec.spec_hash, _data_identity(data), repr(options.time_limit),
                 repr(options.no_sandbox), options.notebook_executor):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def _data_identity(data: DataPaths) -> str:
    """The bytes of the training zip and of every hidden image, not their paths or times:
    a data set redrawn identically (`make data`) keeps the cache, a swapped file does not.
    Hashing a few hundred MB of instructor data costs about a second per batch."""
    digest = hashlib.sha256()
    hidden = sorted(p for p in data.hidden_dir.rglob("*") if p.is_file())
    for path in [data.train_zip, *hidden]:
        name = "training zip" if path == data.train_zip \
            else str(path.relative_to(data.hidden_dir))
        digest.update(name.encode() + b"\0")
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
        except OSError:
            digest.update(b"unreadable")
        digest.update(b"\0")
    return digest.hexdigest()


def student_folder(out_dir: Path, student: str) -> Path:
    return out_dir / student


def write_outputs(result: GradeResult, out_dir: Path,
                  expected: report.ExpectedValues | None = None,
                  hidden_dir: Path | None = None) -> Path:
    """result.json, the student's report.html and the instructor's instructor.html."""
    folder = student_folder(out_dir, result.student)
    result.write(folder / "result.json")
    return report.write_views(result, folder, expected, hidden_dir)["student"]


def grade_safely(path: Path, student: str, spec: ExerciseSpec, data: DataPaths,
                 options: GradeOptions, grade_function: Callable[..., GradeResult] = grade_file
                 ) -> GradeResult:
    """One grading that never raises an Exception, so one submission cannot end a batch;
    a grader failure is recorded as the submission's error and marked as not cacheable."""
    started = time.monotonic()
    try:
        result = grade_function(path, spec, data, options)
    except SandboxRequired:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded as this submission's error
        return grader_failure(path, student, spec, f"the grader failed on this submission: "
                                                   f"{type(exc).__name__}: {exc}", started)
    result.student = student
    return result


def _grade_one(path: Path, student: str, spec: ExerciseSpec, data: DataPaths,
               options: GradeOptions, grade_function: Callable[..., GradeResult] = grade_file
               ) -> GradeResult:
    """The task of a local worker process."""
    try:
        return grade_safely(path, student, spec, data, options, grade_function)
    except (KeyboardInterrupt, SystemExit):
        # the batch is being stopped (SIGTERM from the main process, or the main process
        # died): grade_file's cleanup has run; leave now rather than take the next task
        os._exit(128 + signal.SIGTERM)


def _worker_start() -> None:
    """Workers leave Ctrl-C to the main process, and stop cleanly (run folders removed,
    sandboxes killed) on SIGTERM, which they also get if the main process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    sandbox.die_with_parent(signal.SIGTERM)


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def grader_failure(path: Path, student: str, spec: ExerciseSpec, reason: str,
                   started: float) -> GradeResult:
    """The grader (not the submission) failed: the student's error, marked so that the
    gradebook does not cache it and the next run tries again."""
    result = error_result(path, spec, reason, started)
    result.student = student
    result.notes.append(GRADER_FAILURE_NOTE)
    return result


def _is_grader_failure(result: GradeResult) -> bool:
    return GRADER_FAILURE_NOTE in result.notes


class _Pool:
    """A process pool that can be stopped mid-task and replaced after a worker dies."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs
        self.executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=get_context("spawn"),
                                   initializer=_worker_start)

    def renew(self, jobs: int) -> None:
        self.stop()
        self.jobs = jobs
        self.executor = self._new()

    def stop(self) -> None:
        processes = list(getattr(self.executor, "_processes", {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + 15
        for process in processes:
            process.join(max(0.1, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1)


def grade_batch(intake: Intake, spec: ExerciseSpec, data: DataPaths, out_dir: Path,
                options: BatchOptions, listener: Listener | None = None) -> BatchOutcome:
    listener = listener or Listener()
    out_dir.mkdir(parents=True, exist_ok=True)
    key_of_spec = spec_key(spec, data, options.grade)
    outcome = BatchOutcome(results=[])
    expected = report.ExpectedValues.from_spec(spec)

    def write(result: GradeResult) -> None:
        write_outputs(result, out_dir, expected, data.hidden_dir)

    with gradebooks.opened(out_dir) as book:
        pending: list[tuple[Entry, str | None]] = []
        for entry in intake.entries:
            if entry.problem is not None or entry.path is None:
                write(_record_problem(book, entry, spec))
                continue
            key = _cache_key(entry.path, key_of_spec)
            cached = None if options.regrade or key is None else book.cached(entry.student,
                                                                              key)
            if cached is not None:
                if not (student_folder(out_dir, entry.student) / "result.json").exists():
                    write(cached)
                outcome.reused += 1
                listener.finished(cached, reused=True)
            else:
                pending.append((entry, key))
        listener.started(len(intake.entries), len(pending))
        previous = signal.signal(signal.SIGTERM, _raise_interrupt) \
            if _in_main_thread() else None
        service = None
        try:
            if pending and not options.cluster and options.grade_function is grade_file \
                    and options.grade.scorer_socket is None:
                service = ScoringService(spec, data)
                options = replace(options, grade=replace(options.grade,
                                                         scorer_socket=service.start()))

            def keep(result: GradeResult, key: str | None) -> None:
                write(result)
                book.record(result, None if _is_grader_failure(result) else key)
                outcome.graded += 1
                listener.finished(result, reused=False)
                if service is not None:
                    service.ensure_running()

            if options.cluster:
                from grader import cluster

                cluster.run(options.cluster, pending, spec, options, keep)
            else:
                _run(pending, spec, data, options, keep)
        except KeyboardInterrupt:
            outcome.interrupted = True
        finally:
            if service is not None:
                service.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        students = [e.student for e in intake.entries]
        outcome.results = book.latest(spec.name, students)
    exports.write_csv(outcome.results, out_dir / CSV_NAME)
    report.write_summary(outcome.results, out_dir, CSV_NAME,
                         {"Gradebook (SQLite)": gradebooks.FILE_NAME})
    return outcome


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _cache_key(path: Path, key_of_spec: str) -> str | None:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
    return gradebooks.cache_key(digest, key_of_spec, __version__)


def _record_problem(book: gradebooks.Gradebook, entry: Entry,
                    spec: ExerciseSpec) -> GradeResult:
    """An intake problem is this student's error; recorded once, not on every re-run."""
    result = error_result(entry.path or Path(entry.student), spec,
                          entry.problem or "no submission", time.monotonic())
    result.student, result.submission = entry.student, (entry.path.name if entry.path
                                                         else "")
    latest = book.latest(spec.name, [entry.student])
    if not latest or latest[0].status != "error" or latest[0].error != result.error:
        book.record(result, None)
    return result


Keep = Callable[[GradeResult, "str | None"], None]


def _run(pending: list[tuple[Entry, str | None]], spec: ExerciseSpec, data: DataPaths,
         options: BatchOptions, keep: Keep) -> None:
    """Grade `pending` on the pool. When a worker dies (a submission killed its parent, or
    the kernel's OOM killer struck), everything it was running is graded again one at a
    time, so the one submission that kills its worker on its own is named and recorded."""
    if not pending:
        return
    jobs = max(1, min(options.jobs, len(pending)))
    pool = _Pool(jobs)
    queue = list(pending)
    isolating = False
    try:
        while queue:
            if isolating:
                batch, queue = queue[:1], queue[1:]
            else:
                batch, queue = queue, []
            running = {pool.executor.submit(_grade_one, entry.path, entry.student, spec,
                                            data, options.grade, options.grade_function):
                       (entry, key)
                       for entry, key in batch}
            broken: list[tuple[Entry, str | None]] = []
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    entry, key = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken.append((entry, key))
                        continue
                    keep(result, key)
            if broken and isolating:
                keep(worker_died(broken[0][0], spec), None)
                isolating = False
                pool.renew(jobs)
            elif broken:
                queue = broken + queue
                isolating = True
                pool.renew(1)
    finally:
        pool.stop()


def worker_died(entry: Entry, spec: ExerciseSpec) -> GradeResult:
    assert entry.path is not None
    result = error_result(entry.path, spec, "the grading process was killed while running "
                          "this submission (did the code kill its parent process?)",
                          time.monotonic())
    result.student = entry.student
    return result


class _Callback(Listener):
    def __init__(self, on_result: Callable[[GradeResult], None]) -> None:
        self.on_result = on_result

    def finished(self, result: GradeResult, reused: bool) -> None:
        self.on_result(result)


def grade_folder(folder: Path, spec: ExerciseSpec, data: DataPaths, out_dir: Path,
                 options: GradeOptions, on_result: Callable[[GradeResult], None] | None = None,
                 jobs: int = 1) -> list[GradeResult]:
    """Every submission in a folder (or zip), for scripts and tests: the same batch, cache
    and gradebook as `grader batch`, returned as the latest result for each student."""
    from grader.intake import collect

    with collect(folder) as intake:
        outcome = grade_batch(intake, spec, data, out_dir,
                              BatchOptions(jobs=jobs, grade=options),
                              _Callback(on_result) if on_result else None)
    return outcome.results
