"""Shared fixtures: the exercise spec and its data set, built once per session."""

from __future__ import annotations

import subprocess
import sys
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


# `make test` runs two pytest workers (pytest-xdist, `-n 2`), each pulling work as it
# finishes its last, one scope at a time: a scope is a test module, or a group of modules
# that share a costly session fixture, built once per worker that runs it — the samples'
# batch, the red-team batches, the PostgreSQL server, the wheel. (Two fixed groups, the
# service beside the rest, left one worker idle for minutes at the end: 31 min of pytest
# on a clean clone. xdist's own `--dist loadgroup` marks do not group under pytest 9,
# whose node ids it cannot suffix; a scheduler is xdist's documented hook for this.)
GROUPS = {
    "service": ("tests/service/", "tests/browser/test_service_"),
    "security": ("tests/security/",),
    "samples": ("tests/test_samples.py", "tests/test_cluster.py", "tests/test_warm_runs.py",
                "tests/test_load_independence.py"),
    "wheel": ("tests/test_packaging.py", "tests/test_ci_workflows.py"),
}
# The scopes that take longest start first, so that no long one is left for the end
# (measured on a clean clone: the samples group about 15 minutes — its batch, the cold
# regrade, the Dask cluster, the load test —, the red-team batches, the workflow's nine
# gradings, then the service, which mostly waits).
FIRST = ("samples", "security", "wheel", "service", "tests/test_exercise_references.py",
         "tests/test_grade_reference.py", "tests/test_datasets_calibration.py",
         "tests/test_notebook_executors.py", "tests/test_batch_resume.py")


def scope_of(nodeid: str) -> str:
    """The unit a worker takes whole: a group above, else the test's module."""
    return next((name for name, prefixes in GROUPS.items() if nodeid.startswith(prefixes)),
                nodeid.split("::")[0])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest scopes first (a stable sort: the order within a scope is kept)."""
    def rank(item: pytest.Item) -> int:
        scope = scope_of(item.nodeid)
        return FIRST.index(scope) if scope in FIRST else len(FIRST)

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    from xdist.scheduler import LoadScopeScheduling

    class Scopes(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    config.option.loadscopereorder = False  # the collection's order above, not test counts
    return Scopes(config, log)


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
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The grader's wheel, built from this checkout as `pip wheel` builds it."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(folder), str(ROOT)], check=True, timeout=600)
    (built,) = folder.glob("tf_image_grader-*.whl")
    return built


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
