"""Hand-built, realistic GradeResults for the browser tests (no TensorFlow needed).

Shaped like what grader.grade writes: the reference's layers, per-epoch logs, the
recorded generator/flow/compile calls, the hidden confusion matrix and misclassified
names ('<class>/<file>' relative to the hidden folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from grader.results.result import CheckResult, GradeResult

SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"

LAYERS = [
    ("Conv2D", "conv2d", 16, "relu", [None, 148, 148, 16], 448),
    ("MaxPooling2D", "max_pooling2d", None, None, [None, 74, 74, 16], 0),
    ("Conv2D", "conv2d_1", 32, "relu", [None, 72, 72, 32], 4640),
    ("MaxPooling2D", "max_pooling2d_1", None, None, [None, 36, 36, 32], 0),
    ("Conv2D", "conv2d_2", 64, "relu", [None, 34, 34, 64], 18496),
    ("MaxPooling2D", "max_pooling2d_2", None, None, [None, 17, 17, 64], 0),
    ("Flatten", "flatten", None, None, [None, 18496], 0),
    ("Dense", "dense", 512, "relu", [None, 512], 9470464),
    ("Dense", "dense_1", 1, "sigmoid", [None, 1], 513),
]
RUBRIC = [("runs", "The submission runs to the end", 10), ("input_shape", "Model input", 5),
          ("output_layer", "Output layer", 10), ("conv_layers", "Convolution blocks", 5),
          ("loss", "Loss: binary cross-entropy", 5),
          ("generator_rescale", "ImageDataGenerator(rescale=1/255)", 5),
          ("generator_directory", "flow_from_directory reads the folder", 5),
          ("callback_stop", "Training stopped at the first epoch above 0.999", 10),
          ("hidden_accuracy", "Accuracy on the hidden validation images", 20)]


def layers(name_of_last: str = "dense_1") -> list[dict[str, Any]]:
    rows = [{"cls": c, "name": n, "units": u if c == "Dense" else None,
             "filters": u if c == "Conv2D" else None, "activation": a, "output_shape": s,
             "params": p} for c, n, u, a, s, p in LAYERS]
    rows[-1]["name"] = name_of_last
    return rows


def checks(failing: dict[str, str] | None = None, status: str = "passed") -> list[CheckResult]:
    failing = failing or {}
    out = []
    for check_id, title, points in RUBRIC:
        if check_id in failing:
            out.append(CheckResult(check_id, title, "failed", False, 0.0, points,
                                   failing[check_id], f"how to fix {check_id}"))
        elif status == "passed":
            out.append(CheckResult(check_id, title, "passed", True, points, points,
                                   f"{check_id} is as expected"))
        else:
            out.append(CheckResult(check_id, title, "not_judged", None, 0.0, points,
                                   f"not judged: {status}"))
    return out


def _epochs(accuracies: list[float]) -> list[dict[str, float]]:
    return [{"epoch": i + 1, "accuracy": a, "loss": round(1.2 * (1 - a) + 0.02, 4)}
            for i, a in enumerate(accuracies)]


def graded(student: str, accuracies: list[float], stop: int | None,
           misclassified: list[str], failing: dict[str, str] | None = None,
           **fields: Any) -> GradeResult:
    wrong = len(misclassified)
    confusion = [[60 - sum(n.startswith("happy/") for n in misclassified),
                  sum(n.startswith("happy/") for n in misclassified)],
                 [sum(n.startswith("sad/") for n in misclassified),
                  60 - sum(n.startswith("sad/") for n in misclassified)]]
    check_rows = checks(failing)
    score = sum(c.score for c in check_rows)
    values: dict[str, Any] = dict(
        submission=f"{student}.ipynb", student=student, exercise="happy-or-sad",
        status="graded", score=score, max_score=75.0, checks=check_rows,
        metrics={"hidden_accuracy": (120 - wrong) / 120, "train_accuracy_recomputed": 1.0,
                 "train_accuracy_recorded": accuracies[-1], "epochs_run": len(accuracies),
                 "epochs_requested": 15, "epochs_limit": 15, "accuracy_threshold": 0.999,
                 "first_epoch_above_threshold": next(
                     (i + 1 for i, a in enumerate(accuracies) if a > 0.999), None),
                 "stopped_by_callback": "myCallback" if stop else None, "stop_epoch": stop,
                 "optimizer": "RMSprop", "learning_rate": 0.001, "total_params": 9494561},
        stdout_tail="Found 80 images belonging to 2 classes.\n" + "".join(
            f"Epoch {i + 1}/15\n8/8 - 1s - accuracy: {a:.4f}\n"
            for i, a in enumerate(accuracies)),
        stderr_tail="I0000 port.cc:153] oneDNN custom operations are on.\n",
        timings={"total": 9.1, "run": 8.0, "score": 0.7}, sandbox="bubblewrap",
        submission_sha256="ab" * 32, grader_version="0.1.0", exercise_version="1.0",
        details={"layers": layers(), "input_shape": [None, 150, 150, 3],
                 "epochs": _epochs(accuracies),
                 "flow": {"id": 0, "generator_id": 0, "directory": "/tmp/h-or-s",
                          "target_size": [150, 150], "batch_size": 10,
                          "class_mode": "binary", "images_found": 80,
                          "class_indices": {"happy": 0, "sad": 1}, "error": None},
                 "generator": {"id": 0, "rescale": 1 / 255, "kwargs": {"rescale": 1 / 255}},
                 "compile": {"loss": "binary_crossentropy", "optimizer": "RMSprop",
                             "learning_rate": 0.001, "metrics": ["accuracy"]},
                 "callback_tests": [{"callback": "myCallback", "stopped_below": False,
                                     "stopped_above": True, "error": None}],
                 "execution": {"kind": "notebook", "ran_to_end": True, "kernel_died": False,
                               "code_cells": 6, "cells_run": 6, "error_name": None,
                               "error_value": None, "error_cell": None},
                 "hidden_confusion": confusion, "hidden_misclassified": misclassified,
                 "evaluated_at": {"size": [150, 150], "channels": 3, "rescale": 1 / 255}})
    values.update(fields)
    return GradeResult(**values)


def passing() -> GradeResult:
    return graded("ada", [0.57, 0.54, 0.68, 0.85, 0.975, 1.0], 6, ["sad/sad-004.png"])


def failing() -> GradeResult:
    result = graded("bob", [0.5, 0.52, 0.55, 0.6, 0.61, 0.63, 0.66, 0.7, 0.71, 0.74, 0.75,
                            0.77, 0.8, 0.81, 0.83], None,
                    [f"happy/happy-{i:03}.png" for i in range(0, 30, 2)]
                    + [f"sad/sad-{i:03}.png" for i in range(1, 31, 2)],
                    failing={"generator_rescale": "rescale is None, expected 1/255",
                             "callback_stop": "no callback stopped training",
                             "hidden_accuracy": "75.0% of 120 hidden images correct"})
    result.details["generator"] = {"id": 0, "rescale": None, "kwargs": {}}
    result.details["layers"] = [row for row in result.details["layers"]
                                if row["cls"] != "MaxPooling2D"]
    return result


def timed_out() -> GradeResult:
    return GradeResult(
        submission="cy.py", student="cy", exercise="happy-or-sad", status="timeout",
        score=0.0, max_score=75.0, checks=checks(status="the run hit the time limit"),
        metrics={"hidden_accuracy": None, "epochs_run": 0, "epochs_limit": 15,
                 "stop_epoch": None},
        error="stopped after the 120 s time limit", stdout_tail="",
        stderr_tail="I0000 port.cc:153] oneDNN custom operations are on.\n",
        timings={"total": 120.3, "run": 120.1, "score": 0.0}, sandbox="bubblewrap",
        grader_version="0.1.0", exercise_version="1.0",
        details={"layers": [], "input_shape": None, "epochs": [], "flow": None,
                 "generator": None, "compile": None, "callback_tests": [],
                 "execution": {"kind": "module", "ran_to_end": False, "cells_run": 0},
                 "hidden_confusion": [], "hidden_misclassified": [], "evaluated_at": {}})


def error() -> GradeResult:
    return GradeResult(
        submission="dee.ipynb", student="dee", exercise="happy-or-sad", status="error",
        score=0.0, max_score=100.0, checks=checks(status="not a valid notebook"),
        error="not a valid notebook", timings={"total": 0.01}, grader_version="0.1.0",
        exercise_version="1.0")


def hostile() -> GradeResult:
    # A student id is a file stem, so it holds no '/': an unclosed <script> tag instead.
    name = f"eve {IMAGE} <script>alert(3)"
    result = graded(name, [0.6, 0.9, 1.0], 3, ["happy/happy-001.png"],
                    failing={"loss": f"loss is '{SCRIPT}'"},
                    stdout_tail=f"Epoch 1/15\n{SCRIPT}\n{IMAGE}\n",
                    notes=[f"trace: {IMAGE}"], compat_notes=[SCRIPT])
    result.details["layers"] = layers(name_of_last=f"{SCRIPT}{IMAGE}")
    result.details["compile"]["loss"] = SCRIPT
    return result


def odd_name() -> GradeResult:
    """A student id with a space, '#', '?' and '%': links must still reach its reports."""
    return graded("Jo Ann #2?%", [0.5, 0.8, 0.95], None, [], failing={
        "callback_stop": "no callback stopped training"}, score=9.5)


def all_results() -> list[GradeResult]:
    return [passing(), failing(), timed_out(), error(), hostile(), odd_name()]


def hidden_folder(root: Path, results: list[GradeResult]) -> Path:
    """A tiny hidden split holding every image the results name, drawn with Pillow."""
    for result in results:
        for name in result.details.get("hidden_misclassified") or []:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            image = Image.new("RGB", (150, 150), (250, 220, 90))
            draw = ImageDraw.Draw(image)
            draw.ellipse((25, 25, 125, 125), outline=(40, 40, 40), width=6)
            mouth = (50, 80, 100, 110) if name.startswith("happy/") else (50, 95, 100, 125)
            draw.arc(mouth, 0 if name.startswith("happy/") else 180,
                     180 if name.startswith("happy/") else 360, fill=(40, 40, 40), width=5)
            image.save(path)
    return root
