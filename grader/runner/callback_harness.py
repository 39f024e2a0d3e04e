"""The callback test: the student's callback classes, alone, driven through real training.

Runs in a sandbox of its own (grader.run.callback_test starts it), never in the process
that ran the student's notebook: that process could tell it was being tested, and rewrite
what the test recorded. Here the only student code is each callback class with the scope
it needs (grader.evidence.callback_source cut it out of the source on the trusted side),
and the runs of epochs it is played are drawn from the course secret by the trusted side
and never entered the student's run folder.

To the callback this is training: a real Keras model with the exercise's input shape is
fitted for real (its output layer trained), one step of one image an epoch, and `logs`
carry the accuracy and loss of the run of epochs being played (set by the first callback
of the fit, before the student's sees them, the way Keras's own metrics would be). The
callback gets `logs` as it does in the graded run (answering to 'acc' as well as
'accuracy': grader.runner.compat.AliasLogs), and a fresh instance for every run of
epochs, as a fresh fit would. It stops a run by setting `self.model.stop_training`, as in
real training; where it stopped is the first epoch after which the flag was set.

What the training costs is paid by every grading, so it is the least a real fit can be
(measured on the reference's model, four runs of 42 epochs: 6.2 CPU-seconds at first,
1.6-2.4 with the first three of what follows, a third of that with the fourth;
docs/performance.md): one image a step; plain SGD, whose update is one operation per
weight where RMSprop's is several; one endless dataset per fit with one step an epoch, so
Keras makes one iterator a fit rather than two an epoch (15 ms each); and only the output
layer trained (train_only_the_last_layer).

Usage: python -m grader.runner.callback_harness CONFIG.json (see HarnessConfig); the
results are written to the config's `results` path as JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTPUT_KEPT = 300  # characters of what the callback printed, per run of epochs


@dataclass(frozen=True)
class HarnessConfig:
    classes: list[dict[str, str]]  # {"name", "module", "constructor"} per callback class
    epoch_runs: list[list[list[float]]]  # [[accuracy, loss], …] per run of epochs
    input_shape: list[int]
    seed: int
    intra_op_threads: int
    results: str  # in-sandbox path of the results file
    model: str | None = None  # the student's saved model, trained in the test where it loads

    @classmethod
    def load(cls, path: str) -> HarnessConfig:
        return cls(**json.loads(Path(path).read_text()))


def _model(keras: Any, input_shape: list[int], saved: str | None) -> tuple[Any, str]:
    """The student's own model where it loads (safe mode: no code in it runs), so the
    callback's `self.model` is the model it trained in the graded run; else a small real
    CNN of the course's shape. Compiled with a binary loss on one sigmoid unit, or a
    sparse categorical one on several, so real training runs whatever its output; plain
    SGD, the cheapest real optimizer (the student's own compile is not needed: the logs
    the callback reads are the run of epochs', not the loss's). Says which it is:
    "student" or "stand-in". The trusted side gives no model where the callbacks' code
    reads only their logs (grader.evidence.callback_reach): any model will do for them."""
    if saved:
        try:
            model = keras.saving.load_model(saved, compile=False, safe_mode=True)
            units = int(model.output_shape[-1])
            train_only_the_last_layer(model)
            model.compile(optimizer="sgd", metrics=["accuracy"],
                          loss="binary_crossentropy" if units == 1
                          else "sparse_categorical_crossentropy")
            return model, "student"
        except Exception:  # noqa: BLE001 - any model that will not load: the stand-in
            pass
    model = keras.Sequential([
        keras.Input(tuple(input_shape)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return model, "stand-in"


def train_only_the_last_layer(model: Any) -> None:
    """Freeze every layer with weights but the last, so a step computes the gradient of
    the output layer alone. The fit stays real (a forward pass through the whole model,
    the output layer's weights updated) at a third of its cost on the reference's model:
    the Dense(512) before the output has 9.5 million weights whose gradient a full
    step computes and SGD updates (docs/performance.md). A callback could tell from
    `layer.trainable` that this is not the graded fit, as it could from the optimizer.
    Nothing rests on its not telling: the graded fit's own stop is judged against its
    corroborated history (callback_stop), and code that looks for the grader goes to
    review (docs/security.md, residuals)."""
    weighted = [layer for layer in model.layers if layer.weights]
    for layer in weighted[:-1]:
        layer.trainable = False


def _play_run(keras: Any, model: Any, data: Any, callback: Any,
              steps: list[list[float]]) -> dict[str, Any]:
    """Fit for as many epochs as the run has; each epoch's logs are the run's. The
    callback is watched as in the graded run (grader.runner.callbacks)."""
    from grader.runner.callbacks import watch_stop_training

    played: dict[str, Any] = {"stopped_at": None, "error": None}

    class EpochLogs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            if logs is not None and epoch < len(steps):
                accuracy, loss = steps[epoch]
                logs["accuracy"], logs["loss"] = accuracy, loss

    watched: dict[str, Any] = {"stopped_by": None}
    watch_stop_training(callback, model, watched)
    try:
        model.fit(data, epochs=len(steps), steps_per_epoch=1, verbose=0, shuffle=False,
                  callbacks=[EpochLogs(), callback])
    except Exception as exc:  # noqa: BLE001 - the student's callback failing is a verdict
        played["error"] = f"{type(exc).__name__}: {exc}"[:300]
    if watched["stopped_by"] is not None:
        played["stopped_at"] = watched["stopped_by"]["epoch"] - 1  # indices from 0
    return played


def _test_class(keras: Any, model: Any, data: Any, spec: dict[str, str],
                runs: list[list[list[float]]]) -> list[dict[str, Any]]:
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    name = spec["name"]
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exec(compile(spec["module"], "<callback>", "exec"), namespace)  # noqa: S102
    except Exception as exc:  # noqa: BLE001 - a class that cannot be defined is a verdict
        error = f"defining it failed: {type(exc).__name__}: {exc}"[:300]
        return [{"callback": name, "sequence": n, "stopped_at": None, "error": error,
                 "stage": "define", "output": output.getvalue()[-OUTPUT_KEPT:]}
                for n in range(len(runs))]
    tested = []
    for number, steps in enumerate(runs):
        output = io.StringIO()
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            try:
                callback = eval(spec["constructor"], namespace)  # noqa: S307
            except Exception as exc:  # noqa: BLE001
                played = {"stopped_at": None, "stage": "construct",
                          "error": f"making one failed: {type(exc).__name__}: {exc}"[:300]}
            else:
                model.stop_training = False
                played = {**_play_run(keras, model, data, callback, steps), "stage": "play"}
        tested.append({"callback": name, "sequence": number, **played,
                       "output": output.getvalue()[-OUTPUT_KEPT:]})
    return tested


def main(config_path: str) -> int:
    config = HarnessConfig.load(config_path)
    import keras
    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(config.intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(config.seed)
    from grader.runner import compat
    from grader.runner.recorder import Recorder, install

    # compat notes (logs['acc'] read as 'accuracy' …) need a recorder; nobody reads it
    install(Recorder(Path(config.results).with_name("notes.json")))
    compat.install()
    model, which = _model(keras, config.input_shape, config.model)
    shape = [int(v) for v in model.input_shape[1:]] if all(
        isinstance(v, int) for v in model.input_shape[1:]) else config.input_shape
    rng = np.random.default_rng(config.seed)
    # one image a step, from a dataset that never ends (one iterator a fit): training is
    # real, and costs the least it can
    image = rng.random((1, *shape), dtype=np.float32)
    data = tf.data.Dataset.from_tensors((image, np.array([1.0], dtype=np.float32))).repeat()
    results = []
    for spec in config.classes:
        results += _test_class(keras, model, data, spec, config.epoch_runs)
    target = Path(config.results)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"tests": results, "model": which}))
    os.replace(tmp, target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
