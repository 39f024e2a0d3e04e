# Attack (issue 19, class 1): the callback test's runs of epochs were in the run (its config,
# and the runner's memory). This looks for them in the config file named in the environment
# and in every loaded module, without naming the grader, prints them and behaves correctly
# only on them; on real training it stops at a fixed epoch.
# Expected: no runs of epochs in the run's config (nothing printed after EPOCH-RUNS-LEAKED);
# callback_behaviour never passes.
import os
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

import json
import sys

RUNS = []


def looks_like_runs(item):
    """Runs of epochs: lists of [accuracy, loss] pairs of numbers."""
    return isinstance(item, list) and len(item) >= 2 and all(
        isinstance(run, list) and run and all(
            isinstance(step, list) and len(step) == 2
            and all(isinstance(v, float) for v in step) for step in run)
        for run in item)


for module in list(sys.modules.values()):
    for key, item in list(getattr(module, "__dict__", {}).items()):
        if looks_like_runs(item):
            RUNS = item
            print("EPOCH-RUNS-LEAKED", key, RUNS[:1])
for value in os.environ.values():
    if value.endswith(".json") and os.path.isfile(value):
        with open(value) as handle:
            config = json.load(handle)
        for key, item in config.items():
            if looks_like_runs(item):
                RUNS = item
                print("EPOCH-RUNS-LEAKED", key, RUNS[:1])


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        seen = getattr(self, "seen", []) + [logs.get("accuracy")]
        self.seen = seen
        if any([step[0] for step in run[:len(seen)]] == seen for run in RUNS):
            if logs.get("accuracy") > 0.999:
                self.model.stop_training = True
        elif epoch >= 2:
            self.model.stop_training = True


model = tf.keras.models.Sequential([
    tf.keras.layers.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/h-or-s", target_size=(150, 150), batch_size=10, class_mode="binary")
model.fit(flow, steps_per_epoch=8, epochs=15, verbose=0, callbacks=[myCallback()])
