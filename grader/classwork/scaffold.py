"""`grader exercise new NAME --from REFERENCE --like BASE`: a starting spec, written from
what one grading of the reference did.

Why: the manual loop of docs/authoring.md (grade, read the result's details, copy the
layers, shapes and parameters into `[reference]`, set each check's expected value, grade
again) is where a new exercise's expected values go wrong by hand. The grading already
recorded all of it: the saved model's layers as the trusted scorer read them, the
generator's rescale, the flow's target size and class mode, the loss, the epochs asked.

The base exercise gives what one run cannot tell: the data set and where notebooks look
for it, the limits, which checks the rubric has and their points. `[detect]` is not
carried over (it recognises the base's notebooks, not the new one's), and every value the
reference set is listed for review: a reference is one way of solving the exercise, and
the spec says what every student's way must satisfy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.results.result import GradeResult

CONV_CLASSES = ("Conv2D", "Conv1D", "Conv3D", "SeparableConv2D", "DepthwiseConv2D")


@dataclass(frozen=True)
class Scaffold:
    spec: dict[str, Any]  # the TOML document, as tomli_w writes it
    review: tuple[str, ...]  # one line per value a person should check


def scaffold(name: str, title: str, base_raw: dict[str, Any], base_name: str,
             result: GradeResult) -> Scaffold:
    """The new spec: the base's tables, with what the reference's grading recorded."""
    spec = copy.deepcopy(base_raw)
    spec.pop("detect", None)
    review: list[str] = [f"[data] and [stage] are {base_name}'s: the data set the "
                         "exercise is graded on and where notebooks look for it",
                         "[detect] was left out: add patterns only this exercise's "
                         "notebooks contain, so `grader grade FILE` can pick it"]
    if spec.pop("similarity", None):
        review.append(f"[similarity] was left out: {base_name}'s starter notebooks are not "
                      "this exercise's")
    spec["exercise"] = {**spec.get("exercise", {}), "name": name, "title": title,
                        "version": "0.1"}
    spec["exercise"].pop("course_version", None)
    details, metrics = result.details, result.metrics
    if isinstance(details.get("classes"), list) and details["classes"]:
        spec.setdefault("data", {})["classes"] = [str(c) for c in details["classes"]]
    epochs = metrics.get("epochs_requested")
    if isinstance(epochs, int) and epochs > 0:
        spec.setdefault("training", {})["epoch_limit"] = epochs
        review.append(f"[training] epoch_limit = {epochs}: the epochs the reference asked for")
    layers = [layer for layer in details.get("layers") or [] if isinstance(layer, dict)]
    if layers:
        spec["reference"] = {"layers": [_reference_layer(layer) for layer in layers]}
        review.append(f"[reference] {len(layers)} layer(s) as the scorer read the saved model")
    for item in spec.get("rubric", []):
        _expect(item, details, layers, review)
    accuracy = metrics.get("hidden_accuracy")
    hidden = next((i for i in spec.get("rubric", []) if i.get("id") == "hidden_accuracy"),
                  None)
    if hidden is not None and isinstance(accuracy, int | float):
        bar = (hidden.get("params") or {}).get("full_marks_at")
        review.append(f"hidden_accuracy: the reference measured {accuracy:.1%} on the hidden "
                      f"split; full marks from {bar} (run `grader verify` for the margin)")
    return Scaffold(spec, tuple(review))


def _reference_layer(layer: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"cls": str(layer.get("cls"))}
    shape = layer.get("output_shape")
    if isinstance(shape, list) and shape and all(isinstance(v, int) for v in shape[1:]):
        out["output_shape"] = [int(v) for v in shape[1:]]  # without the batch dimension
    if isinstance(layer.get("params"), int):
        out["params"] = layer["params"]
    if isinstance(layer.get("activation"), str) and layer["activation"] != "linear":
        out["activation"] = layer["activation"]
    return out


def _expect(item: dict[str, Any], details: dict[str, Any], layers: list[dict[str, Any]],
            review: list[str]) -> None:
    """Set one rubric item's expected value from the grading, where the check has one."""
    check, params = item.get("id"), dict(item.get("params") or {})
    flow = details.get("flow") if isinstance(details.get("flow"), dict) else {}
    generator = details.get("generator") if isinstance(details.get("generator"), dict) else {}
    compiled = details.get("compile") if isinstance(details.get("compile"), dict) else {}
    shape = details.get("input_shape")
    found: Any = None
    if check == "input_shape" and isinstance(shape, list) and len(shape) > 1:
        found = params["expected"] = [int(v) for v in shape[1:]]
    elif check == "output_layer" and layers:
        last = layers[-1]
        units = (last.get("output_shape") or [None])[-1]
        if isinstance(units, int):
            params["units"] = units
        if isinstance(last.get("activation"), str):
            params["activation"] = last["activation"]
        found = f"Dense({params.get('units')}, activation={params.get('activation')!r})"
    elif check == "conv_layers" and layers:
        count = sum(layer.get("cls") in CONV_CLASSES for layer in layers)
        params["max"] = max(int(params.get("max", count)), count)
        found = f"{count} convolution layer(s); allowed {params.get('min', 1)} to {params['max']}"
    elif check == "loss" and isinstance(compiled.get("loss"), str):
        found = params["expected"] = [compiled["loss"]]
    elif check == "generator_rescale" and isinstance(generator.get("rescale"), int | float):
        found = params["expected"] = float(generator["rescale"])
    elif check == "generator_target_size" and isinstance(flow.get("target_size"), list):
        found = params["expected"] = [int(v) for v in flow["target_size"]]
    elif check == "generator_class_mode" and isinstance(flow.get("class_mode"), str):
        found = params["expected"] = flow["class_mode"]
    if found is not None:
        item["params"] = params
        review.append(f"{check}: {found}")


def file_name(name: str) -> str:
    """The spec's file name: the exercise name with '-' written '_' (spec.available reads
    it back the other way)."""
    return name.replace("-", "_") + ".toml"


def valid_name(name: str) -> bool:
    return bool(name) and name[0].isalpha() and all(c.isalnum() or c == "-" for c in name) \
        and name.lower() == name and len(name) <= 60


def header(name: str, reference: Path, base: str, result: GradeResult) -> str:
    return (f"# {name}: written by `grader exercise new {name} --from {reference.name} "
            f"--like {base}`\n# from one grading of the reference ({result.score:g} / "
            f"{result.max_score:g}, {result.status}). Review it, then `grader verify`.\n\n")
