"""A class graded in worker processes on this machine.

Why processes, not threads: a submission that kills its parent process (without
bubblewrap its parent is the worker) or an out-of-memory kill takes one worker, not the
batch; the batch re-runs what that worker held one at a time and records the culprit.
Workers get SIGTERM when the main process dies (PR_SET_PDEATHSIG), unwind grade_file's
cleanup and exit, so a killed batch leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

from grader.classwork.intake import Entry
from grader.classwork.tasks import GradeFunction, grade_safely, worker_died
from grader.exercise.datasource import DataPaths
from grader.exercise.spec import ExerciseSpec
from grader.grade import GradeOptions, grade_file
from grader.processes import die_with_parent
from grader.results.result import GradeResult

Keep = Callable[[GradeResult, "str | None"], None]


def _grade_one(path: Path, student: str, spec: ExerciseSpec, data: DataPaths,
               options: GradeOptions, grade_function: Callable[..., GradeResult] = grade_file
               ) -> GradeResult:
    """The task of a local worker process."""
    global _grading
    _grading = True
    try:
        return grade_safely(path, student, spec, data, options, grade_function)
    except (KeyboardInterrupt, SystemExit):
        # the batch is being stopped (SIGTERM from the main process, or the main process
        # died): grade_file's cleanup has run; leave now rather than take the next task
        os._exit(128 + signal.SIGTERM)
    finally:
        _grading = False


# True while this worker grades: SIGTERM then unwinds grade_file's cleanup; an idle
# worker has nothing to clean and leaves at once (no KeyboardInterrupt traceback from
# the executor's queue reader at the end of every batch).
_grading = False


def _worker_start() -> None:
    """Workers leave Ctrl-C to the main process, and stop cleanly (run folders removed,
    sandboxes killed) on SIGTERM, which they also get if the main process dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    die_with_parent(signal.SIGTERM)


def _raise_interrupt(*_: object) -> None:
    if not _grading:
        os._exit(128 + signal.SIGTERM)
    raise KeyboardInterrupt


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


def run(pending: list[tuple[Entry, str | None]], spec: ExerciseSpec, data: DataPaths,
        options: GradeOptions, jobs: int, keep: Keep,
        grade_function: GradeFunction = grade_file) -> None:
    """Grade `pending` on the pool. When a worker dies (a submission killed its parent, or
    the kernel's OOM killer struck), everything it was running is graded again one at a
    time, so the one submission that kills its worker on its own is named and recorded."""
    if not pending:
        return
    jobs = max(1, min(jobs, len(pending)))
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
                                            data, options, grade_function):
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
