"""A submission next to the expected values: its layers against the reference's, its
generator/compile/fit settings against the spec's.

Why here and not in the checks: the checks give a verdict and points; a report also has to
show *where* a model or a setting differs (a missing pooling layer, one more Dense), and
the student wants the whole picture, not only the first failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from grader.exercise import ReferenceLayer
from grader.reports.expected import ExpectedValues
from grader.result import GradeResult

MATCHES, DIFFERS, MISSING = "matches", "differs", "not recorded"


def show(value: Any) -> str:
    """A value the way it would be written in Python (tuples for shapes)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        inner = ", ".join(show(v) if v is not None else "None" for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={show(v)}" for k, v in value.items()) or "—"
    return str(value)


# --- architecture ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerCell:
    cls: str
    name: str
    shape: str
    params: int | None
    activation: str | None


@dataclass
class LayerRow:
    student: LayerCell | None
    reference: LayerCell | None
    differences: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.differences)


def _student_cell(layer: dict[str, Any]) -> LayerCell:
    shape = layer.get("output_shape")
    return LayerCell(cls=str(layer.get("cls") or layer.get("class") or "?"),
                     name=str(layer.get("name") or ""),
                     shape=show([None if v is None else v for v in shape])
                     if isinstance(shape, list) else "—",
                     params=layer.get("params") if isinstance(layer.get("params"), int)
                     else None, activation=layer.get("activation"))


def _reference_cell(layer: ReferenceLayer) -> LayerCell:
    shape = show([None, *layer.output_shape]) if layer.output_shape is not None else "—"
    return LayerCell(cls=layer.cls, name="", shape=shape, params=layer.params,
                     activation=layer.activation)


def _differences(student: LayerCell, reference: LayerCell) -> list[str]:
    found = []
    if student.cls != reference.cls:
        found.append("type")
    if reference.shape != "—" and student.shape != reference.shape:
        found.append("output shape")
    if reference.params is not None and student.params != reference.params:
        found.append("parameters")
    if reference.activation and student.activation != reference.activation:
        found.append("activation")
    return found


def layer_rows(result: GradeResult, expected: ExpectedValues | None) -> list[LayerRow]:
    """The student's layers aligned with the reference's by layer type (a diff, so one
    extra layer shows as one extra row, not as every later row differing)."""
    student = [_student_cell(layer) for layer in result.details.get("layers") or []
               if isinstance(layer, dict)]
    reference = [_reference_cell(layer) for layer in
                 (expected.reference_layers if expected else ())]
    if not reference:
        return [LayerRow(cell, None) for cell in student]
    rows: list[LayerRow] = []
    matcher = SequenceMatcher(a=[c.cls for c in student], b=[c.cls for c in reference],
                              autojunk=False)
    for _, a0, a1, b0, b1 in matcher.get_opcodes():
        mine, theirs = student[a0:a1], reference[b0:b1]
        for i in range(max(len(mine), len(theirs))):
            left = mine[i] if i < len(mine) else None
            right = theirs[i] if i < len(theirs) else None
            if left and right:
                rows.append(LayerRow(left, right, _differences(left, right)))
            elif left:
                rows.append(LayerRow(left, None, ["extra layer"]))
            else:
                rows.append(LayerRow(None, right, ["missing layer"]))
    return rows


# --- settings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SettingRow:
    group: str
    name: str
    found: str
    expected: str = ""
    verdict: str = ""  # matches | differs | not recorded | "" (nothing to compare)


def _verdict(recorded: bool, ok: bool) -> str:
    return MISSING if not recorded else MATCHES if ok else DIFFERS


def _generator_rows(result: GradeResult, exp: ExpectedValues | None) -> list[SettingRow]:
    generator = result.details.get("generator") or {}
    kwargs = dict(generator.get("kwargs") or {})
    rescale = generator.get("rescale", kwargs.get("rescale"))
    rows = []
    if exp and exp.rescale is not None:
        ok = isinstance(rescale, int | float) and math.isclose(
            rescale, exp.rescale, abs_tol=exp.rescale_tolerance)
        rows.append(SettingRow("ImageDataGenerator", "rescale", show(rescale),
                               f"1/255 ≈ {exp.rescale:.6g}" if math.isclose(
                                   exp.rescale, 1 / 255) else show(exp.rescale),
                               _verdict(bool(generator), ok)))
    else:
        rows.append(SettingRow("ImageDataGenerator", "rescale", show(rescale)))
    others = {k: v for k, v in kwargs.items() if k != "rescale"}
    rows.append(SettingRow("ImageDataGenerator", "other arguments", show(others)))
    return rows


def _flow_rows(result: GradeResult, exp: ExpectedValues | None) -> list[SettingRow]:
    flow = result.details.get("flow") or {}
    recorded = bool(flow)
    classes = sorted(flow.get("class_indices") or {})
    rows = []
    if exp:
        wanted = sorted(exp.classes)
        rows.append(SettingRow(
            "flow_from_directory", "directory", show(flow.get("directory")),
            f"the folder holding {' and '.join(f'{c}/' for c in wanted)}",
            _verdict(recorded, classes == wanted and (flow.get("images_found") or 0) > 0)))
        rows.append(SettingRow("flow_from_directory", "classes found", show(classes),
                               show(wanted), _verdict(recorded, classes == wanted)))
    else:
        rows.append(SettingRow("flow_from_directory", "directory",
                               show(flow.get("directory"))))
        rows.append(SettingRow("flow_from_directory", "classes found", show(classes)))
    for key, want in (("target_size", exp.target_size if exp else None),
                      ("class_mode", exp.class_mode if exp else None)):
        value = flow.get(key)
        found = tuple(value) if isinstance(value, list) else value
        rows.append(SettingRow("flow_from_directory", key, show(value),
                               show(want) if want is not None else "",
                               _verdict(recorded, found == want) if want is not None else ""))
    rows.append(SettingRow("flow_from_directory", "batch_size", show(flow.get("batch_size"))))
    rows.append(SettingRow("flow_from_directory", "images found",
                           show(flow.get("images_found"))))
    return rows


def _compile_rows(result: GradeResult, exp: ExpectedValues | None) -> list[SettingRow]:
    compiled = result.details.get("compile") or {}
    loss = compiled.get("loss")
    names = {str(v) for v in loss} if isinstance(loss, list) else {str(loss)}
    rows = [SettingRow("compile", "loss", show(loss),
                       " or ".join(map(repr, exp.losses)) if exp and exp.losses else "",
                       _verdict(bool(compiled), names <= exp.accepted_losses)
                       if exp and exp.losses else "")]
    rows += [SettingRow("compile", "optimizer", show(compiled.get("optimizer"))),
             SettingRow("compile", "learning rate", show(compiled.get("learning_rate"))),
             SettingRow("compile", "metrics", show(compiled.get("metrics")))]
    return rows


def _model_rows(result: GradeResult, exp: ExpectedValues | None) -> list[SettingRow]:
    shape = result.details.get("input_shape")
    found = tuple(shape[1:]) if isinstance(shape, list) and shape else None
    layers = [x for x in result.details.get("layers") or [] if isinstance(x, dict)]
    head = layers[-1] if layers else None
    head_text = (f"{head.get('cls')}({head.get('units')}, activation="
                 f"{head.get('activation')!r})") if head else "—"
    rows = []
    if exp and exp.input_shape is not None:
        rows.append(SettingRow("model", "input shape", show(found), show(exp.input_shape),
                               _verdict(found is not None, found == exp.input_shape)))
    else:
        rows.append(SettingRow("model", "input shape", show(found)))
    if exp and exp.output_units is not None:
        ok = bool(head) and head.get("cls") == "Dense" and head.get(
            "units") == exp.output_units and head.get("activation") == exp.output_activation
        rows.append(SettingRow("model", "output layer", head_text,
                               f"Dense({exp.output_units}, activation="
                               f"{exp.output_activation!r})", _verdict(head is not None, ok)))
    else:
        rows.append(SettingRow("model", "output layer", head_text))
    total = result.metrics.get("total_params")
    reference_total = sum(x.params or 0 for x in exp.reference_layers) if exp else 0
    rows.append(SettingRow("model", "parameters", show(total),
                           f"{reference_total} in the reference" if reference_total else ""))
    return rows


def _fit_rows(result: GradeResult, exp: ExpectedValues | None) -> list[SettingRow]:
    metrics = result.metrics
    limit = metrics.get("epochs_limit") or (exp.epoch_limit if exp else None)
    stop, first = metrics.get("stop_epoch"), metrics.get("first_epoch_above_threshold")
    threshold = exp.accuracy_threshold if exp else 0.999
    by = metrics.get("stopped_by_callback")
    stopped = f"{by} at epoch {stop}" if by and stop else "no callback stopped training"
    wanted = (f"a callback, at the first epoch above {threshold:g}"
              + (f" (epoch {first})" if first else "") + (f", by epoch {limit}" if limit else ""))
    ran = metrics.get("epochs_run")
    return [
        SettingRow("fit", "epochs requested", show(metrics.get("epochs_requested"))),
        SettingRow("fit", "epochs run", show(ran),
                   f"at most {limit}" if exp and limit else "",
                   _verdict(ran is not None, (ran or 0) <= limit) if exp and limit else ""),
        SettingRow("fit", "stopped by", stopped, wanted if exp else "",
                   _verdict(bool(result.details.get("epochs")),
                            bool(by) and stop == first and (not limit or stop <= limit))
                   if exp else ""),
    ]


def setting_rows(result: GradeResult, expected: ExpectedValues | None) -> list[SettingRow]:
    """Every setting the run recorded, with the expected value and a word (not a colour)
    saying whether they agree; without `expected` there is nothing to compare."""
    return [*_generator_rows(result, expected), *_flow_rows(result, expected),
            *_compile_rows(result, expected), *_model_rows(result, expected),
            *_fit_rows(result, expected)]
