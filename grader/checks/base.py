"""What a check sees and what it returns: typed data in, a verdict out, no side effects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from grader.checks.callback_sequences import EpochRun
from grader.exercise import ExerciseSpec
from grader.run.callback_test import CallbackTestOutcome
from grader.run.trace import Trace
from grader.scoring.types import Scoring

PASSED, FAILED, PARTIAL, NOT_JUDGED, NOT_APPLICABLE = (
    "passed", "failed", "partial", "not_judged", "not_applicable")
# a verdict that awarded points on evidence the trusted side found contradicted (0 points;
# set by grader.grade from grader.evidence, never by a check)
NOT_TRUSTED_STATUS = "not_trusted"


@dataclass(frozen=True)
class CheckContext:
    trace: Trace
    scoring: Scoring
    spec: ExerciseSpec
    run_status: str  # "finished" | "timeout" | "crashed" | "out_of_memory"
    run_message: str = ""
    source_defines_entry: bool = False  # the file has `def <entry>(`, even if it never ran
    callback_runs: tuple[EpochRun, ...] = ()  # the runs of epochs the callback test played
    # what the callback test, run apart from the student's run, found (grader.run.callback_test)
    callback_tests: CallbackTestOutcome = CallbackTestOutcome()


@dataclass(frozen=True)
class Verdict:
    """A check's finding: its status and share of the points, one line saying what was
    found, a hint for the student, the values compared (shown by the reports, which never
    compare again), and notes for the result that are not about points."""

    status: str
    fraction: float
    message: str
    hint: str = ""
    found: Any = None
    expected: Any = None
    notes: tuple[str, ...] = ()


def passed(message: str, **kw: Any) -> Verdict:
    return Verdict(PASSED, 1.0, message, **kw)


def failed(message: str, hint: str = "", **kw: Any) -> Verdict:
    return Verdict(FAILED, 0.0, message, hint, **kw)


def partial(fraction: float, message: str, hint: str = "", **kw: Any) -> Verdict:
    return Verdict(PARTIAL, max(0.0, min(1.0, fraction)), message, hint, **kw)


def not_judged(why: str) -> Verdict:
    return Verdict(NOT_JUDGED, 0.0, f"not judged: {why}")


def not_applicable(why: str) -> Verdict:
    return Verdict(NOT_APPLICABLE, 0.0, why)


CheckFunction = Callable[[CheckContext, Mapping[str, Any]], Verdict]


@dataclass(frozen=True)
class CheckInfo:
    id: str
    title: str
    function: CheckFunction
    setting: tuple[str, str] | None = None  # (call, setting) the reports label it with
    claims: tuple[str, ...] = ()  # what of the run's account it rests on (grader.evidence)


REGISTRY: dict[str, CheckInfo] = {}


def check(check_id: str, title: str, setting: tuple[str, str] | None = None,
          claims: tuple[str, ...] = ()) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check. `setting` names the call and setting whose value the check
    judges, so the report's settings table can show its finding under that label;
    `claims` name what of the run's own account its verdict rests on (none: it rests on
    the trusted scorer's measurements only), so grader.evidence can say how far to trust
    it."""
    def register(function: CheckFunction) -> CheckFunction:
        REGISTRY[check_id] = CheckInfo(check_id, title, function, setting, claims)
        return function

    return register


def why_no_model(ctx: CheckContext) -> str:
    """The one-line reason the model checks cannot be judged, from what actually happened."""
    if ctx.scoring.model_error and ctx.trace.model_saved:
        return ctx.scoring.model_error
    if ctx.trace.execution.error_name and not ctx.trace.fits:
        return f"the code raised {ctx.trace.execution.error_name} before fit"
    if ctx.run_status == "timeout" and not ctx.trace.model_saved:
        return "the run hit the time limit before training finished"
    if not ctx.trace.fits:
        return "the code never called fit"
    return ctx.scoring.model_error or ctx.trace.model_error or "no trained model was saved"
