"""The run's own account of itself, read on the trusted side as untrusted data.

Every field is type-checked and size-bounded; anything malformed becomes a recorded
problem and a missing value, never an exception. Checks only ever see these typed objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.run.artefacts import read_json
from grader.run.events import Replay
from grader.runner.contract import EXECUTION_FILE, EXECUTION_ROOT, TRACE_FILE, TRACE_ROOT


@dataclass(frozen=True)
class Generator:
    id: int
    rescale: float | None  # as the generator was made
    kwargs: dict[str, Any]
    rescales_used: tuple[float | None, ...] = ()  # as its batches were really made

    @property
    def applied_rescales(self) -> tuple[float | None, ...]:
        """The rescale(s) its images were standardised with; the one it was made with when
        no batch was made (the run stopped before training)."""
        return self.rescales_used or (self.rescale,)


@dataclass(frozen=True)
class FlowCall:
    id: int
    generator_id: int | None
    directory: str | None
    target_size: tuple[int, ...] | None
    batch_size: int | None
    class_mode: str | None
    images_found: int | None
    class_indices: dict[str, int] | None
    error: str | None


@dataclass(frozen=True)
class CompileCall:
    loss: Any
    optimizer: str | None
    learning_rate: float | None
    metrics: Any


@dataclass(frozen=True)
class Epoch:
    epoch: int
    logs: dict[str, float]

    @property
    def accuracy(self) -> float | None:
        return self.logs.get("accuracy", self.logs.get("acc"))


@dataclass(frozen=True)
class FitCall:
    id: int
    epochs_requested: int | None
    steps_per_epoch: int | None
    train_flow_id: int | None
    callbacks: tuple[str, ...]
    epochs: tuple[Epoch, ...]
    stopped_by: str | None
    stopped_at_epoch: int | None
    completed: bool
    error: str | None
    callback_error: str | None = None
    validation_flow_id: int | None = None  # the flow given as validation_data, if any
    validation_steps: int | None = None
    has_validation: bool = False
    x_kind: str | None = None  # "flow" (read from disk each epoch), "array", "dataset", …
    inside_fit: int | None = None  # started inside another fit (from a callback)


@dataclass(frozen=True)
class OutsideFit:
    """Training the fits' own records do not cover (grader.runner.probe)."""

    call: str  # "train_on_batch" | "fit inside a fit"
    after_fit: int | None  # the id of the last fit started before it
    inside_fit: int | None  # the fit running when it happened


@dataclass(frozen=True)
class EntryPoint:
    name: str
    called_by: str | None
    returned_type: str | None
    returned_value: float | None
    error: str | None


@dataclass(frozen=True)
class Execution:
    kind: str | None = None
    ran_to_end: bool = False
    kernel_died: bool = False
    code_cells: int | None = None
    cells_run: int | None = None
    error_name: str | None = None
    error_value: str | None = None
    error_cell: int | None = None
    executor: str | None = None  # notebooks: "shell" or "kernel"
    kernel_died_in_cell: int | None = None


@dataclass(frozen=True)
class Trace:
    generators: tuple[Generator, ...] = ()
    flows: tuple[FlowCall, ...] = ()
    datasets: tuple[dict[str, Any], ...] = ()
    compiles: tuple[CompileCall, ...] = ()
    fits: tuple[FitCall, ...] = ()
    entry_point: EntryPoint | None = None
    compat_notes: tuple[str, ...] = ()
    model_saved: bool = False
    model_error: str | None = None
    execution: Execution = field(default_factory=Execution)
    problems: tuple[str, ...] = ()
    rescalings: tuple[float, ...] = ()  # scale of each Rescaling layer the code created
    outside_fit: tuple[OutsideFit, ...] = ()  # training no fit's records cover

    @property
    def validation_flow(self) -> FlowCall | None:
        """The flow the training fit validated on (lesson 3: validation_generator)."""
        fit = self.training_fit
        if fit is None or fit.validation_flow_id is None:
            return None
        return next((f for f in self.flows if f.id == fit.validation_flow_id), None)

    @property
    def training_fit(self) -> FitCall | None:
        """The fit that produced the graded model: the last one that ran an epoch."""
        ran = [f for f in self.fits if f.epochs]
        return ran[-1] if ran else (self.fits[-1] if self.fits else None)

    @property
    def training_flow(self) -> FlowCall | None:
        fit = self.training_fit
        if fit is not None and fit.train_flow_id is not None:
            for flow in self.flows:
                if flow.id == fit.train_flow_id:
                    return flow
        return self.flows[0] if self.flows else None

    def generator_of(self, flow: FlowCall | None) -> Generator | None:
        if flow is None:
            return None
        return next((g for g in self.generators if g.id == flow.generator_id), None)


class _Reader:
    """Typed getters that note a problem instead of raising on a wrong type."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def get(self, raw: Any, key: str, kind: type | tuple[type, ...], default: Any = None,
            limit: int = 1000) -> Any:
        value = raw.get(key, default) if isinstance(raw, dict) else default
        if value is None or value is default:
            return value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is int and isinstance(value, bool):
            value = None
        if not isinstance(value, kind):
            self.problems.append(f"trace field '{key}' has an unexpected type")
            return default
        if isinstance(value, float) and not math.isfinite(value):
            return default
        if isinstance(value, str):
            return value[:limit]
        return value

    def items(self, raw: Any, key: str, limit: int = 500) -> list[Any]:
        value = raw.get(key) if isinstance(raw, dict) else None
        if not isinstance(value, list):
            if value is not None:
                self.problems.append(f"trace field '{key}' is not a list")
            return []
        return [v for v in value[:limit] if isinstance(v, dict)]


def _bounded(value: Any, depth: int = 0) -> Any:
    """A free-form value (generator kwargs, loss, metrics) cut to a sane shape: reports and
    result.json never carry a 900-deep structure or a megabyte string from the run."""
    if isinstance(value, str):
        return value[:300]
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= 4:
        return "…"
    if isinstance(value, dict):
        return {str(k)[:100]: _bounded(v, depth + 1) for k, v in list(value.items())[:50]}
    if isinstance(value, list):
        return [_bounded(v, depth + 1) for v in value[:50]]
    return None


def _optional_floats(raw: Any) -> tuple[float | None, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(float(v) if isinstance(v, int | float) and not isinstance(v, bool)
                 and math.isfinite(v) else None for v in raw[:20])


def _entry_point(definitions: list[dict[str, Any]], reader: _Reader) -> EntryPoint | None:
    """The graded function as last defined: who called it first, and what its last
    finished call returned or raised."""
    if not definitions:
        return None
    get = reader.get
    last = definitions[-1]
    calls = reader.items(last, "calls", limit=100)
    finished = [c for c in calls if c.get("returned") is not None or c.get("error")]
    final = finished[-1] if finished else {}
    returned = final.get("returned") if isinstance(final.get("returned"), dict) else {}
    return EntryPoint(get(last, "name", str, "?", limit=100),
                      get(calls[0], "called_by", str, limit=20) if calls else None,
                      get(returned, "type", str, limit=100), get(returned, "value", float),
                      get(final, "error", str))


def _numbers(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {str(k)[:100]: float(v) for k, v in list(raw.items())[:100]
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}


def _size(raw: Any) -> tuple[int, ...] | None:
    if isinstance(raw, list) and all(isinstance(v, int) for v in raw) and len(raw) <= 4:
        return tuple(raw)
    return None


def _object(value: Any, name: str, problems: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{name} is not a JSON object; ignored")
        return {}
    return value


def read_files(artefacts: Path, problems: list[str]) -> tuple[dict[str, Any],
                                                               dict[str, Any]]:
    """trace.json and execution.json as the run wrote them (its last word on disk)."""
    return (_object(read_json(artefacts / TRACE_FILE, problems), TRACE_FILE, problems),
            _object(read_json(artefacts / EXECUTION_FILE, problems), EXECUTION_FILE,
                    problems))


def load(artefacts: Path, replay: Replay | None = None) -> Trace:
    """The run's account: from the event stream when the run sent one (what it said as it
    happened), else from the files it left (the Jupyter-kernel path, old runners)."""
    reader = _Reader()
    if replay is not None and replay.received:
        raw, raw_execution = replay.root(TRACE_ROOT) or {}, replay.root(EXECUTION_ROOT) or {}
        reader.problems += replay.problems
    else:
        raw, raw_execution = read_files(artefacts, reader.problems)
    return parse(raw, raw_execution, reader)


def parse(raw: dict[str, Any], raw_execution: dict[str, Any],
          reader: _Reader | None = None) -> Trace:
    reader = reader or _Reader()
    get, items = reader.get, reader.items
    generators = tuple(Generator(get(g, "id", int, -1), get(g, "rescale", float),
                                 _bounded(get(g, "kwargs", dict, {})),
                                 _optional_floats(g.get("rescales_used")))
                       for g in items(raw, "generators"))
    flows = tuple(FlowCall(
        id=get(f, "id", int, -1), generator_id=get(f, "generator_id", int),
        directory=get(f, "directory", str), target_size=_size(f.get("target_size")),
        batch_size=get(f, "batch_size", int), class_mode=get(f, "class_mode", str),
        images_found=get(f, "images_found", int),
        class_indices={str(k)[:100]: v for k, v in (get(f, "class_indices", dict) or {}).items()
                       if isinstance(v, int)} if get(f, "class_indices", dict) is not None
        else None,
        error=get(f, "error", str)) for f in items(raw, "flows"))
    compiles = tuple(CompileCall(_bounded(c.get("loss"))
                                 if isinstance(c.get("loss"), str | list | dict) else None,
                                 get(c, "optimizer", str), get(c, "learning_rate", float),
                                 _bounded(c.get("metrics")))
                     for c in items(raw, "compiles"))
    fits = []
    for f in items(raw, "fits"):
        stopped = f.get("stopped_by") if isinstance(f.get("stopped_by"), dict) else {}
        fits.append(FitCall(
            id=get(f, "id", int, -1), epochs_requested=get(f, "epochs_requested", int),
            steps_per_epoch=get(f, "steps_per_epoch", int),
            train_flow_id=get(f, "train_flow_id", int),
            callbacks=tuple(str(c)[:100] for c in (get(f, "callbacks", list, []))[:20]),
            epochs=tuple(Epoch(get(e, "epoch", int, 0), _numbers(e.get("logs")))
                         for e in items(f, "epochs", limit=10_000)),
            stopped_by=get(stopped, "callback", str, limit=100),
            stopped_at_epoch=get(stopped, "epoch", int),
            completed=bool(get(f, "completed", bool, False)), error=get(f, "error", str),
            callback_error=get(f, "callback_error", str, limit=300),
            validation_flow_id=get(f, "validation_flow_id", int),
            validation_steps=get(f, "validation_steps", int),
            has_validation=bool(get(f, "has_validation", bool, False)),
            x_kind=get(f, "x_kind", str, limit=60),
            inside_fit=get(f, "inside_fit", int)))
    error = raw_execution.get("error") if isinstance(raw_execution.get("error"), dict) else {}
    execution = Execution(
        kind=get(raw_execution, "kind", str), ran_to_end=bool(get(raw_execution, "ran_to_end",
                                                                  bool, False)),
        kernel_died=bool(get(raw_execution, "kernel_died", bool, False)),
        code_cells=get(raw_execution, "code_cells", int),
        cells_run=len(items(raw_execution, "cells", limit=10_000)) if raw_execution else None,
        error_name=get(error, "ename", str, limit=200),
        error_value=get(error, "evalue", str, limit=1000),
        error_cell=get(error, "cell_index", int),
        executor=get(raw_execution, "executor", str, limit=20),
        kernel_died_in_cell=get(raw_execution, "kernel_died_in_cell", int))
    entry = _entry_point(items(raw, "entry_points", limit=50), reader)
    return Trace(
        generators=generators, flows=flows,
        datasets=tuple(_bounded(d) for d in items(raw, "datasets")), compiles=compiles,
        fits=tuple(fits),
        entry_point=entry,
        compat_notes=tuple(str(n)[:300] for n in get(raw, "compat_notes", list, [])[:50]),
        model_saved=bool(get(raw, "model_saved", bool, False)),
        model_error=get(raw, "model_error", str, limit=500),
        rescalings=tuple(v for v in (get(r, "scale", float) for r in items(raw, "rescalings",
                                                                          limit=20))
                         if v is not None),
        outside_fit=tuple(OutsideFit(get(o, "call", str, "?", limit=40),
                                     get(o, "after_fit", int), get(o, "inside_fit", int))
                          for o in items(raw, "outside_fit", limit=50)),
        execution=execution, problems=tuple(reader.problems))
