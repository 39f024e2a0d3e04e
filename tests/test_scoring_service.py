"""grader.scoring.service: one warm scorer for a batch, its protocol, and what a client
sees when it is gone (grade.py then scores with a one-off scorer)."""

from __future__ import annotations

import json
from pathlib import Path

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
