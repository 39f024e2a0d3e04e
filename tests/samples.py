"""The sample submissions and their manifest, shared by the tests that grade them
(test_samples.py, test_cluster.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from grader.classwork.intake import Intake, collect
from grader.results.result import GradeResult

SAMPLES = Path(__file__).resolve().parent.parent / "submissions" / "happy_or_sad"
MANIFEST: dict[str, dict] = tomllib.loads((SAMPLES / "manifest.toml").read_text())["samples"]
# Samples graded by the batch (one time limit for all); the others have their own limit.
BATCHED = sorted(n for n in MANIFEST if "time_limit" not in MANIFEST[n])
# The samples that train in different ways (fit and fit_generator, a module and notebooks,
# whole and partial epochs, a callback on the wrong metric) and one that never trains: what
# a regrade elsewhere (one job at a time, a Dask cluster) must reproduce. The whole class
# once more would add minutes to CI and no new way of training.
REPRODUCED = ["callback_on_loss.ipynb", "cells_form.ipynb", "correct_course_era.ipynb",
              "correct_modern.py", "syntax_error.ipynb", "two_steps_of_forty.ipynb"]


def intake_of(names: list[str]) -> Intake:
    intake = collect(SAMPLES)
    intake.entries = [e for e in intake.entries if e.path and e.path.name in names]
    return intake


def grade_of(result: GradeResult) -> tuple[object, ...]:
    """What a regrade, or a grading elsewhere, must reproduce exactly."""
    return (result.status, result.score, tuple((c.id, c.status, c.score) for c in
                                               result.checks),
            result.metrics.get("hidden_accuracy"), result.metrics.get("stop_epoch"))
