"""`grader batch --cluster tcp://HOST:8786`: each grading is a task on an existing Dask
cluster; results come back to this process, which alone writes reports and the gradebook.

What the workers need: this grader installed, bubblewrap, and the exercise's data (the
built-in set is drawn on first use into the worker's GRADER_DATA_DIR; an instructor's
--train/--hidden paths must exist at the same path on every worker). The submission's
bytes travel with the task, so workers need no shared file system for submissions; so
does the client's course secret (grader.exercise.secret), so that a worker with its own
data folder draws the same built-in hidden split and every submission is graded against
the same images whatever the worker. Use a tls:// scheduler address where the network
between the machines is not trusted: tasks carry the secret and the submissions.

Idempotent by key: a task's key is made from the grading's cache key and the student, so
a task resubmitted while the first is still known to the scheduler attaches to it instead
of grading twice, and the scheduler's own retry of a task whose worker was lost yields one
result, hence one gradebook row. A task that kills every worker it lands on ends as
KilledWorker and is recorded as that submission's error.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.classwork.intake import Entry
from grader.classwork.tasks import grade_safely, grader_failure, worker_died
from grader.errors import ClusterError
from grader.exercise import datasource
from grader.exercise.secret import course_secret
from grader.exercise.spec import ExerciseSpec
from grader.grade import GradeOptions
from grader.results.result import GradeResult

CONNECT_TIMEOUT = "30s"
IN_FLIGHT_MIN, IN_FLIGHT_PER_THREAD = 8, 4
__all__ = ["ClusterError", "grade_on_worker", "run"]


def grade_on_worker(name: str, payload: bytes, student: str, spec: ExerciseSpec,
                    options: GradeOptions, secret: bytes) -> GradeResult:
    """Runs on a Dask worker: the submission is written to a private temp folder, the
    data set is resolved on the worker with the client's course secret, and the grading
    never raises."""

    data = datasource.resolve(spec, secret=secret)
    with tempfile.TemporaryDirectory(prefix="grader-task-") as folder:
        path = Path(folder) / name
        path.write_bytes(payload)
        return grade_safely(path, student, spec, data, options)


def _cluster_failed(entry: Entry, spec: ExerciseSpec, exc: Exception) -> GradeResult:
    assert entry.path is not None
    return grader_failure(entry.path, entry.student, spec,
                          f"the cluster failed on this submission: {type(exc).__name__}: "
                          f"{str(exc)[:300]}", time.monotonic())


def connect(address: str) -> Any:  # noqa: ANN401 (a distributed.Client)
    """A Dask client for `address`, or a ClusterError with one line an instructor can act
    on (the batch's and the service's --cluster alike)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise ClusterError("--cluster needs the 'distributed' package") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def run(address: str, pending: list[tuple[Entry, str | None]], spec: ExerciseSpec,
        options: GradeOptions, keep: Callable[[GradeResult, str | None], None],
        secret: bytes | None = None) -> None:
    """Grade `pending` on the cluster at `address`; `secret` is the client's course
    secret (DataPaths.secret), by default the one of this machine's data folder."""
    if secret is None:
        secret = course_secret(datasource.default_data_dir())
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    client = connect(address)
    futures: dict[object, tuple[Entry, str | None]] = {}
    queue = deque(pending)

    def submit_next() -> object:
        entry, key = queue.popleft()
        assert entry.path is not None
        task_key = f"grade-{entry.student}-{key or uuid.uuid4().hex}"
        future = client.submit(grade_on_worker, entry.path.name, entry.path.read_bytes(),
                               entry.student, spec, options, secret, key=task_key,
                               pure=False)
        futures[future] = (entry, key)
        return future

    try:
        # a bounded window of tasks in flight: submissions travel through the scheduler,
        # and a class of 100,000 notebooks must not sit in its memory at once
        threads = sum(client.nthreads().values())
        window = max(IN_FLIGHT_MIN, IN_FLIGHT_PER_THREAD * threads)
        running = as_completed([submit_next() for _ in range(min(window, len(queue)))])
        for future in running:
            entry, key = futures.pop(future)
            if queue:
                running.add(submit_next())
            try:
                result = future.result()
            except KilledWorker:
                keep(worker_died(entry, spec), None)
                continue
            except Exception as exc:  # noqa: BLE001 - this submission's error, retried later
                keep(_cluster_failed(entry, spec, exc), None)
                continue
            keep(result, key)
    except BaseException:
        client.cancel(list(futures), force=True)
        raise
    finally:
        client.close()
