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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from grader import __version__, reports
from grader.classwork import pool
from grader.classwork.intake import Entry, Intake
from grader.classwork.tasks import GradeFunction, is_grader_failure
from grader.errors import GraderError
from grader.exercise.datasource import DataPaths
from grader.exercise.spec import ExerciseSpec
from grader.grade import GradeOptions, error_result, grade_file
from grader.results import exports
from grader.results import gradebook as gradebooks
from grader.results.layout import OutputLayout
from grader.results.result import GradeResult
from grader.scoring.service import ScoringService


@dataclass(frozen=True)
class SimilarityOutcome:
    """What a similarity comparison of the class found, as the batch's outputs show it."""

    flagged: dict[str, list[tuple[str, float]]]  # student -> (other, score), best first
    pairs: list[gradebooks.SimilarPair]  # every pair above the floor, kept in the gradebook
    lines: list[str]  # what the command prints


# Compares the class's gradable files ((student, file) pairs) and writes its report into
# the output folder. Given by the command line: the similarity package sits above this one.
CompareClass = Callable[[list[tuple[str, Path]], Path], SimilarityOutcome]


@dataclass(frozen=True)
class BatchOptions:
    jobs: int = 1
    regrade: bool = False
    grade: GradeOptions = field(default_factory=GradeOptions)
    # what grades one file; a module-level function, as it is sent to worker processes
    grade_function: GradeFunction = grade_file
    cluster: str | None = None  # a Dask scheduler address; None: the local worker pool
    compare_class: CompareClass | None = None  # `--similarity`: after grading


@dataclass
class BatchOutcome:
    results: list[GradeResult]  # the grade that counts, for each student of this intake
    graded: int = 0
    reused: int = 0
    interrupted: bool = False
    similarity: SimilarityOutcome | None = None
    similarity_error: str | None = None  # why it was not computed (grades are kept)


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


def grade_batch(intake: Intake, spec: ExerciseSpec, data: DataPaths, out_dir: Path,
                options: BatchOptions, listener: Listener | None = None) -> BatchOutcome:
    listener = listener or Listener()
    out_dir.mkdir(parents=True, exist_ok=True)
    layout = OutputLayout(out_dir)
    key_of_spec = spec_key(spec, data, options.grade)
    outcome = BatchOutcome(results=[])

    def write(result: GradeResult) -> None:
        # one student's reports that cannot be written (their folder name taken by a file,
        # a full disk) are that student's problem: the grade is still recorded, with a note
        try:
            reports.write_submission(result, layout, spec, data.hidden_dir)
        except (OSError, ValueError) as exc:
            result.notes.append(f"the reports could not be written: "
                                f"{type(exc).__name__}: {exc}")

    with gradebooks.Gradebook(layout.gradebook) as book:
        pending: list[tuple[Entry, str | None]] = []
        for entry in intake.entries:
            if entry.problem is not None or entry.path is None:
                write(_record_problem(book, entry, spec))
                continue
            key = _cache_key(entry.path, key_of_spec)
            cached = None if options.regrade or key is None else book.cached(entry.student,
                                                                              key)
            if cached is None:
                pending.append((entry, key))
                continue
            if not layout.result(entry.student).exists():
                write(cached)
            outcome.reused += 1
            listener.finished(cached, reused=True)
        listener.started(len(intake.entries), len(pending))
        previous = signal.signal(signal.SIGTERM, _raise_interrupt) \
            if threading.current_thread() is threading.main_thread() else None
        service = None
        try:
            service = _shared_scorer(pending, spec, data, options)
            if service is not None:
                options = replace(options, grade=replace(options.grade,
                                                         scorer_socket=service.start()))

            def keep(result: GradeResult, key: str | None) -> None:
                write(result)
                book.record(result, None if is_grader_failure(result) else key)
                outcome.graded += 1
                listener.finished(result, reused=False)
                if service is not None:
                    service.ensure_running()

            if options.cluster:
                from grader.classwork import cluster

                cluster.run(options.cluster, pending, spec, options.grade, keep,
                            secret=data.secret)
            else:
                pool.run(pending, spec, data, options.grade, options.jobs, keep,
                         options.grade_function)
        except KeyboardInterrupt:
            outcome.interrupted = True
        finally:
            if service is not None:
                service.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        students = [e.student for e in intake.entries]
        outcome.results = book.latest(spec.name, students)
        if options.compare_class is not None and not outcome.interrupted:
            _compare(intake, options.compare_class, out_dir, outcome)
            if outcome.similarity is not None:
                book.record_similarity(spec.name, outcome.similarity.pairs)
    _write_class_outputs(outcome, layout)
    return outcome


def _write_class_outputs(outcome: BatchOutcome, layout: OutputLayout) -> None:
    """results.csv and index.html, from the gradebook's latest grades (and the similarity
    comparison's flags, when one ran)."""
    flagged = outcome.similarity.flagged if outcome.similarity else {}
    exports.write_csv(outcome.results, layout.csv, flagged)
    links = {"Gradebook (SQLite)": layout.gradebook.name}
    if outcome.similarity is not None:
        links[reports.SIMILARITY_LINK] = layout.similarity_html.name
    reports.write_summary(outcome.results, layout, links, flagged)


def _shared_scorer(pending: list[tuple[Entry, str | None]], spec: ExerciseSpec,
                   data: DataPaths, options: BatchOptions) -> ScoringService | None:
    """One scorer for the local pool (Dask workers score on their own machines; a stand-in
    grade function or a given socket needs none)."""
    if pending and not options.cluster and options.grade_function is grade_file \
            and options.grade.scorer_socket is None:
        return ScoringService(spec, data)
    return None


def _compare(intake: Intake, compare_class: CompareClass, out_dir: Path,
             outcome: BatchOutcome) -> None:
    """Similarity runs once every grade is kept: if it cannot be computed (a reference
    collection that cannot be read), the batch says so and its grades stand."""
    entries = [(e.student, e.path) for e in intake.entries
               if e.problem is None and e.path is not None]
    try:
        outcome.similarity = compare_class(entries, out_dir)
    except (GraderError, OSError, ValueError) as exc:
        outcome.similarity_error = str(exc)


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


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
                          entry.problem or "no submission", time.monotonic(),
                          student=entry.student)
    if entry.path is None:
        result.submission = ""
    latest = book.latest(spec.name, [entry.student])
    if not latest or latest[0].status != "error" or latest[0].error != result.error:
        book.record(result, None)
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
    from grader.classwork.intake import collect

    with collect(folder) as intake:
        outcome = grade_batch(intake, spec, data, out_dir,
                              BatchOptions(jobs=jobs, grade=options),
                              _Callback(on_result) if on_result else None)
    return outcome.results
