"""One trusted scorer for a whole batch on this machine, reached over a Unix socket.

Why: a scorer per grading imports TensorFlow (~3.7 s of CPU, ~540 MB) and decodes the
hidden and training images again for every submission, and it sits in memory beside the
submission's own training. One service per batch imports and decodes once, then scores
the saved models one after another (each request is the same argument list
`python -m grader.scoring.scorer` takes), so a worker holds only its submission's run.

It is trusted code in its own process, like the one-off scorer: it loads each model with
safe_mode and clears Keras's state after each. It is bounded like a run
(grader.scoring.bounds): a memory cgroup of the spec's size, and per model a wall-clock
and CPU budget. The socket lives in a private (0700) folder that no sandbox mounts.

The protocol says when the service BEGINS on a model (a first line, with what bounds
it), then the answer. So when the service dies, a client knows whether its own model
was being scored: then that model gets the verdict (memory, time, crash) and is not
scored again; otherwise the client scores with a bounded one-off scorer. The batch
restarts the service (ensure_running) before handing out more work.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.exercise import ExerciseSpec
from grader.exercise.datasource import DataPaths
from grader.scoring import bounds, images, scorer

SOCKET_NAME = "scorer.sock"
MAX_REQUEST_BYTES = 64 * 1024
ANSWER_GRACE_SECONDS = 30.0  # past a model's time limit, before a client stops waiting
QUEUED_MODELS = 4  # how many models' time a client waits for its turn before scoring alone


@dataclass(frozen=True)
class Answer:
    """What a client learned: `code` None means no answer (the service is gone or died);
    `started` is what the service said when it began on this model (None: it never did)."""

    code: int | None
    error: str = ""
    started: dict[str, Any] | None = None
    timed_out: bool = False


def ask(socket_path: str, argv: list[str], time_limit: float,
        queue_seconds: float | None = None) -> Answer:
    """Send one request and wait: for the service to begin (`queue_seconds`), then for
    the answer (`time_limit` and a grace). A service still busy after that is killed."""
    queue_seconds = queue_seconds if queue_seconds is not None \
        else QUEUED_MODELS * (time_limit + ANSWER_GRACE_SECONDS)
    started = None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(queue_seconds)
            client.connect(socket_path)
            client.sendall(json.dumps(argv).encode() + b"\n")
            reader = client.makefile("rb")
            line = reader.readline(MAX_REQUEST_BYTES)
            first = _parse(line)
            if first is not None and first.get("started"):
                started = first
                client.settimeout(time_limit + ANSWER_GRACE_SECONDS)
                line = reader.readline(MAX_REQUEST_BYTES)
    except TimeoutError:
        if started is not None:
            _kill(started)
        return Answer(None, started=started, timed_out=started is not None)
    except OSError:
        return Answer(None, started=started)
    answer = _parse(line)
    if answer is None or "code" not in answer:
        return Answer(None, started=started)
    try:
        return Answer(int(answer["code"]), str(answer.get("error", "")), started)
    except (TypeError, ValueError):
        return Answer(None, started=started)


def request(socket_path: str, argv: list[str], timeout: float) -> tuple[int, str] | None:
    """Ask the service to score; (exit code, error text), or None if it cannot be reached
    or died while scoring."""
    answer = ask(socket_path, argv, timeout, timeout)
    return None if answer.code is None else (answer.code, answer.error)


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _kill(started: dict[str, Any]) -> None:
    """Stop a service stuck on this client's model past every limit (its connection is
    still open, so the pid is still the service's)."""
    pid = started.get("pid")
    if isinstance(pid, int) and pid > 1:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class ScoringService:
    """The service process, owned by the batch's main process."""

    def __init__(self, spec: ExerciseSpec, data: DataPaths,
                 limits: bounds.ScorerLimits | None = None) -> None:
        self.spec, self.data = spec, data
        self.limits = limits or bounds.ScorerLimits.of(spec)
        self.folder = Path(tempfile.mkdtemp(prefix="grader-scorer-"))
        os.chmod(self.folder, 0o700)
        self.socket_path = str(self.folder / SOCKET_NAME)
        self.process: subprocess.Popen[bytes] | None = None
        self.cage: bounds.ScorerCage | None = None
        # every incarnation's cgroup, kept until stop(): a client whose model killed one
        # reads there why it died, whenever the batch restarts the service
        self._cages: list[bounds.ScorerCage] = []

    def start(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        self.cage = bounds.ScorerCage(self.limits)
        self._cages.append(self.cage)
        ready_read, ready_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "grader.scoring.service", self.socket_path,
                 str(self.data.hidden_dir), str(self.data.train_zip),
                 ",".join(self.spec.classes), str(ready_write), json.dumps(self.cage.host())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=scorer.environment(self.spec.intra_op_threads),
                pass_fds=(ready_write,),
                preexec_fn=self.cage.preexec(bounds.STARTUP_CPU_SECONDS,
                                             resource.RLIM_INFINITY))
        except BaseException:
            os.close(ready_read)
            raise
        finally:
            os.close(ready_write)
        with os.fdopen(ready_read, "rb") as ready:  # the socket is bound (not yet warm)
            ready.read(1)
        return self.socket_path

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for cage in self._cages:
            cage.close()
        self._cages.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


def serve(socket_path: str, hidden: Path, train_zip: Path, classes: list[str],
          ready_fd: int, host: dict[str, Any]) -> int:
    """The service's loop: bind first (clients wait in the backlog), then warm up, then
    answer requests one at a time until killed."""
    scorer.configure(host)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    os.chmod(socket_path, 0o600)
    server.listen(64)
    os.write(ready_fd, b"1")
    os.close(ready_fd)
    import keras
    import tensorflow  # noqa: F401

    images.prewarm(hidden, train_zip, classes)
    # what the imports and the decoded images made lives as long as the service: out of
    # the collector's sight, the full collection after each model walks only what that
    # model's scoring left (0.15 CPU-seconds a request otherwise, measured)
    gc.freeze()
    while True:
        connection, _ = server.accept()
        with connection:
            _answer(connection)
        keras.backend.clear_session()
        gc.collect()


def _answer(connection: socket.socket) -> None:
    """One request: read it, say that scoring begins, score, answer."""
    connection.settimeout(30)
    try:
        line = connection.makefile("rb").readline(MAX_REQUEST_BYTES)
        argv = json.loads(line)
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise ValueError("a request is a list of strings")
    except (OSError, ValueError) as exc:
        _reply(connection, {"code": 2, "error": f"bad request: {exc}"})
        return
    if not _reply(connection, {"started": True, "pid": os.getpid(), **scorer.host()}):
        return  # the client stopped waiting (and scores elsewhere): do not score for no one
    try:
        code, error = scorer.main(argv), ""
    except SystemExit as exc:  # argparse refusing the request
        code, error = int(exc.code or 2), "bad request"
    except Exception as exc:  # noqa: BLE001 - reported to this request only
        code, error = 1, f"{type(exc).__name__}: {str(exc)[:300]}"
    _reply(connection, {"code": code, "error": error})


def _reply(connection: socket.socket, message: dict[str, Any]) -> bool:
    try:
        connection.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        return False
    return True


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sys.exit(serve(arguments[0], Path(arguments[1]), Path(arguments[2]),
                   arguments[3].split(","), int(arguments[4]),
                   json.loads(arguments[5]) if len(arguments) > 5 else {}))
