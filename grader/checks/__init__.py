"""Checks: small pure functions (CheckContext, params) → Verdict, registered by id.

A rubric in an exercise spec names checks by id; importing this package registers all of
them. New kinds of checks are new functions in a topic module.
"""

from grader.checks import (  # noqa: F401 - registers
    architecture,
    datasets,
    hidden,
    pipeline,
    training,
    validation,
)
from grader.checks.base import REGISTRY, CheckContext, Verdict
from grader.scoring.types import Scoring

__all__ = ["REGISTRY", "CheckContext", "Scoring", "Verdict"]
