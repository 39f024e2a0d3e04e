"""The reference notebook graded for real through the service: `grader submit --wait`
uploads it, a worker grades it with grade_file in the sandbox, the command prints the
score and the report's address, which answers 200 to this student's token and 404 to
another's. The web process never loads TensorFlow (its memory map is read from /proc)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_fixtures import NOTEBOOK, make_course

from grader.results.gradebook import Gradebook

pytestmark = pytest.mark.slow


def test_the_reference_notebook_through_the_service_for_real(
        tmp_path: Path, service_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADER_SERVICE_TEST_GRADE", raising=False)
    course = make_course(tmp_path / "course", None, ["ada", "bo"])
    service = service_factory(course.root, workers=1, hook=False).start()
    assert "TEST HOOK" not in service.log()
    # before any upload, the worker has started what a first grading would wait for
    prepared = _wait_for_commands(service.process.pid, ("grader.runner.zygote",
                                                        "grader.scoring.service"))
    assert prepared, "no warm runner and trusted scorer before the first job\n" + service.log()
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SERVICE_TEST_GRADE"}
    env["GRADER_TOKEN"] = course.tokens["ada"]
    submitted = subprocess.run([sys.executable, "-m", "grader.cli", "submit", str(NOTEBOOK),
                                "--server", service.url, "--assignment", "hw1", "--wait"],
                               capture_output=True, text=True, timeout=900, env=env)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr + service.log()
    assert re.search(r"^score: 100 / 100 \(graded\)", submitted.stdout, re.M), submitted.stdout
    report_url = re.search(r"^report: (\S+)$", submitted.stdout, re.M).group(1)  # type: ignore[union-attr]
    assert course.tokens["ada"] not in submitted.stdout + submitted.stderr
    mine = httpx.get(report_url, headers={"Authorization": f"Bearer {course.tokens['ada']}"})
    assert mine.status_code == 200 and "100 / 100" in mine.text and "Your report" in mine.text
    other = httpx.get(report_url, headers={"Authorization": f"Bearer {course.tokens['bo']}"})
    assert other.status_code == 404  # as if there were none: ids tell nothing
    assert httpx.get(report_url).status_code == 401
    with Gradebook(course.engine) as book:
        (result,) = book.latest()
    assert result.student == "ada" and result.submission == NOTEBOOK.name
    assert result.score == result.max_score and not any("test hook" in n for n in result.notes)
    assert result.timings["run"] > 1  # a real run in the sandbox, not the hook
    assert result.details["run_start"] == "warm"  # the prestarted runner, not a cold start
    maps = Path(f"/proc/{service.process.pid}/maps").read_text()
    assert "tensorflow" not in maps.lower()  # the web process never loaded it
    course.engine.dispose()


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for child in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = child.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(child.parent.name))
                todo.append(int(child.parent.name))
    return found


def _wait_for_commands(pid: int, needles: tuple[str, ...], seconds: float = 600) -> bool:
    """Whether processes whose command lines hold each of `needles` appear under `pid`
    within `seconds` (generous: a slow machine imports TensorFlow in tens of seconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        commands = []
        for child in _descendants(pid):
            try:
                commands.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" "))
            except OSError:
                continue
        if all(any(n.encode() in c for c in commands) for n in needles):
            return True
        time.sleep(0.5)
    return False
