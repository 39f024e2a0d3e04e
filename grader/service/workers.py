"""The processes that grade: a worker takes a job, grades it through grade_safely (the
sandboxed grade_file path), and records the result; with --cluster the same process is
the Dask dispatcher (dispatch.py). Run as `python -m grader.service.workers`.

Why separate processes that the web process only starts and watches: a grading holds
~0.9 GB and several CPU-seconds, and its submission may kill its parent; none of that may
touch the web tier, which must never import TensorFlow. A worker dies with the service
(PR_SET_PDEATHSIG), runs at a lower CPU priority than the web process (so uploads stay
fast while every core trains), and keeps one warm trusted scorer per data set, as a batch
does, so a grading does not pay for a scorer's TensorFlow import.

The test-only hook ($GRADER_SERVICE_TEST_GRADE) and the heartbeat are in tasks.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from grader.service.tasks import Heartbeat, _log, test_grade_function

POLL_SECONDS = 0.25  # an idle worker looks for work this often (one indexed read)
WORKER_NICE = 5


def options_from_json(text: str) -> Any:
    from grader.grade import GradeOptions

    known = {f.name for f in dataclasses.fields(GradeOptions)}
    return GradeOptions(**{k: v for k, v in json.loads(text or "{}").items() if k in known})


class Grading:
    """What one worker process keeps between jobs: the data of each exercise and a warm
    trusted scorer per data set."""

    def __init__(self, storage: Any, options: Any) -> None:
        self.storage, self.options = storage, options
        self.hook = test_grade_function()
        self.data: dict[str, Any] = {}
        self.scorers: dict[tuple[object, ...], Any] = {}

    def spec_and_data(self, exercise: str) -> tuple[Any, Any]:
        from grader.exercise import datasource
        from grader.grade import load_exercise

        spec = load_exercise(exercise)  # read again for each job: a regrade sees edits
        if exercise not in self.data:
            self.data[exercise] = datasource.resolve(spec)
        return spec, self.data[exercise]

    def _scorer_socket(self, spec: Any, data: Any) -> str | None:
        if self.hook is not None or self.options.scorer_socket:
            return self.options.scorer_socket
        from grader.scoring.service import ScoringService

        key = (str(data.hidden_dir), str(data.train_zip), spec.classes,
               spec.intra_op_threads)
        if key not in self.scorers:
            service = ScoringService(spec, data)
            service.start()
            self.scorers[key] = service
        service = self.scorers[key]
        service.ensure_running()
        return service.socket_path

    def prestart(self, engine: Any, name: str) -> None:
        """Start what a first grading would otherwise wait for, before any job arrives:
        each served exercise's data, its trusted scorer and the warm runner (TensorFlow
        imported once: seconds). So the first student after a restart waits no longer
        than the hundredth. Never fatal: what cannot start now starts, or fails and is
        recorded, with the job that needs it."""
        if self.hook is not None:
            return
        from sqlalchemy import select

        from grader.grade import sandbox_in_use
        from grader.run import warm
        from grader.service import db

        with engine.connect() as connection:
            exercises = sorted(set(connection.execute(
                select(db.assignments.c.exercise)).scalars()))
        for exercise in exercises:
            try:
                spec, data = self.spec_and_data(exercise)
                self._scorer_socket(spec, data)
                if not self.options.cold and sandbox_in_use(self.options):
                    warm.zygote(spec.intra_op_threads)
            except Exception as exc:  # noqa: BLE001 - the job will meet it, and record it
                _log(name, f"could not prepare {exercise} before its first job: {exc}")

    def grade(self, job: Any) -> tuple[Any, str]:
        """(result, job state) for a claimed job; never raises for a submission's sake."""
        from grader.classwork.intake import Entry
        from grader.classwork.tasks import grade_safely, is_grader_failure, worker_died
        from grader.grade import grade_file
        from grader.service import db, queue

        spec, data = self.spec_and_data(job.exercise)
        with tempfile.TemporaryDirectory(prefix="grader-service-") as folder:
            # the student id is one safe path segment; the uploaded name is never a path
            path = Path(folder) / f"{job.student}{job.suffix}"
            shutil.copyfile(self.storage.path_of(job.sha256), path)
            if job.tries >= queue.MAX_TRIES:
                result, state = worker_died(Entry(job.student, path), spec), db.ERROR
                result.error = (f"the grading was interrupted {job.tries} times (the worker "
                                "died or the service stopped); not tried again")
            else:
                options = dataclasses.replace(self.options,
                                              scorer_socket=self._scorer_socket(spec, data))
                result = grade_safely(path, job.student, spec, data, options,
                                      self.hook or grade_file)
                state = db.ERROR if is_grader_failure(result) else db.DONE
        result.submission = job.filename
        return result, state

    def close(self) -> None:
        for service in self.scorers.values():
            service.stop()


def run_worker(name: str, engine: Any, storage: Any, options: Any,
               once: bool = False) -> None:
    """Claim, grade, record, until stopped (SIGTERM) or, with `once`, the queue is empty."""
    from grader.results.gradebook import Gradebook
    from grader.service import queue
    from grader.service.lti import owed

    book = Gradebook(engine)
    grading = Grading(storage, options)
    try:
        grading.prestart(engine, name)
        while True:
            job = queue.claim(engine, name)
            if job is None:
                if once:
                    return
                time.sleep(POLL_SECONDS)
                continue
            started = time.monotonic()
            with Heartbeat(engine, lambda job=job: [(job.job_id, job.claim)]):
                result, state = grading.grade(job)
            if queue.finish(engine, job, result, state, book, owed.after_grading):
                _log(name, f"job {job.job_id} ({job.assignment}, {job.student}): {state}, "
                           f"{result.score:g}/{result.max_score:g} in "
                           f"{time.monotonic() - started:.1f} s")
            else:
                _log(name, f"job {job.job_id} was re-queued meanwhile; this grading is "
                           "discarded (the other one counts)")
    finally:
        grading.close()


def _stop(*_: object) -> None:
    raise SystemExit(128 + signal.SIGTERM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.service.workers")
    parser.add_argument("--name", required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--options", default="{}")
    parser.add_argument("--cluster")
    parser.add_argument("--parent", type=int)
    args = parser.parse_args(argv)
    from grader.processes import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the service's to handle
    signal.signal(signal.SIGTERM, _stop)
    die_with_parent(signal.SIGTERM)
    if args.parent and os.getppid() != args.parent:
        return 1  # the service died before we could ask to die with it
    from grader.service import config, db
    from grader.service.storage import Storage

    folder = config.open_folder(args.dir)
    engine = db.connect(folder.database_url, pool_size=2)
    storage = Storage(folder.uploads)
    options = options_from_json(args.options)
    if args.cluster:
        from grader.service import dispatch

        dispatch.run(args.name, engine, storage, args.cluster, options)
        return 0
    os.nice(WORKER_NICE)
    run_worker(args.name, engine, storage, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
