"""A grade does not depend on the machine's load (grader.run.clock).

The samples below are graded four at a time on a machine whose two cores are also kept
busy by a CPU hog (five busy processes on two cores: each run gets at most 2/5 of a core
while all are running; a second hog only burned CI time), with a time limit of 1.5 × the
most CPU time any of them used on the quiet machine (so the limit scales with the
machine): under this load their runs take longer than that on the wall clock, so a
wall-clock limit would have ended them as timeouts (the defect this test was written
for: `no_callback.py` graded 25/100 on a busy machine, about 80 on a quiet one). Each
grade must equal the quiet grade of the same sample (the session's batch, two at a time,
on an idle machine).
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from samples import SAMPLES, grade_of, intake_of

from grader import exercise
from grader.classwork.batch import BatchOptions, grade_batch
from grader.exercise import datasource
from grader.grade import GradeOptions
from grader.results.result import GradeResult

LOADED = ["no_callback.py", "correct_modern.py", "callback_on_loss.ipynb",
          "correct_course_era.ipynb"]
JOBS_ON_TWO_CORES = 4


@pytest.fixture(scope="module")
def time_limit(sample_results: dict[str, GradeResult]) -> int:
    return math.ceil(1.5 * max(sample_results[name].timings["run_cpu"] for name in LOADED))


@pytest.fixture(scope="module")
def loaded_results(tmp_path_factory: pytest.TempPathFactory, spec: exercise.ExerciseSpec,
                   data: datasource.DataPaths, time_limit: int) -> dict[str, GradeResult]:
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])]
    try:
        with intake_of(LOADED) as intake:
            outcome = grade_batch(intake, spec, data, tmp_path_factory.mktemp("loaded"),
                                  BatchOptions(jobs=JOBS_ON_TWO_CORES,
                                               grade=GradeOptions(time_limit=time_limit)))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    return {r.submission: r for r in outcome.results}


@pytest.mark.parametrize("name", LOADED)
def test_a_busy_machine_gives_the_quiet_grade(name: str, time_limit: int,
                                              loaded_results: dict[str, GradeResult],
                                              sample_results: dict[str, GradeResult]) -> None:
    assert (SAMPLES / name).exists()
    loaded, quiet = loaded_results[name], sample_results[name]
    assert loaded.status == "graded", (loaded.status, loaded.error)
    assert loaded.timings["run_cpu"] < time_limit
    assert grade_of(loaded) == grade_of(quiet)
    assert loaded.details["limits"]["time_clock"] == f"{time_limit} s of CPU time (cgroup)"


def test_the_load_was_real(time_limit: int, loaded_results: dict[str, GradeResult]) -> None:
    """At least one run took longer on the wall clock than the limit it was held to, so a
    wall-clock limit would have cut it short (else the test proves nothing)."""
    assert max(r.timings["run"] for r in loaded_results.values()) > time_limit, \
        {n: r.timings for n, r in loaded_results.items()}
