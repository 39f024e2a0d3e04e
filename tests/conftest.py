"""Shared fixtures: the exercise spec and its data set, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import datasource, exercise

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def spec() -> exercise.ExerciseSpec:
    return exercise.load("happy-or-sad")


@pytest.fixture(scope="session")
def data(spec: exercise.ExerciseSpec) -> datasource.DataPaths:
    return datasource.resolve(spec)
