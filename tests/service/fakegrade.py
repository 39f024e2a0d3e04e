"""The test-only grade function the service's workers use when the tests set
GRADER_SERVICE_TEST_GRADE=fakegrade:grade (grader.service.workers.test_grade_function).

It grades in milliseconds instead of ~8 CPU-seconds, with grade_file's signature, and is
steered by the submission's own text:
  `fake: fail-hidden`  the hidden_accuracy check fails (score 80 of 100)
  `fake: crash`        the grade function raises (a grader failure)
  `fake: sleep=N`      takes N seconds (so a test can kill a worker mid-grading)
  `fake: kill`         kills its own process (a submission that kills every worker)
Every call appends "pid sha256" to $FAKE_GRADE_LOG when set, so a test can count how often
each submission was graded.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import time
from pathlib import Path

from grader import __version__
from grader.results.result import CheckResult, GradeResult

NOTE = "graded by the test hook (tests/service/fakegrade.py), not by grade_file"


def grade(path: Path, spec: object, data: object, options: object) -> GradeResult:
    raw = path.read_bytes()
    text = raw.decode("utf-8", "replace")
    digest = hashlib.sha256(raw).hexdigest()
    log = os.environ.get("FAKE_GRADE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {digest}\n")
    sleep = re.search(r"fake: sleep=([0-9.]+)", text)
    if sleep:
        time.sleep(float(sleep.group(1)))
    if "fake: kill" in text:
        os.kill(os.getpid(), signal.SIGKILL)
    if "fake: crash" in text:
        raise RuntimeError("the fake grader crashed on purpose")
    checks = []
    for item in spec.rubric:  # type: ignore[attr-defined]
        failed = "fake: fail-hidden" in text and item.id == "hidden_accuracy"
        checks.append(CheckResult(
            id=item.id, title=item.title or item.id, status="failed" if failed else "passed",
            passed=not failed, score=0.0 if failed else float(item.points),
            max_score=float(item.points),
            message="fake: failed on purpose" if failed else "fake: passed"))
    return GradeResult(
        submission=path.name, student=path.stem, exercise=spec.name,  # type: ignore[attr-defined]
        status="graded", score=sum(c.score for c in checks),
        max_score=sum(c.max_score for c in checks), checks=checks, notes=[NOTE],
        timings={"total": 0.01, "run": 0.0, "score": 0.0}, submission_sha256=digest,
        grader_version=__version__, exercise_version=spec.version)  # type: ignore[attr-defined]
