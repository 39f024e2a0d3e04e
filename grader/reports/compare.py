"""A submission shown next to what was expected: its layers beside the reference's, and
each setting beside the value the judging check expected.

Nothing here judges. The settings table shows each check's own finding (`found`,
`expected` and its status, carried in the result); the architecture table lines the saved
model's layers up with the reference layers of the spec, so a student sees *where* a model
differs (a missing pooling layer, one more Dense), not only the first failed check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """The student's layers aligned with the reference's (a diff, so one missing block
    shows as two missing rows where it is missing, not as every later row differing)."""
    student = [_student_cell(layer) for layer in result.details.get("layers") or []
               if isinstance(layer, dict)]
    reference = [_reference_cell(layer) for layer in reference_layers]
    if not reference:
        return [LayerRow(cell, None) for cell in student]
    rows: list[LayerRow] = []
    for mine, theirs in align(student, reference):
        if mine is not None and theirs is not None:
            rows.append(LayerRow(student[mine], reference[theirs],
                                 _differences(student[mine], reference[theirs])))
        elif mine is not None:
            rows.append(LayerRow(student[mine], None, ["extra layer"]))
        elif theirs is not None:
            rows.append(LayerRow(None, reference[theirs], ["missing layer"]))
    return rows


GAP, OTHER_TYPE, SAME_TYPE, SAME_SHAPE = -1, -2, 2, 1


def align(student: list[LayerCell], reference: list[LayerCell]
          ) -> list[tuple[int | None, int | None]]:
    """A global alignment (Needleman-Wunsch): layers of one type pair up, better still
    with the same output shape. Why not difflib: it matches types only, and puts a
    student's two conv blocks against the reference's *last* two of three, so every row
    of a correct beginning reads as different."""
    def pair(a: LayerCell, b: LayerCell) -> int:
        if a.cls != b.cls:
            return OTHER_TYPE
        return SAME_TYPE + (SAME_SHAPE if a.shape == b.shape else 0)

    rows, cols = len(student), len(reference)
    best = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        best[i][0] = i * GAP
    for j in range(1, cols + 1):
        best[0][j] = j * GAP
    for i in range(1, rows + 1):
        for j in range(1, cols + 1):
            best[i][j] = max(best[i - 1][j - 1] + pair(student[i - 1], reference[j - 1]),
                             best[i - 1][j] + GAP, best[i][j - 1] + GAP)
    path: list[tuple[int | None, int | None]] = []
    i, j = rows, cols
    while i or j:
        if i and j and best[i][j] == best[i - 1][j - 1] + pair(student[i - 1],
                                                               reference[j - 1]):
            i, j = i - 1, j - 1
            path.append((i, j))
        elif i and best[i][j] == best[i - 1][j] + GAP:
            i -= 1
            path.append((i, None))
        else:
            j -= 1
            path.append((None, j))
    return path[::-1]


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
