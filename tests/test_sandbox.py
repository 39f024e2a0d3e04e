"""The sandbox: private /tmp, no network, nothing outside the run visible, hard time limit."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from grader import sandbox

needs_bubblewrap = pytest.mark.skipif(not sandbox.bubblewrap_works(),
                                      reason="bubblewrap cannot run here")


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie awaiting a reaper that may never come."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


def _run(run_dir: Path, code: str, *, bubblewrap: bool, limit: float = 30,
         tail: int = 4096) -> sandbox.RunOutcome:
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    workdir = sandbox.RUN_ROOT_IN_SANDBOX if bubblewrap else str(run_dir)
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir}
    return sandbox.run(run_dir, [sys.executable, "-c", code], env, workdir, limit, tail,
                       bubblewrap)


@needs_bubblewrap
def test_private_tmp_and_run_folder(tmp_path: Path) -> None:
    marker = f"grader-sandbox-test-{os.getpid()}"
    outcome = _run(tmp_path / "run", f"open('/tmp/{marker}', 'w').write('x');"
                   "open('out.txt', 'w').write('y')", bubblewrap=True)
    assert outcome.status == "finished", outcome
    assert (tmp_path / "run" / "tmp" / marker).exists()
    assert not Path(f"/tmp/{marker}").exists()
    assert (tmp_path / "run" / "out.txt").read_text() == "y"


@needs_bubblewrap
def test_outside_files_are_not_mounted(tmp_path: Path) -> None:
    secret = tmp_path / "hidden" / "happy" / "secret.png"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"canary")
    outcome = _run(tmp_path / "run", f"import os; print(os.path.exists({str(secret)!r}));"
                   f"print(os.path.exists({str(Path.home())!r} + '/.bashrc'))", bubblewrap=True)
    assert outcome.stdout_tail.split() == ["False", "False"], outcome


@needs_bubblewrap
def test_no_network(tmp_path: Path) -> None:
    code = ("import socket\ns = socket.socket()\ns.settimeout(3)\n"
            "try:\n    s.connect(('1.1.1.1', 53)); print('connected')\n"
            "except OSError as e:\n    print('refused', type(e).__name__)\n")
    outcome = _run(tmp_path / "run", code, bubblewrap=True)
    assert outcome.stdout_tail.startswith("refused"), outcome


@pytest.mark.parametrize("bubblewrap", [pytest.param(True, marks=needs_bubblewrap), False])
def test_time_limit_kills_the_whole_process_group(tmp_path: Path, bubblewrap: bool) -> None:
    pid_file = tmp_path / "run" / "child.pid"
    shown = f"{sandbox.RUN_ROOT_IN_SANDBOX}/child.pid" if bubblewrap else str(pid_file)
    code = ("import subprocess, time\n"
            "p = subprocess.Popen(['sleep', '1000'])\n"
            f"open({shown!r}, 'w').write(str(p.pid))\n"
            "while True: time.sleep(1)\n")
    started = time.monotonic()
    outcome = _run(tmp_path / "run", code, bubblewrap=bubblewrap, limit=3)
    assert outcome.status == "timeout"
    assert "time limit" in outcome.message
    assert time.monotonic() - started < 20
    if not bubblewrap:  # inside a PID namespace the pid means nothing out here
        child = int(pid_file.read_text())
        time.sleep(0.5)
        assert not _alive(child)


def test_output_is_kept_as_a_bounded_tail(tmp_path: Path) -> None:
    outcome = _run(tmp_path / "run", "print('x' * 100_000); print('\\x1b[1mEND\\x1b[0m')",
                   bubblewrap=False, tail=1000)
    assert outcome.output_bytes > 100_000
    assert outcome.stdout_tail.startswith("[… earlier output not kept]")
    assert outcome.stdout_tail.rstrip().endswith("END")
    assert len(outcome.stdout_tail) < 1100


def test_crash_is_reported(tmp_path: Path) -> None:
    outcome = _run(tmp_path / "run", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
                   bubblewrap=False)
    assert outcome.status == "crashed"
    assert "signal 9" in outcome.message


def test_progress_bars_collapse_to_their_last_state() -> None:
    bar = "1/8 [==>....]\b\b\b\b\b\b\b\b\b\b\b\b\b8/8 [=======]\r8/8 done - acc: 1.0\n"
    assert sandbox.render_terminal("\x1b[1mEpoch 1\x1b[0m\n" + bar) == \
        "Epoch 1\n8/8 done - acc: 1.0\n"


@pytest.mark.parametrize("bubblewrap", [pytest.param(True, marks=needs_bubblewrap), False])
def test_memory_limit_stops_an_endless_allocation(tmp_path: Path, bubblewrap: bool) -> None:
    (tmp_path / "run" / "tmp").mkdir(parents=True)
    workdir = sandbox.RUN_ROOT_IN_SANDBOX if bubblewrap else str(tmp_path / "run")
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(50 * 2**20))\n"
    outcome = sandbox.run(tmp_path / "run", [sys.executable, "-c", code], {"PATH": "/usr/bin"},
                          workdir, 60, 4096, bubblewrap, memory_mb=400)
    if outcome.memory_limit == "none":
        pytest.skip("no memory cgroup can be created on this machine")
    assert outcome.status == "out_of_memory"
    assert outcome.message.startswith("the run went over its 400 MB memory limit")
