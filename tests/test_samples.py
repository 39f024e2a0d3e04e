"""The sample submissions in submissions/happy_or_sad/ get the grades their manifest expects.

Each sample has one deliberate property (no rescale, a softmax head, a syntax error, an
endless loop...). manifest.toml says, for every sample, the top-level status and the status
of every rubric check that a careful teaching assistant would give. All samples are graded
once per session (about 20 s of training each), two at a time.
"""

from __future__ import annotations

import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import datasource, exercise
from grader.grade import GradeOptions, grade_file
from grader.result import GradeResult
from grader.submission import SUFFIXES

SAMPLES = Path(__file__).resolve().parent.parent / "submissions" / "happy_or_sad"
MANIFEST: dict[str, dict] = tomllib.loads((SAMPLES / "manifest.toml").read_text())["samples"]
EXPECTED_CHECKS = [(name, check_id, status) for name, sample in MANIFEST.items()
                   for check_id, status in sample["checks"].items()]
# Each run uses the spec's 2 intra-op threads; two runs at once keep both cores busy while
# the other waits on process start-up, kernel start-up and scoring.
JOBS = 2

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def sample_results() -> dict[str, GradeResult]:
    spec = exercise.load("happy-or-sad")
    data = datasource.resolve(spec)

    def grade(name: str) -> GradeResult:
        options = GradeOptions(time_limit=MANIFEST[name].get("time_limit"))
        return grade_file(SAMPLES / name, spec, data, options)

    # the slowest (the time-limited endless loop) first, so it overlaps the others
    names = sorted(MANIFEST, key=lambda n: "time_limit" not in MANIFEST[n])
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        return dict(zip(names, pool.map(grade, names), strict=True))


def test_manifest_lists_exactly_the_sample_files() -> None:
    on_disk = {p.name for p in SAMPLES.iterdir() if p.is_file() and p.suffix in SUFFIXES}
    assert on_disk == set(MANIFEST)


def test_manifest_covers_every_rubric_check() -> None:
    rubric = [item.id for item in exercise.load("happy-or-sad").rubric]
    for name, sample in MANIFEST.items():
        assert sorted(sample["checks"]) == sorted(rubric), name


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_sample_status(sample_results: dict[str, GradeResult], name: str) -> None:
    result = sample_results[name]
    assert result.status == MANIFEST[name]["status"], result.error


@pytest.mark.parametrize(("name", "check_id", "expected"), EXPECTED_CHECKS,
                         ids=[f"{name}-{check_id}" for name, check_id, _ in EXPECTED_CHECKS])
def test_sample_check(sample_results: dict[str, GradeResult], name: str, check_id: str,
                      expected: str) -> None:
    checks = {c.id: c for c in sample_results[name].checks}
    assert check_id in checks, f"{name}: no check {check_id} in the result"
    check = checks[check_id]
    assert check.status == expected, f"{name}: {check_id} said {check.message!r}"
