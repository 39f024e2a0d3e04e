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


# `make test` runs two pytest workers (pytest-xdist, `-n 2`): one takes the service and its
# browser tests, which mostly wait (HTTP round trips, deadlines, polls), the other
# everything else, which mostly trains. Two fixed groups, not free distribution: a session
# fixture (the samples' batch, the red-team batch, the PostgreSQL server) is built once per
# worker that needs it, so each stays with the tests that share it. (xdist's own
# `--dist loadgroup` marks do not group under pytest 9, whose node ids it cannot suffix;
# a scheduler is xdist's documented hook for this.)
SERVICE_TESTS = ("tests/service/", "tests/browser/test_service_")
# A service test that measures the class's latency against wall-clock bounds: it runs in
# the training group, so that what runs beside it is the service tests, which mostly wait,
# not training
# (in the service group, beside the other worker's training, it failed once in three runs:
# the server answered in 0.42 s at most, its own client, starved, measured 1.4 s).
ALONE = ("tests/service/test_service_auth_hardening.py::test_a_login_flood_",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class ServiceBesideTraining(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            service = nodeid.startswith(SERVICE_TESTS) and not nodeid.startswith(ALONE)
            return "service" if service else "training"

    return ServiceBesideTraining(config, log)


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
