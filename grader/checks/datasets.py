"""tf.data pipeline checks (2024 Happy-or-Sad): image_dataset_from_directory and Rescaling.

The 2024 course replaced ImageDataGenerator with image_dataset_from_directory and a
Rescaling layer mapped over the dataset; these are the same questions as the generator
checks (pipeline.py), asked of the calls that version makes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from grader.checks.base import CheckContext, Verdict, check, failed, not_judged, passed


def _dataset_or_reason(ctx: CheckContext) -> dict[str, Any] | str:
    made = [d for d in ctx.trace.datasets if isinstance(d, dict)]
    good = [d for d in made if not d.get("error")]
    if good:
        return good[-1]
    if made:
        return made[-1]
    if ctx.trace.execution.error_name:
        return f"the code raised {ctx.trace.execution.error_name} before " \
               "image_dataset_from_directory"
    return "the code never called image_dataset_from_directory"


def _size(value: Any) -> tuple[Any, ...] | None:
    return tuple(value) if isinstance(value, list | tuple) else None


@check("dataset_directory", "image_dataset_from_directory reads the folder of the classes",
       setting=("image_dataset_from_directory", "directory"),
       claims=("dataset",))
def dataset_directory(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    dataset = _dataset_or_reason(ctx)
    if isinstance(dataset, str):
        return not_judged(dataset)
    found = sorted(dataset.get("class_names") or [])
    shown = f"reads {dataset.get('directory')!r} (classes {found})"
    if found == sorted(ctx.spec.classes):
        return passed(shown, found=dataset.get("directory"))
    return failed(f"{shown}; expected a folder with sub-folders {sorted(ctx.spec.classes)}",
                  hint="pass the folder that contains one sub-folder per class, e.g. "
                       "directory='./data/'", found=dataset.get("directory"))


@check("dataset_image_size", "image_dataset_from_directory(image_size=(150, 150))",
       setting=("image_dataset_from_directory", "image_size"),
       claims=("dataset",))
def dataset_image_size(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    dataset = _dataset_or_reason(ctx)
    if isinstance(dataset, str):
        return not_judged(dataset)
    expected = tuple(params.get("expected", (150, 150)))
    found = _size(dataset.get("image_size"))
    if found == expected:
        return passed(f"images are resized to {expected}", found=found, expected=expected)
    return failed(f"image_size is {found}, expected {expected}",
                  hint=f"use image_size={expected}, the size of the images and of the "
                       "model's input", found=found, expected=expected)


@check("dataset_label_mode", "image_dataset_from_directory(label_mode='binary')",
       setting=("image_dataset_from_directory", "label_mode"),
       claims=("dataset",))
def dataset_label_mode(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    dataset = _dataset_or_reason(ctx)
    if isinstance(dataset, str):
        return not_judged(dataset)
    expected = params.get("expected", "binary")
    found = dataset.get("label_mode")
    if found == expected:
        return passed(f"label_mode is {expected!r}", found=found, expected=expected)
    return failed(f"label_mode is {found!r}, expected {expected!r}",
                  hint="two classes, one sigmoid output and binary cross-entropy need "
                       "label_mode='binary'", found=found, expected=expected)


@check("dataset_rescaling", "Pixels rescaled by a Rescaling(1/255) layer",
       setting=("Rescaling", "scale"),
       claims=("dataset",))
def dataset_rescaling(ctx: CheckContext, params: Mapping[str, Any]) -> Verdict:
    """Either mapped over the dataset (the 2024 template) or as the model's first layer."""
    expected = float(params.get("expected", 1 / 255))
    in_model = bool(ctx.scoring.layers_of("Rescaling"))
    good = [s for s in ctx.trace.rescalings if math.isclose(s, expected, abs_tol=1e-6)]
    if good:
        return passed(f"a Rescaling({good[0]:.6g}) layer rescales the pixels"
                      + (" inside the model" if in_model else ""), found=good[0])
    if not ctx.trace.rescalings and not in_model and not ctx.trace.datasets \
            and ctx.trace.execution.error_name:
        return not_judged(f"the code raised {ctx.trace.execution.error_name} before making "
                          "its dataset")
    if ctx.trace.rescalings:
        return failed(f"Rescaling scale is {ctx.trace.rescalings[-1]:.6g}, expected 1/255",
                      hint="tf.keras.layers.Rescaling(1./255)",
                      found=ctx.trace.rescalings[-1], expected=expected)
    return failed("no Rescaling layer was created",
                  hint="make rescale_layer = tf.keras.layers.Rescaling(1./255) and map it over "
                       "the dataset: dataset.map(lambda image, label: (rescale_layer(image), "
                       "label))", expected=expected)
