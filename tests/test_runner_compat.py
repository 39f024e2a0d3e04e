"""Course-era APIs run on Keras 3 through the runner's shims, each use noted in the trace.

Runs in a subprocess: the shims patch Keras classes for the whole process, as they do in a
real run, and must not leak into the test process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.runner.contract import Downloads, RunConfig

pytestmark = pytest.mark.slow

SCRIPT = r'''
import sys
from grader.runner import bootstrap
from grader.runner.contract import RunConfig
bootstrap.install(RunConfig.load(sys.argv[1]))
import numpy as np
import tensorflow as tf
from keras.preprocessing.image import ImageDataGenerator   # Keras 3: only tf.keras had it
from tensorflow.keras.optimizers.legacy import Adam          # Keras 3: ImportError

rms = tf.keras.optimizers.RMSprop(lr=0.01)
assert abs(float(rms.learning_rate.numpy()) - 0.01) < 1e-9
assert isinstance(Adam(), tf.keras.optimizers.Adam)
legacy_rms = tf.keras.optimizers.legacy.RMSprop(learning_rate=0.1)
assert isinstance(legacy_rms, tf.keras.optimizers.RMSprop)
assert ImageDataGenerator is tf.keras.preprocessing.image.ImageDataGenerator

class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get('acc') is not None and epoch == 1:   # compiled with 'accuracy'
            self.model.stop_training = True

model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1, activation='sigmoid')])
model.compile(optimizer=rms, loss='binary_crossentropy', metrics=['accuracy'])
x, y = np.zeros((8, 4)), np.zeros((8, 1))
def batches():
    while True:
        yield x, y
history = model.fit_generator(batches(), steps_per_epoch=2, epochs=5, verbose=0,
                              workers=4, use_multiprocessing=True, callbacks=Stop())
print(len(history.history['acc']))
'''


def test_legacy_apis_run_and_are_noted(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(RunConfig(
        submission="s.py", kind="module", workdir=str(tmp_path), artefacts=str(tmp_path),
        seed=42, intra_op_threads=1, inter_op_threads=1, entry_function=None,
        downloads=Downloads(),
        tmp_remap=None, output_limit_bytes=1 << 20).to_json())
    completed = subprocess.run([sys.executable, "-c", SCRIPT, str(config)], capture_output=True,
                               text=True, timeout=180, env={"TF_CPP_MIN_LOG_LEVEL": "3",
                                                            "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == "2"  # stopped after epoch 2
    trace = json.loads((tmp_path / "trace.json").read_text())
    notes = trace["compat_notes"]
    for expected in ("RMSprop(lr=...) → RMSprop(learning_rate=...)",
                     "optimizers.legacy.Adam → optimizers.Adam",
                     "keras.preprocessing.image.ImageDataGenerator → "
                     "tf.keras.preprocessing.image",
                     "fit_generator → fit",
                     "fit_generator(workers=4) dropped: not a Keras 3 argument",
                     "fit_generator(use_multiprocessing=True) dropped: not a Keras 3 argument",
                     "logs['acc'] read as 'accuracy'",
                     "history.history['acc'] read as 'accuracy'"):
        assert expected in notes
    fit = trace["fits"][0]
    assert fit["stopped_by"] == {"callback": "Stop", "epoch": 2}
    assert fit["callbacks"] == ["Stop"]
    assert [e["epoch"] for e in fit["epochs"]] == [1, 2]
    assert trace["model_saved"] is True and (tmp_path / "model.keras").exists()
    # the callback is never tested inside the student's run (grader.run.callback_test)
    assert "callback_tests" not in trace
