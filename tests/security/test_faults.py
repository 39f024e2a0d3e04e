"""The grader killed mid-run: no stray processes, no half-written result, and a re-run
completes. `grader grade` runs as a child process here, on a submission that starts a
marked `sleep` and then waits, so the test can see when the run has started and whether
anything of it survives.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.exercise import datasource

# process clean-up on SIGKILL relies on bubblewrap: skipped without it, failed under CI
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("bubblewrap_required")]


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _processes_with(*markers: str) -> list[tuple[int, str]]:
    """Live processes whose command line holds any marker (read from /proc: no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                "utf-8", "replace")
        except OSError:
            continue
        if any(m in cmdline for m in markers) and _alive(int(entry.name)):
            found.append((int(entry.name), cmdline[:200]))
    return found


def _wait_for(condition, seconds: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


@pytest.fixture
def setup(tmp_path: Path, spec: object, data: datasource.DataPaths) -> dict[str, object]:
    marker = f"{secrets.randbelow(10**8) + 10**8}"
    hidden = tmp_path / f"hidden-{marker}"  # also marks the scorer's command line
    shutil.copytree(data.hidden_dir, hidden)
    submission = tmp_path / "slow.py"
    submission.write_text(
        "# Slow on purpose: a marked child process, then a long computation (the time\n"
        "# limit counts CPU time: a sleep would wait for the outer wall-clock guard).\n"
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'])\n"
        "while True:\n"
        "    pass\n")
    runs = tmp_path / "runs"
    runs.mkdir()
    return {"marker": marker, "hidden": hidden, "submission": submission, "runs": runs,
            "out": tmp_path / "out"}


def _grade(setup: dict[str, object], time_limit: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TMPDIR": str(setup["runs"])}
    return subprocess.Popen([sys.executable, "-m", "grader.cli", "grade",
                             str(setup["submission"]), "--exercise", "happy-or-sad",
                             "--out", str(setup["out"]),
                             "--hidden", str(setup["hidden"]), "--time-limit",
                             str(time_limit)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _result_is_absent_or_complete(out: Path) -> None:
    result = out / "slow" / "result.json"
    if result.exists():
        json.loads(result.read_text())  # complete JSON, never half a file
    assert not list(out.rglob("*.tmp")) if out.exists() else True


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_grader_leaves_nothing_running_and_a_rerun_completes(
        setup: dict[str, object], how: signal.Signals) -> None:
    marker, hidden = str(setup["marker"]), str(setup["hidden"])
    grader = _grade(setup, time_limit=300)
    try:
        assert _wait_for(lambda: _processes_with(f"sleep {marker}"), 90), \
            "the run never started"
        assert _processes_with(hidden), "the scorer should be running alongside"
        grader.send_signal(how)
        _, stderr = grader.communicate(timeout=60)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert _wait_for(lambda: not _processes_with(marker, hidden), 15), \
        _processes_with(marker, hidden)
    _result_is_absent_or_complete(Path(str(setup["out"])))
    if how == signal.SIGTERM:
        assert grader.returncode == 128 + signal.SIGTERM
        lines = stderr.decode().strip().splitlines()
        assert lines[-1].startswith("grader: terminated (SIGTERM)"), lines
        assert list(Path(str(setup["runs"])).glob("grader-run-*")) == []  # folder removed

    rerun = _grade(setup, time_limit=5)
    _, stderr = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, stderr.decode()[-2000:]
    result = json.loads((Path(str(setup["out"])) / "slow" / "result.json").read_text())
    assert result["status"] == "timeout"
    assert _wait_for(lambda: not _processes_with(marker, hidden), 15)
