"""What a check sees and what it returns: typed data in, a verdict out, no side effects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from grader.exercise import ExerciseSpec
from grader.trace import Trace

PASSED, FAILED, PARTIAL, NOT_JUDGED, NOT_APPLICABLE = (
    "passed", "failed", "partial", "not_judged", "not_applicable")


@dataclass(frozen=True)
class Layer:
    cls: str
    name: str
    units: int | None
    filters: int | None
    activation: str | None
    output_shape: tuple[Any, ...] | None
    params: int


@dataclass(frozen=True)
class Scoring:
    """What the trusted scorer measured on the saved model (never the run's own claims)."""

    model_loaded: bool = False
    model_error: str | None = None
    input_shape: tuple[Any, ...] | None = None
    layers: tuple[Layer, ...] = ()
    total_params: int | None = None
    hidden_accuracy: float | None = None
    hidden_images: int = 0
    hidden_confusion: tuple[tuple[int, ...], ...] = ()
    hidden_misclassified: tuple[str, ...] = ()
    train_accuracy: float | None = None
    evaluation_error: str | None = None
    evaluated_at: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Scoring:
        hidden = raw.get("hidden") or {}
        train = raw.get("train") or {}
        layers = tuple(Layer(str(r.get("class")), str(r.get("name")), r.get("units"),
                             r.get("filters"), r.get("activation"),
                             tuple(r["output_shape"]) if r.get("output_shape") else None,
                             int(r.get("params") or 0)) for r in raw.get("layers", []))
        return cls(
            model_loaded=bool(raw.get("model_loaded")), model_error=raw.get("model_error"),
            input_shape=tuple(raw["input_shape"]) if raw.get("input_shape") else None,
            layers=layers, total_params=raw.get("total_params"),
            hidden_accuracy=hidden.get("accuracy"), hidden_images=hidden.get("images", 0),
            hidden_confusion=tuple(tuple(r) for r in hidden.get("confusion", [])),
            hidden_misclassified=tuple(hidden.get("misclassified", [])),
            train_accuracy=train.get("accuracy"),
            evaluation_error=raw.get("evaluation_error"),
            evaluated_at=raw.get("evaluated_at", {}))

    def layers_of(self, *classes: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.cls in classes]


@dataclass(frozen=True)
class CheckContext:
    trace: Trace
    scoring: Scoring
    spec: ExerciseSpec
    run_status: str  # "finished" | "timeout" | "crashed" | "out_of_memory"
    run_message: str = ""
    source_defines_entry: bool = False  # the file has `def <entry>(`, even if it never ran


@dataclass(frozen=True)
class Verdict:
    status: str
    fraction: float
    message: str
    hint: str = ""
    found: Any = None
    expected: Any = None


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


REGISTRY: dict[str, CheckInfo] = {}


def check(check_id: str, title: str) -> Callable[[CheckFunction], CheckFunction]:
    def register(function: CheckFunction) -> CheckFunction:
        REGISTRY[check_id] = CheckInfo(check_id, title, function)
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
