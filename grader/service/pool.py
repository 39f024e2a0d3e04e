"""The service's grading processes, started and watched from the web process.

N local workers (`--workers`), or one Dask dispatcher (`--cluster`). A watcher thread
checks them every second: a worker that died (a submission killed it, the OOM killer
struck, someone sent SIGKILL) has its running job put back in the queue at once and is
replaced under a new name; every few seconds, jobs whose heartbeat is older than the
lease are re-queued too (a frozen machine, another service's dead worker). On stop, the
workers get SIGTERM (their gradings unwind: sandbox killed, run folder removed) and their
jobs go back to the queue, to be graded by the next start.

Why the database URL travels in the environment: a process list shows arguments to every
user of the machine; a PostgreSQL URL may hold a password.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from grader.service import config, queue

LEASE_SECONDS = 90.0  # a running job with no heartbeat for this long is re-queued
LEASE_ENV = "GRADER_SERVICE_LEASE_SECONDS"  # tests only: a lease of seconds, not 90 s
STALE_CHECK_SECONDS = 15.0
STOP_SECONDS = 20.0


@dataclass
class _Slot:
    index: int
    generation: int = 0
    process: subprocess.Popen[bytes] | None = None
    name: str = ""
    restarts: list[float] = field(default_factory=list)


class Workers:
    def __init__(self, root: Path, database_url: str, engine: Engine, count: int,
                 options_json: str, cluster: str | None = None) -> None:
        self.root, self.url, self.engine = root, database_url, engine
        self.count = 1 if cluster else max(1, count)
        self.options_json, self.cluster = options_json, cluster
        self.instance = uuid.uuid4().hex[:8]
        self.slots = [_Slot(i) for i in range(self.count)]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="grader-workers", daemon=True)
        # the lease and how often it is checked: a test cannot wait 90 s for a re-queue
        self.lease = float(os.environ.get(LEASE_ENV) or LEASE_SECONDS)
        self.stale_check = min(STALE_CHECK_SECONDS, self.lease / 6)

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.slots if s.process and s.process.poll() is None]

    def start(self) -> None:
        for slot in self.slots:
            self._spawn(slot)
        self._thread.start()

    def _spawn(self, slot: _Slot) -> None:
        slot.generation += 1
        kind = "dispatcher" if self.cluster else "worker"
        slot.name = f"{kind}-{self.instance}-{slot.index}.{slot.generation}"
        argv = [sys.executable, "-m", "grader.service.workers", "--name", slot.name,
                "--dir", str(self.root), "--options", self.options_json,
                "--parent", str(os.getpid())]
        if self.cluster:
            argv += ["--cluster", self.cluster]
        env = {**os.environ, config.DB_ENV: self.url}
        slot.process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)

    def _watch(self) -> None:
        last_stale = time.monotonic()
        while not self._stopping.wait(1.0):
            try:
                with self._lock:
                    for slot in self.slots:
                        if self._stopping.is_set():
                            return
                        if slot.process is None or slot.process.poll() is None:
                            continue
                        self._replace(slot)
                if time.monotonic() - last_stale > self.stale_check:
                    last_stale = time.monotonic()
                    self._requeue(stale_seconds=self.lease)
            except Exception as exc:  # noqa: BLE001 - this thread must outlive any one error
                print(f"grader serve: watching the workers failed: {type(exc).__name__}: "
                      f"{exc}", file=sys.stderr, flush=True)

    def _replace(self, slot: _Slot) -> None:
        code = slot.process.returncode if slot.process else None
        moved = self._requeue(claimed_by=slot.name)
        print(f"grader serve: {slot.name} exited ({code}); {moved} job(s) back in the queue",
              file=sys.stderr, flush=True)
        now = time.monotonic()
        slot.restarts = [t for t in slot.restarts if now - t < 60] + [now]
        if len(slot.restarts) > 5:  # crashing at once (a broken database?): slow down
            time.sleep(min(30.0, 2.0 ** (len(slot.restarts) - 5)))
        if not self._stopping.is_set():
            self._spawn(slot)

    def _requeue(self, claimed_by: str | None = None, stale_seconds: float | None = None,
                 interrupted: bool = True) -> int:
        try:
            return queue.requeue(self.engine, claimed_by=claimed_by,
                                 stale_seconds=stale_seconds, interrupted=interrupted)
        except Exception as exc:  # noqa: BLE001 - retried on the next round
            print(f"grader serve: could not re-queue jobs: {type(exc).__name__}: {exc}",
                  file=sys.stderr, flush=True)
            return 0

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            running = [s for s in self.slots if s.process and s.process.poll() is None]
            for slot in running:
                slot.process.terminate()  # type: ignore[union-attr]
            deadline = time.monotonic() + STOP_SECONDS
            for slot in running:
                try:
                    slot.process.wait(max(0.1, deadline - time.monotonic()))  # type: ignore[union-attr]
                except subprocess.TimeoutExpired:
                    slot.process.kill()  # type: ignore[union-attr]
                    slot.process.wait(5)  # type: ignore[union-attr]
            for slot in self.slots:
                self._requeue(claimed_by=slot.name, interrupted=False)
