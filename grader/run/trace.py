"""The run's own account of itself, read on the trusted side as untrusted data.

Every field is type-checked and size-bounded; anything malformed becomes a recorded
problem and a missing value, never an exception. Checks only ever see these typed objects.

Bounded in count as well as in size (issue 19): what this module lets through is all that
the evidence, grade.py's result and the reports ever handle, so a count the run chooses
is cut here — epochs per fit and in all, log names per fit, class names per flow — and
each kind of problem is noted once, however many fields have it. The typed, bounded
readers of any untrusted JSON are grader.run.fields.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.run.events import Replay
from grader.run.fields import (
    Reader,
    bounded,
    classes,
    json_file,
    json_object,
    optional_floats,
    size,
    text,
)
from grader.runner.contract import EXECUTION_FILE, EXECUTION_ROOT, TRACE_FILE, TRACE_ROOT

MAX_FIT_EPOCHS = 10_000  # epochs kept per fit (a course fit runs 15 to 100)
MAX_EPOCHS = 20_000  # epochs kept in all: the last fits keep theirs (the graded one is last)
MAX_LOG_NAMES = 32  # distinct names in a fit's epoch logs (Keras logs four to ten)
MAX_LOG_NAME = 64  # characters of a log name ('val_sparse_categorical_accuracy' is 31)


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
        """The fit that produced the graded model: the last one that ran an epoch, unless
        that one is a cut-off repeat (below), whose completed first call is judged."""
        ran = [f for f in self.fits if f.epochs]
        if not ran:
            return self.fits[-1] if self.fits else None
        return self._repeated(ran) or ran[-1]

    @property
    def cut_off_repeat(self) -> FitCall | None:
        """The training function called again (in a later cell, to look at its result)
        and cut off inside that second training by the end of the run — the time limit,
        the memory limit, a dead kernel (issue 20, item 1). The model is saved where a fit
        ends; this one never ended, so the model the run left is the first call's, and the
        first call, completed, is the student's answer: the training judged."""
        ran = [f for f in self.fits if f.epochs]
        return ran[-1] if self._repeated(ran) is not None else None

    def _repeated(self, ran: list[FitCall]) -> FitCall | None:
        """The completed fit that the last of `ran` repeats, when that last one was cut off
        and no other fit ended between them (an ended fit saves its own model)."""
        if len(ran) < 2 or ran[-1].completed or ran[-1].error is not None:
            return None
        before = ran[-2]
        return before if before.completed and self.repeats(before, ran[-1]) else None

    def repeats(self, earlier: FitCall, later: FitCall) -> bool:
        """Whether `later` is the same training as `earlier` run again: the same fit
        arguments on a flow of the same settings (the training function called twice)."""
        same_call = (earlier.epochs_requested, earlier.steps_per_epoch, earlier.callbacks,
                     earlier.x_kind, earlier.inside_fit) == (
            later.epochs_requested, later.steps_per_epoch, later.callbacks, later.x_kind,
            later.inside_fit)
        return same_call and self._pipeline(earlier) == self._pipeline(later)

    def _pipeline(self, fit: FitCall) -> tuple[object, ...] | None:
        """The settings of the flow a fit consumed (None when it consumed no recorded
        flow)."""
        flow = next((f for f in self.flows if f.id == fit.train_flow_id), None)
        if flow is None:
            return None
        generator = self.generator_of(flow)
        return (flow.directory, flow.target_size, flow.class_mode, flow.batch_size,
                generator.applied_rescales if generator else None)

    @property
    def training_flow(self) -> FlowCall | None:
        fit = self.training_fit
        if fit is not None and fit.train_flow_id is not None:
            for flow in self.flows:
                if flow.id == fit.train_flow_id:
                    return flow
        return self.flows[0] if self.flows else None

    def position(self, fit: FitCall) -> int:
        """Where `fit` is among the fits: by identity, since `index` compares fits field by
        field (their epochs too) and finds the first of several equal fits, not this one."""
        found = next((i for i, f in enumerate(self.fits) if f is fit), None)
        return self.fits.index(fit) if found is None else found

    def generator_of(self, flow: FlowCall | None) -> Generator | None:
        if flow is None:
            return None
        return next((g for g in self.generators if g.id == flow.generator_id), None)


def _entry_point(definitions: list[dict[str, Any]], reader: Reader) -> EntryPoint | None:
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


def _numbers(raw: Any, names: dict[str, str], reader: Reader) -> dict[str, float]:
    """An epoch's numeric logs. `names` are the fit's log names so far: a fit keeps at most
    MAX_LOG_NAMES of them, so its epochs make a table of a few columns, not a million."""
    if not isinstance(raw, dict):
        return {}
    logs = {}
    for key, value in itertools.islice(raw.items(), 100):
        if not isinstance(value, int | float) or isinstance(value, bool) \
                or not math.isfinite(value):
            continue
        name = names.get(key)
        if name is None and len(names) >= MAX_LOG_NAMES:
            reader.note(f"a fit's epochs logged more than {MAX_LOG_NAMES} names; the rest "
                        "were not read")
            continue
        logs[name or names.setdefault(key, str(key)[:MAX_LOG_NAME])] = float(value)
    return logs


def _epochs(raw: dict[str, Any], kept: int, reader: Reader) -> tuple[Epoch, ...]:
    """The first `kept` epochs of a fit, noting any cut."""
    raws = raw.get("epochs")
    if isinstance(raws, list) and len(raws) > kept:
        reader.note(f"a fit recorded more epochs than the grader keeps ({MAX_FIT_EPOCHS:,} a "
                    f"fit, {MAX_EPOCHS:,} in all); the rest were not read")
    names: dict[str, str] = {}
    return tuple(Epoch(reader.get(e, "epoch", int, 0), _numbers(e.get("logs"), names, reader))
                 for e in reader.items(raw, "epochs", limit=kept))


def _epochs_kept(fits: list[dict[str, Any]]) -> list[int]:
    """How many epochs each fit keeps: MAX_FIT_EPOCHS each, MAX_EPOCHS in all, given from
    the last fit back, since the graded fit is the last that ran."""
    room, kept = MAX_EPOCHS, []
    for fit in reversed(fits):
        raws = fit.get("epochs")
        count = min(len(raws) if isinstance(raws, list) else 0, MAX_FIT_EPOCHS, room)
        kept.append(count)
        room -= count
    return kept[::-1]


def read_files(artefacts: Path, problems: list[str]) -> tuple[dict[str, Any],
                                                               dict[str, Any]]:
    """trace.json and execution.json as the run wrote them (its last word on disk)."""
    return (json_object(json_file(artefacts / TRACE_FILE, problems), TRACE_FILE, problems),
            json_object(json_file(artefacts / EXECUTION_FILE, problems), EXECUTION_FILE,
                        problems))


def load(artefacts: Path, replay: Replay | None = None) -> Trace:
    """The run's account: from the event stream when the run sent one (what it said as it
    happened), else from the files it left (the Jupyter-kernel path, old runners)."""
    reader = Reader()
    if replay is not None and replay.received:
        raw, raw_execution = replay.root(TRACE_ROOT) or {}, replay.root(EXECUTION_ROOT) or {}
        reader.problems += replay.problems
    else:
        raw, raw_execution = read_files(artefacts, reader.problems)
    return parse(raw, raw_execution, reader)


def parse(raw: dict[str, Any], raw_execution: dict[str, Any],
          reader: Reader | None = None) -> Trace:
    reader = reader or Reader()
    get, items = reader.get, reader.items
    generators = tuple(Generator(get(g, "id", int, -1), get(g, "rescale", float),
                                 bounded(get(g, "kwargs", dict, {})),
                                 optional_floats(g.get("rescales_used")))
                       for g in items(raw, "generators"))
    flows = tuple(FlowCall(
        id=get(f, "id", int, -1), generator_id=get(f, "generator_id", int),
        directory=get(f, "directory", str), target_size=size(f.get("target_size")),
        batch_size=get(f, "batch_size", int), class_mode=get(f, "class_mode", str),
        images_found=get(f, "images_found", int),
        class_indices=classes(get(f, "class_indices", dict)),
        error=get(f, "error", str)) for f in items(raw, "flows"))
    compiles = tuple(CompileCall(bounded(c.get("loss"))
                                 if isinstance(c.get("loss"), str | list | dict) else None,
                                 get(c, "optimizer", str), get(c, "learning_rate", float),
                                 bounded(c.get("metrics")))
                     for c in items(raw, "compiles"))
    fits = []
    raw_fits = items(raw, "fits")
    for f, kept in zip(raw_fits, _epochs_kept(raw_fits), strict=True):
        stopped = f.get("stopped_by") if isinstance(f.get("stopped_by"), dict) else {}
        fits.append(FitCall(
            id=get(f, "id", int, -1), epochs_requested=get(f, "epochs_requested", int),
            steps_per_epoch=get(f, "steps_per_epoch", int),
            train_flow_id=get(f, "train_flow_id", int),
            callbacks=tuple(text(c, 100) for c in (get(f, "callbacks", list, []))[:20]),
            epochs=_epochs(f, kept, reader),
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
        datasets=tuple(bounded(d) for d in items(raw, "datasets")), compiles=compiles,
        fits=tuple(fits),
        entry_point=entry,
        compat_notes=tuple(text(n, 300) for n in get(raw, "compat_notes", list, [])[:50]),
        model_saved=bool(get(raw, "model_saved", bool, False)),
        model_error=get(raw, "model_error", str, limit=500),
        rescalings=tuple(v for v in (get(r, "scale", float) for r in items(raw, "rescalings",
                                                                          limit=20))
                         if v is not None),
        outside_fit=tuple(OutsideFit(get(o, "call", str, "?", limit=40),
                                     get(o, "after_fit", int), get(o, "inside_fit", int))
                          for o in items(raw, "outside_fit", limit=50)),
        execution=execution, problems=tuple(reader.problems))
