"""Warm runs (grader.run.warm): a fresh sandbox per submission, forked from a zygote that
imported TensorFlow once, and nothing carried from one student to the next.

The expected values come from the cold path, which starts Python for every run as the
grader always did: a warm grading must give the same result.json apart from timings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import components
import pytest
from samples import BATCHED, intake_of
from two_at_a_time import JOBS
from warm_compare import comparable

from grader import exercise
from grader.classwork.batch import BatchOptions, grade_batch
from grader.exercise import datasource
from grader.grade import GradeOptions, grade_file
from grader.results.result import GradeResult
from grader.run import warm

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "warm"
REFERENCES = [ROOT / "reference" / "happy_or_sad" / "solution.py",
              ROOT / "reference" / "happy_or_sad" / "solution.ipynb"]
@pytest.fixture(scope="module")
def warm_here() -> None:
    reason = warm.disabled_reason()
    components.require(not reason, f"warm runs are not available here: {reason}")


def _grade(path: Path, spec: exercise.ExerciseSpec, data: datasource.DataPaths,
           cold: bool) -> GradeResult:
    result = grade_file(path, spec, data, GradeOptions(cold=cold))
    assert result.details["run_start"] == ("cold" if cold else "warm"), result.details
    return result


def _host_processes(text: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if text in line]


def test_nothing_a_student_leaves_reaches_the_next_one(
        warm_here: None, spec: exercise.ExerciseSpec, data: datasource.DataPaths) -> None:
    """A hostile submission plants sitecustomize.py, .pth files, modules, a patched
    tf.keras, environment variables, a thread, a child process, files in /tmp, /dev/shm
    and the run folder; the next submission of the same worker finds none of it, and
    the reference graded after it gets exactly its cold grade."""
    server = warm.zygote(spec.intra_op_threads)
    assert server is not None, warm.failure()
    leaver = _grade(HERE / "leaver.py", spec, data, cold=False)
    assert "planted" in leaver.stdout_tail, leaver.stdout_tail + leaver.stderr_tail
    assert _host_processes("sleep 3599.5") == []  # the run's child died with its sandbox

    observer = _grade(HERE / "observer.py", spec, data, cold=False)
    assert "LEFTOVERS: none" in observer.stdout_tail, observer.stdout_tail
    assert "LEFTOVER-FROM-LEAVER" not in observer.stdout_tail + observer.stderr_tail

    after = _grade(REFERENCES[0], spec, data, cold=False)
    assert warm.zygote(spec.intra_op_threads) is server  # one worker, one zygote for all
    cold = _grade(REFERENCES[0], spec, data, cold=True)
    assert after.score == after.max_score == 100
    assert comparable(after) == comparable(cold)


def test_the_reference_notebook_gets_the_same_result_warm_and_cold(
        warm_here: None, spec: exercise.ExerciseSpec, data: datasource.DataPaths) -> None:
    """The notebook's shell is forked from the warm run, not started: same cells, same
    training history, same result."""
    warm_result = _grade(REFERENCES[1], spec, data, cold=False)
    cold_result = _grade(REFERENCES[1], spec, data, cold=True)
    assert warm_result.score == 100
    assert comparable(warm_result) == comparable(cold_result)


@pytest.fixture(scope="module")
def cold_sample_results(tmp_path_factory: pytest.TempPathFactory,
                        spec: exercise.ExerciseSpec,
                        data: datasource.DataPaths) -> dict[str, GradeResult]:
    """The batched samples once more, every run cold, as `grader batch --cold` does
    (`make acceptance`: CI compares the six samples that train in different ways, in
    test_samples.py's regrade)."""
    out = tmp_path_factory.mktemp("samples-cold")
    with intake_of(BATCHED) as intake:
        outcome = grade_batch(intake, spec, data, out,
                              BatchOptions(jobs=JOBS, grade=GradeOptions(cold=True)))
    return {r.submission: r for r in outcome.results}


@pytest.mark.acceptance
@pytest.mark.slow
@pytest.mark.parametrize("name", BATCHED)
def test_every_sample_gets_the_same_result_warm_and_cold(
        warm_here: None, name: str, sample_results: dict[str, GradeResult],
        cold_sample_results: dict[str, GradeResult]) -> None:
    warm_result, cold_result = sample_results[name], cold_sample_results[name]
    assert warm_result.details["run_start"] == "warm"
    assert cold_result.details["run_start"] == "cold"
    assert comparable(warm_result) == comparable(cold_result)


def test_a_run_the_warm_runner_cannot_enter_starts_cold(
        warm_here: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure on the grader's side of a warm start (here: the zygote's child is handed a
    namespace it does not know) is never the student's: the run starts cold instead."""
    from grader.run import sandbox, stage

    monkeypatch.setattr(warm, "NAMESPACES", ("ipc", "uts", "net", "cgroup", "pid", "time",
                                             "mnt"))
    real = warm._same_as_ours
    monkeypatch.setattr(warm, "_same_as_ours",
                        lambda pid, name: False if name == "time" else real(pid, name))
    server = warm.zygote(1)
    assert server is not None, warm.failure()
    for name in ("tmp", "home", "work"):
        (tmp_path / name).mkdir()

    def inside(path: Path) -> str:
        return f"{stage.RUN_ROOT_IN_SANDBOX}/{path.relative_to(tmp_path).as_posix()}"

    outcome = sandbox.run(tmp_path, [sys.executable, "-m", "grader.runner"],
                          stage.environment(inside, tmp_path, 1), inside(tmp_path / "work"),
                          sandbox.RunLimits(time_seconds=120), True, warm=server)
    assert outcome.start == "cold"
    assert "usage: python -m grader.runner" in outcome.stderr_tail, outcome
