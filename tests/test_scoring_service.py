"""grader.scoring.service: one warm scorer for a batch, its protocol, what a client sees
when it is gone (grade.py then scores with a one-off scorer), and its bounds (a memory
cgroup, RLIMIT_CPU). Hostile models against it: tests/security/test_scorer_attacks.py."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import components
import pytest

from grader.scoring import service as scoring_service
from grader.scoring.service import ScoringService


@pytest.fixture(scope="module")
def service(spec, data):  # noqa: ANN001, ANN201
    running = ScoringService(spec, data)
    running.start()
    yield running
    running.stop()


def _argv(data, model: Path, out: Path) -> list[str]:  # noqa: ANN001
    return ["--model", str(model), "--hidden", str(data.hidden_dir), "--train-zip",
            str(data.train_zip), "--classes", "happy,sad", "--rescale", "0.00392156862745098",
            "--out", str(out)]


def test_a_request_is_scored_and_written(service: ScoringService, data,  # noqa: ANN001
                                         tmp_path: Path) -> None:
    out = tmp_path / "scoring.json"
    answer = scoring_service.request(service.socket_path,
                                     _argv(data, tmp_path / "missing.keras", out), 120)
    assert answer == (0, "")
    assert json.loads(out.read_text())["model_error"].startswith("no saved model")


def test_a_corrupt_model_is_refused_not_fatal(service: ScoringService, data,  # noqa: ANN001
                                              tmp_path: Path) -> None:
    model = tmp_path / "model.keras"
    model.write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path / "scoring.json"
    assert scoring_service.request(service.socket_path, _argv(data, model, out), 120) \
        == (0, "")
    assert "cannot be loaded safely" in json.loads(out.read_text())["model_error"]
    # the service is still there for the next one
    again = tmp_path / "again.json"
    assert scoring_service.request(service.socket_path,
                                   _argv(data, tmp_path / "none.keras", again), 120) == (0, "")


def test_a_bad_request_gets_an_error_answer(service: ScoringService) -> None:
    code, error = scoring_service.request(service.socket_path, ["--nonsense"], 60) or (0, "")
    assert code == 2 and error == "bad request"


def test_a_dead_service_answers_none_and_is_restarted(spec, data,  # noqa: ANN001
                                                      tmp_path: Path) -> None:
    running = ScoringService(spec, data)
    try:
        running.start()
        assert running.process is not None
        running.process.kill()
        running.process.wait()
        out = tmp_path / "scoring.json"
        argv = _argv(data, tmp_path / "missing.keras", out)
        assert scoring_service.request(running.socket_path, argv, 10) is None
        running.ensure_running()
        assert scoring_service.request(running.socket_path, argv, 120) == (0, "")
    finally:
        running.stop()
    assert not Path(running.socket_path).parent.exists()


def _cgroup_of(pid: int) -> str:
    """The process's memory cgroup (v1), or its cgroup (v2)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return path
    return Path(f"/proc/{pid}/cgroup").read_text().rsplit(":", 1)[-1].strip()


def _cpu_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max cpu time"):
            return line.split()[3]
    return ""


def test_the_service_runs_bounded_in_its_own_cgroup(service: ScoringService) -> None:
    components.cgroup("memory")
    assert service.process is not None and service.cage is not None
    assert service.cage.enforced
    cage = service.cage.cage
    assert cage is not None and cage.path is not None
    assert _cgroup_of(service.process.pid).endswith(cage.path.name)
    limit_file = "memory.max" if cage.v2 else "memory.limit_in_bytes"
    assert int((cage.path / limit_file).read_text()) == service.spec.memory_mb * 1024 * 1024
    # RLIMIT_CPU: the start-up budget, raised per model by the model's own budget
    assert _cpu_limit(service.process.pid) not in ("", "unlimited")


def test_the_service_says_when_it_begins_and_how_it_is_bounded(
        service: ScoringService, data, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "scoring.json"
    answer = scoring_service.ask(service.socket_path,
                                 _argv(data, tmp_path / "missing.keras", out), 120)
    assert answer.code == 0 and answer.started is not None
    assert service.process is not None and answer.started["pid"] == service.process.pid
    assert answer.started["memory_limit"] == service.cage.memory_limit  # type: ignore[union-attr]
    written = json.loads(out.read_text())
    assert written["limits"]["memory_limit"] == answer.started["memory_limit"]
    assert written["limits"]["time_seconds"] == 300


def test_the_scorer_never_loads_matplotlib(service: ScoringService, data,  # noqa: ANN001
                                           tmp_path: Path) -> None:
    """Keras imports matplotlib.pyplot whenever it is installed; a scorer never plots, so
    it marks matplotlib absent before Keras loads (0.6-1.0 CPU-s of every scorer's start).
    After a request has been answered, TensorFlow is mapped in the scorer and no file of
    matplotlib is."""
    out = tmp_path / "scoring.json"
    answer = scoring_service.ask(service.socket_path,
                                 _argv(data, tmp_path / "missing.keras", out), 120)
    assert answer.code == 0 and service.process is not None
    maps = Path(f"/proc/{service.process.pid}/maps").read_text()
    assert "/tensorflow/" in maps
    assert "/matplotlib/" not in maps


def test_stopping_the_service_removes_its_cgroups(spec, data) -> None:  # noqa: ANN001
    components.cgroup("memory")
    running = ScoringService(spec, data)
    running.start()
    assert running.process is not None and running.cage is not None
    first = running.cage.cage.path  # type: ignore[union-attr]
    running.process.kill()
    running.process.wait()
    running.ensure_running()  # a new incarnation, a new cgroup; the old one is kept
    second = running.cage.cage.path  # type: ignore[union-attr]
    assert first != second and first.exists() and second.exists()
    pid = running.process.pid
    running.stop()
    assert not first.exists() and not second.exists()
    assert not Path(f"/proc/{pid}").exists()


class _StuckService:
    """A stand-in service on a socket: it says it began (naming `pid` as its own) or says
    nothing, then never answers."""

    def __init__(self, folder: Path, started: dict | None) -> None:
        self.path = str(folder / "stuck.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.started = started
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        connection, _ = self.server.accept()
        self.connections.append(connection)
        connection.makefile("rb").readline()
        if self.started is not None:
            connection.sendall(json.dumps(self.started).encode() + b"\n")

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.server.close()


def test_a_service_stuck_on_this_model_is_killed_and_the_model_timed_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring_service, "ANSWER_GRACE_SECONDS", 0.2)
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stuck = _StuckService(tmp_path, {"started": True, "pid": stand_in.pid,
                                     "memory_limit": "none"})
    try:
        answer = scoring_service.ask(stuck.path, ["--model", "x"], 0.3, 5)
        assert answer.code is None and answer.timed_out
        assert answer.started is not None and answer.started["pid"] == stand_in.pid
        assert stand_in.wait(5) == -signal.SIGKILL
    finally:
        stuck.close()
        stand_in.kill()
        stand_in.wait()


def test_a_client_that_never_got_its_turn_scores_elsewhere(tmp_path: Path) -> None:
    stuck = _StuckService(tmp_path, None)
    try:
        answer = scoring_service.ask(stuck.path, ["--model", "x"], 5, 0.3)
        assert answer == scoring_service.Answer(None)  # not started: not this model's doing
    finally:
        stuck.close()
