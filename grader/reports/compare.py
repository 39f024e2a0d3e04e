"""A submission shown next to what was expected: its layers beside the reference's, and
each setting beside the value the judging check expected.

Nothing here judges. The settings table shows each check's own finding (`found`,
`expected` and its status, carried in the result); the architecture table lines the saved
model's layers up with the reference layers of the spec, so a student sees *where* a model
differs (a missing pooling layer, one more Dense), not only the first failed check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from grader.checks import REGISTRY
from grader.exercise import ReferenceLayer
from grader.results.result import GradeResult

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


def layer_rows(result: GradeResult,
               reference_layers: tuple[ReferenceLayer, ...] = ()) -> list[LayerRow]:
    """The student's layers aligned with the reference's by layer type (a diff, so one
    extra layer shows as one extra row, not as every later row differing)."""
    student = [_student_cell(layer) for layer in result.details.get("layers") or []
               if isinstance(layer, dict)]
    reference = [_reference_cell(layer) for layer in
                 reference_layers]
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
    verdict: str = ""  # the judging check's status word, or "" when no check judges it
    check: str = ""  # the id of the check whose finding this row shows


VERDICT_WORDS = {"passed": MATCHES, "failed": DIFFERS, "partial": "partly",
                 "not_judged": MISSING}
_GROUP_ORDER = ("ImageDataGenerator", "flow_from_directory", "image_dataset_from_directory",
                "Rescaling", "validation", "compile", "model", "fit", "graded function")


def _judged_rows(result: GradeResult) -> list[SettingRow]:
    """One row per check that reports a setting: what the check found, what it expected,
    and its own verdict. Nothing is compared here: a row agrees with its check by
    construction."""
    rows = []
    for check in result.checks:
        info = REGISTRY.get(check.id)
        if info is None or info.setting is None or check.status == "not_applicable":
            continue
        group, name = info.setting
        rows.append(SettingRow(group, name, show(check.found),
                               show(check.expected) if check.expected is not None else "",
                               VERDICT_WORDS.get(check.status, check.status), check.id))
    return rows


def _recorded_rows(result: GradeResult,
                   reference: tuple[ReferenceLayer, ...]) -> list[SettingRow]:
    """What the run recorded that no check judges: shown for the whole picture."""
    generator = result.details.get("generator") or {}
    flow = result.details.get("flow") or {}
    compiled = result.details.get("compile") or {}
    metrics = result.metrics
    others = {k: v for k, v in (generator.get("kwargs") or {}).items() if k != "rescale"}
    reference_total = sum(layer.params or 0 for layer in reference)
    rows = [SettingRow("ImageDataGenerator", "other arguments", show(others))] \
        if generator else []
    if flow:
        rows += [SettingRow("flow_from_directory", "classes found",
                            show(sorted(flow.get("class_indices") or {}))),
                 SettingRow("flow_from_directory", "batch_size", show(flow.get("batch_size"))),
                 SettingRow("flow_from_directory", "images found",
                            show(flow.get("images_found")))]
    if compiled:
        rows += [SettingRow("compile", "optimizer", show(compiled.get("optimizer"))),
                 SettingRow("compile", "learning rate", show(compiled.get("learning_rate"))),
                 SettingRow("compile", "metrics", show(compiled.get("metrics")))]
    rows.append(SettingRow("model", "parameters", show(metrics.get("total_params")),
                           f"{reference_total} in the reference" if reference_total else ""))
    if result.details.get("epochs") or metrics.get("epochs_requested") is not None:
        rows += [SettingRow("fit", "epochs requested", show(metrics.get("epochs_requested"))),
                 SettingRow("fit", "epochs run", show(metrics.get("epochs_run")),
                            f"at most {metrics['epochs_limit']}"
                            if metrics.get("epochs_limit") else "")]
    return rows


def setting_rows(result: GradeResult,
                 reference: tuple[ReferenceLayer, ...] = ()) -> list[SettingRow]:
    """Every setting the checks judged (with their verdicts) and every other one the run
    recorded, grouped by the call that set it."""
    rows = _judged_rows(result) + _recorded_rows(result, reference)
    order = {group: i for i, group in enumerate(_GROUP_ORDER)}
    return sorted(rows, key=lambda row: order.get(row.group, len(order)))
