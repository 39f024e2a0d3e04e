"""Trusted scoring: load the saved model safely and measure it on data the run never saw.

Runs as its own process (`python -m grader.scoring.scorer`), never imports student code, and
loads the model with safe_mode=True (a Lambda layer or an unknown custom class is refused,
not executed). It reads the architecture from the model itself, scores the hidden split
and recomputes training accuracy (grader.scoring.evaluate: mixed batches in a seeded
order, checked against images scored alone), so none of these numbers depend on the
run's own trace. Each model is scored under the request's time and CPU budget
(grader.scoring.bounds); the process's parent puts it in a memory cgroup.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from grader.scoring import bounds, course_era, images

MAX_MODEL_BYTES = 512 * 1024 * 1024

# What this process's parent bounded it with (bounds.ScorerCage.host), written into every
# result; a scorer started by hand has no cgroup.
_host: dict[str, Any] = {"memory_limit": "none", "memory_mb": None, "cgroup": None,
                         "v2": False}


def environment(intra_op_threads: int) -> dict[str, str]:
    """How a scorer process must be started: TensorFlow quiet, and the spec's thread
    count, so a model scores the same on every machine and at any --jobs."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
            "TF_NUM_INTRAOP_THREADS": str(intra_op_threads), "TF_NUM_INTEROP_THREADS": "1"}


def configure(host: dict[str, Any]) -> None:
    """Called once at start by a scorer its parent bounded (one-off or service), before
    it imports Keras. Keras imports matplotlib.pyplot whenever it is installed (for its
    plotting helpers); a scorer never plots, and that import cost 0.6-1.0 CPU-seconds of
    every scorer's start (measured: `import tensorflow` 5.4-6.0 CPU-s with it, 4.3-4.8
    without). Marked absent, Keras's own `except ImportError` leaves its plotting unset.
    Students keep matplotlib: their runs and the callback test import it as installed."""
    _host.update(host)
    sys.modules.setdefault("matplotlib", None)  # type: ignore[assignment]


def host() -> dict[str, Any]:
    return dict(_host)


def _layers(model: Any) -> list[dict[str, Any]]:
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        activation = config.get("activation")
        try:
            output_shape = list(layer.output.shape)
        except Exception:  # noqa: BLE001 - a layer without a symbolic output
            output_shape = None
        rows.append({
            "class": type(layer).__name__,
            "name": str(layer.name)[:100],
            "units": config.get("units"),
            "filters": config.get("filters"),
            "kernel_size": config.get("kernel_size"),
            "activation": activation if isinstance(activation, str) else None,
            "output_shape": output_shape,
            "params": int(layer.count_params()),
        })
    return rows


def _load(model_path: Path) -> tuple[Any, str | None, str | None]:
    """(model, None, a note or None), or (None, why it cannot be scored, None). A model
    that names course-era `tf.nn` activations is loaded from a copy that names Keras's
    own (grader.scoring.course_era), and the note says so."""
    if model_path.is_symlink() or not model_path.is_file():
        return None, "no saved model (the run never finished a fit)", None
    if model_path.stat().st_size > MAX_MODEL_BYTES:
        return None, "the saved model is larger than 512 MB", None
    import keras

    try:
        return keras.models.load_model(model_path, compile=False, safe_mode=True), None, None
    except Exception as exc:  # noqa: BLE001 - any refusal is a verdict on the model
        message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        refused = f"the saved model cannot be loaded safely: {type(exc).__name__}: {message}"
    renamed_copy = model_path.with_name("keras-named.keras")
    renamed = course_era.keras_named_copy(model_path, renamed_copy)
    if not renamed:
        return None, refused, None
    try:
        model = keras.models.load_model(renamed_copy, compile=False, safe_mode=True)
    except Exception:  # noqa: BLE001 - still refused: the first reason stands
        return None, refused, None
    finally:
        renamed_copy.unlink(missing_ok=True)
    return model, None, course_era.note(renamed)


def score(model_path: Path, hidden_dir: Path, train_zip: Path, classes: list[str],
          rescale: float, rescale_if_model_has_none: float | None = None,
          seed: int = 0) -> dict[str, Any]:
    from grader.scoring import evaluate

    result: dict[str, Any] = {"model_loaded": False, "model_error": None}
    model, error, loaded_as = _load(model_path)
    if model is None:
        result["model_error"] = error
        return result
    result["model_loaded"] = True
    if loaded_as:
        result["loaded_as"] = loaded_as
    result["saved_loss"] = course_era.saved_loss(model_path)
    shape = list(model.input_shape) if not isinstance(model.input_shape, list) \
        else list(model.input_shape[0])
    result["input_shape"] = shape
    result["output_shape"] = list(model.output_shape) if not isinstance(
        model.output_shape, list) else None
    result["layers"] = _layers(model)
    if rescale_if_model_has_none is not None and not any(
            row["class"] == "Rescaling" for row in result["layers"]):
        rescale = rescale_if_model_has_none  # the run rescaled its dataset, not its model
    result["total_params"] = int(model.count_params())
    size = (shape[1] or 150, shape[2] or 150) if len(shape) == 4 else (150, 150)
    channels = shape[3] if len(shape) == 4 and shape[3] else 3
    result["evaluated_at"] = {"size": list(size), "channels": channels, "rescale": rescale}
    try:
        result.update(evaluate.evaluate(model, {"hidden": hidden_dir, "train": train_zip},
                                        classes, size, channels, rescale, seed))
    except Exception as exc:  # noqa: BLE001 - e.g. a model that cannot take these images
        result["evaluation_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return result


def serve_one(argv: list[str]) -> int:
    """Prewarmed mode: import TensorFlow first, then wait for one request on stdin.

    The grader starts this while the submission trains, so the trusted side's own
    TensorFlow import (~3.7 s) overlaps the run instead of following it. argv: the
    hidden folder, the training zip, the classes and what the process is bounded with.
    """
    configure(json.loads(argv[3]) if len(argv) > 3 else {})
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    images.prewarm(Path(argv[0]), Path(argv[1]), argv[2].split(","))
    line = sys.stdin.readline()
    code = main(json.loads(line)) if line.strip() else 0  # no line: nothing to score
    # The result file is already in place: skip TensorFlow's slow interpreter teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader.scoring.scorer")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--hidden", type=Path, required=True)
    parser.add_argument("--train-zip", type=Path, required=True)
    parser.add_argument("--classes", required=True)
    parser.add_argument("--rescale", type=float, required=True)
    parser.add_argument("--rescale-if-model-has-none", type=float)
    parser.add_argument("--seed", type=int, default=0,
                        help="chooses the order images are fed in and the images checked "
                             "one at a time (grade.py derives it from the course secret)")
    parser.add_argument("--time-limit", type=float, default=bounds.DEFAULT_TIME_SECONDS,
                        help="seconds this model's scoring may take")
    parser.add_argument("--out", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["--serve-one"]:
        return serve_one(sys.argv[2:])
    args = _parser().parse_args(argv)
    limits = bounds.ScorerLimits(_host.get("memory_mb"), args.time_limit)
    bounded = {**host(), "time_seconds": limits.time_seconds,
               "cpu_seconds": limits.cpu_seconds}
    with bounds.RequestWatch(args.out, limits.time_seconds, limits.cpu_seconds,
                             bounded) as watch:
        result = score(args.model, args.hidden, args.train_zip, args.classes.split(","),
                       args.rescale, args.rescale_if_model_has_none,
                       args.seed % (1 << 64))
        watch.deliver(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
