"""Shared fixtures: the exercise spec and its data set, built once per session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import components
import pytest

from grader import exercise
from grader.classwork.batch import BatchOptions, grade_batch
from grader.exercise import datasource
from grader.grade import GradeOptions, grade_file
from grader.results.result import GradeResult

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bubblewrap_required() -> None:
    """For tests of the sandbox itself: skipped without bubblewrap, failed under CI."""
    components.bubblewrap()


@pytest.fixture(scope="session")
def spec() -> exercise.ExerciseSpec:
    return exercise.load("happy-or-sad")


@pytest.fixture(scope="session")
def data(spec: exercise.ExerciseSpec) -> datasource.DataPaths:
    return datasource.resolve(spec)


@pytest.fixture(scope="session")
def samples_batch_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("samples-batch")


@pytest.fixture(scope="session")
def sample_results(samples_batch_out: Path, spec: exercise.ExerciseSpec,
                   data: datasource.DataPaths) -> dict[str, GradeResult]:
    """Every sample through the real batch (two at a time), once per session; a sample
    with its own time limit is graded on its own, alongside, since a batch has one limit."""
    from samples import BATCHED, MANIFEST, SAMPLES, intake_of
    from two_at_a_time import JOBS

    limited = [n for n in MANIFEST if n not in BATCHED]
    with ThreadPoolExecutor(max_workers=1) as alone:
        separate = {name: alone.submit(grade_file, SAMPLES / name, spec, data,
                                       GradeOptions(time_limit=MANIFEST[name]["time_limit"]))
                    for name in limited}
        with intake_of(BATCHED) as intake:
            outcome = grade_batch(intake, spec, data, samples_batch_out,
                                  BatchOptions(jobs=JOBS))
        results = {r.submission: r for r in outcome.results}
        results.update({name: future.result() for name, future in separate.items()})
    return results
