"""`grader serve --cluster tcp://HOST:8786`: jobs graded on a Dask cluster.

One dispatcher process (started and watched by the service like a local worker) claims
jobs from the queue, at most as many as the cluster has threads, and submits each as
`tasks.cluster_task`, which is grader.classwork.cluster.grade_on_worker: the same task,
data rules, course secret and bytes-travel-with-the-task as `grader batch --cluster`.
Results come back here and are recorded exactly as a local worker records them (queue.finish).

Keys and retries, as in cluster.run: a task's key names its job and claim, so the
scheduler's retry of a task whose worker was lost yields one result; a task that kills
every worker it lands on ends as KilledWorker and is recorded as that attempt's error. If
this dispatcher dies, its jobs are re-queued by the service (they were claimed by its
name) and claimed again under a new claim: the old tasks' results, if any, are dropped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.5


def run(name: str, engine: Any, storage: Any, address: str, options: Any) -> None:
    from distributed.scheduler import KilledWorker

    from grader.classwork.cluster import connect
    from grader.classwork.intake import Entry
    from grader.classwork.tasks import grader_failure, is_grader_failure, worker_died
    from grader.exercise import datasource
    from grader.exercise.secret import course_secret
    from grader.grade import load_exercise
    from grader.results.gradebook import Gradebook
    from grader.service import db, queue
    from grader.service.lti import owed
    from grader.service.tasks import Heartbeat, _log, cluster_task

    client = connect(address)
    book = Gradebook(engine)
    # the service's course secret travels with each task, as `grader batch --cluster`
    # sends its own: a worker with another data folder draws the same hidden split
    secret = course_secret(datasource.default_data_dir())
    held: dict[Any, tuple[Any, Any]] = {}  # future → (claimed job, spec)
    capacity, asked = 1, 0.0

    def record(job: Any, result: Any, state: str) -> None:
        result.submission = job.filename
        if queue.finish(engine, job, result, state, book, owed.after_grading):
            _log(name, f"job {job.job_id} ({job.assignment}, {job.student}) on the "
                       f"cluster: {state}, {result.score:g}/{result.max_score:g}")

    try:
        with Heartbeat(engine, lambda: [(j.job_id, j.claim) for j, _ in list(held.values())]):
            while True:
                if time.monotonic() - asked > 10:
                    capacity = max(1, sum(client.nthreads().values()))
                    asked = time.monotonic()
                while len(held) < capacity:
                    job = queue.claim(engine, name)
                    if job is None:
                        break
                    spec = load_exercise(job.exercise)
                    placeholder = Path(f"{job.student}{job.suffix}")
                    if job.tries >= queue.MAX_TRIES:
                        record(job, worker_died(Entry(job.student, placeholder), spec), db.ERROR)
                        continue
                    payload = storage.path_of(job.sha256).read_bytes()
                    future = client.submit(cluster_task, placeholder.name, payload,
                                           job.student, spec, options, secret,
                                           key=f"grade-job{job.job_id}-{job.claim}",
                                           pure=False)
                    held[future] = (job, spec)
                if not held:
                    time.sleep(POLL_SECONDS)
                    continue
                done = [future for future in held if future.done()]
                if not done:
                    time.sleep(POLL_SECONDS)
                for future in done:
                    job, spec = held.pop(future)
                    placeholder = Path(f"{job.student}{job.suffix}")
                    try:
                        result = future.result()
                        state = db.ERROR if is_grader_failure(result) else db.DONE
                    except KilledWorker:
                        result, state = worker_died(Entry(job.student, placeholder), spec), \
                            db.ERROR
                    except Exception as exc:  # noqa: BLE001 - this attempt's error
                        result = grader_failure(placeholder, job.student, spec,
                                                f"the cluster failed on this submission: "
                                                f"{type(exc).__name__}: {str(exc)[:300]}",
                                                time.monotonic())
                        state = db.ERROR
                    record(job, result, state)
    finally:
        client.cancel(list(held), force=True)
        client.close()
