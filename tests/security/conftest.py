"""The red-team batch as a fixture: graded once per session, asserted on by test_redteam.py."""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from collections.abc import Iterator

import components
import pytest
from redteam import (
    LAMBDA_MARKER,
    OWN_SUITES,
    SECRET_ENV,
    SUBMISSIONS,
    Batch,
    _generated,
    _host_secret,
    _private_data,
)
from two_at_a_time import JOBS

from grader import exercise
from grader.classwork.batch import BatchOptions, grade_batch, grade_folder
from grader.classwork.intake import collect
from grader.exercise import datasource
from grader.grade import GradeOptions
from grader.results.result import GradeResult
from grader.run import sandbox

WAIT_OUT_A_LIMIT = ("sleep_forever", "print_forever", "fork_bomb")


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    if not sandbox.bubblewrap_works():
        components.require(False, "the red-team suite needs bubblewrap (see "
                                   "tests/test_sandbox.py for "
                    "the fallback)")
    root = tmp_path_factory.mktemp("redteam")
    spec = dataclasses.replace(exercise.load("happy-or-sad"), time_seconds=30,
                               memory_mb=1536, max_processes=128, disk_mb=256,
                               file_size_mb=64, output_limit_bytes=256 * 1024)
    data, canary = _private_data(root, spec)
    folder = root / "submissions"
    shutil.copytree(SUBMISSIONS, folder,
                    ignore=lambda _, names: [n for n in names if n.startswith(OWN_SUITES)])
    _generated(folder)
    out_dir = root / "out"
    LAMBDA_MARKER.unlink(missing_ok=True)
    env_secret = f"env-secret-{secrets.token_hex(12)}"
    os.environ[SECRET_ENV] = env_secret
    try:
        # two at a time, as `grader batch` grades on 2 cores: a hostile run also meets
        # another student's run in progress (read_other_submission, kill_grader)
        with collect(folder) as intake:
            # the runs that wait out a limit (the wall-clock guard, 3 x 30 + 60 s; the CPU
            # limit) start first, so the other gradings run beside them instead of leaving
            # a slot idle at the end (sorted by name, sleep_forever came fifth from last)
            intake.entries.sort(key=lambda entry: entry.student not in WAIT_OUT_A_LIMIT)
            graded = grade_batch(intake, spec, data, out_dir,
                                 BatchOptions(jobs=JOBS, grade=GradeOptions())).results
    finally:
        os.environ.pop(SECRET_ENV, None)
    yield Batch({r.student: r for r in graded}, out_dir, folder, data.hidden_dir, canary,
                env_secret, _host_secret())
    LAMBDA_MARKER.unlink(missing_ok=True)


# The attacks of issue 19 (the callback tested apart from the run, code that looks for the
# grader, decoys and blind evidence), graded as ONE batch with the honest control, two at
# a time: each grading is a training and a callback test, so three batches that each
# graded the control again cost CI minutes. Each test module asserts on its own attacks.
ISSUE_19_SUITES = ("apart_", "seek_", "decoy_", "blind_")


@pytest.fixture(scope="session")
def issue_19_batch(tmp_path_factory: pytest.TempPathFactory,
                   data: datasource.DataPaths) -> dict[str, GradeResult]:
    if not sandbox.bubblewrap_works():
        components.require(False, "the attacks of issue 19 need bubblewrap")
    root = tmp_path_factory.mktemp("issue-19-attacks")
    folder = root / "submissions"
    folder.mkdir()
    for path in [*(p for p in SUBMISSIONS.iterdir() if p.name.startswith(ISSUE_19_SUITES)
                   and p.suffix in (".py", ".ipynb")), SUBMISSIONS / "honest.py"]:
        shutil.copy(path, folder / path.name)
    spec = dataclasses.replace(exercise.load("happy-or-sad"), time_seconds=300)
    results = grade_folder(folder, spec, data, root / "out",
                           GradeOptions(require_sandbox=True), jobs=JOBS)
    return {r.student: r for r in results}
