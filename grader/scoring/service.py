"""One trusted scorer for a whole batch on this machine, reached over a Unix socket.

Why: a scorer per grading imports TensorFlow (~3.7 s of CPU, ~540 MB) and decodes the
hidden and training images again for every submission, and it sits in memory beside the
submission's own training. One service per batch imports and decodes once, then scores
the saved models one after another (each request is the same argument list
`python -m grader.scoring.scorer` takes), so a worker holds only its submission's run.

It is trusted code in its own process, like the one-off scorer: it loads each model with
safe_mode and clears Keras's state after each. The socket lives in a private (0700)
folder that no sandbox mounts. If the service dies (say, a model that crashes
TensorFlow), a client gets None and grade.py falls back to a one-off scorer; the batch
restarts the service before handing out more work.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.exercise import ExerciseSpec
from grader.exercise.datasource import DataPaths
from grader.processes import die_with_parent
from grader.scoring import scorer

SOCKET_NAME = "scorer.sock"
MAX_REQUEST_BYTES = 64 * 1024


def request(socket_path: str, argv: list[str], timeout: float) -> tuple[int, str] | None:
    """Ask the service to score; (exit code, error text), or None if it cannot be reached
    or died while scoring (the caller then scores with a one-off scorer)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout)
            client.connect(socket_path)
            client.sendall(json.dumps(argv).encode() + b"\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = client.recv(65536)
                if not chunk:
                    return None
                reply += chunk
    except OSError:
        return None
    try:
        answer = json.loads(reply)
        return int(answer["code"]), str(answer.get("error", ""))
    except (ValueError, KeyError, TypeError):
        return None


class ScoringService:
    """The service process, owned by the batch's main process."""

    def __init__(self, spec: ExerciseSpec, data: DataPaths) -> None:
        self.spec, self.data = spec, data
        self.folder = Path(tempfile.mkdtemp(prefix="grader-scorer-"))
        os.chmod(self.folder, 0o700)
        self.socket_path = str(self.folder / SOCKET_NAME)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        ready_read, ready_write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.scoring.service", self.socket_path,
             str(self.data.hidden_dir), str(self.data.train_zip), ",".join(self.spec.classes),
             str(ready_write)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=scorer.environment(self.spec.intra_op_threads), pass_fds=(ready_write,),
            preexec_fn=die_with_parent)
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
        shutil.rmtree(self.folder, ignore_errors=True)


def serve(socket_path: str, hidden: Path, train_zip: Path, classes: list[str],
          ready_fd: int) -> int:
    """The service's loop: bind first (clients wait in the backlog), then warm up, then
    answer requests one at a time until killed."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    os.chmod(socket_path, 0o600)
    server.listen(64)
    os.write(ready_fd, b"1")
    os.close(ready_fd)
    import keras
    import tensorflow  # noqa: F401

    scorer.prewarm(hidden, train_zip, classes)
    while True:
        connection, _ = server.accept()
        with connection:
            connection.settimeout(30)
            try:
                line = connection.makefile("rb").readline(MAX_REQUEST_BYTES)
                argv = json.loads(line)
                if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
                    raise ValueError("a request is a list of strings")
            except (OSError, ValueError) as exc:
                _reply(connection, 2, f"bad request: {exc}")
                continue
            try:
                code, error = scorer.main(argv), ""
            except SystemExit as exc:  # argparse refusing the request
                code, error = int(exc.code or 2), "bad request"
            except Exception as exc:  # noqa: BLE001 - reported to this request only
                code, error = 1, f"{type(exc).__name__}: {str(exc)[:300]}"
            keras.backend.clear_session()
            gc.collect()
            _reply(connection, code, error)


def _reply(connection: socket.socket, code: int, error: str) -> None:
    with contextlib.suppress(OSError):
        connection.sendall(json.dumps({"code": code, "error": error}).encode() + b"\n")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    sys.exit(serve(arguments[0], Path(arguments[1]), Path(arguments[2]),
                   arguments[3].split(","), int(arguments[4])))
