# Attack (issue 19, class 1): the in-run test's records could be added to after the test by
# the student's own code, and the last record of each run counted. This reaches the
# recorder through sys.modules under a name built from pieces (no grader name in the
# source) and adds records saying a broken callback stopped right in every run.
# Expected: the run's word on the callback test is never read; callback_behaviour fails;
# the sys.modules lookup goes to review.
import os
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

import sys


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch >= 1:
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
history = model.fit(flow, steps_per_epoch=8, epochs=15, verbose=0, callbacks=[myCallback()])

name = "".join(["gra", "der.run", "ner.rec", "order"])
try:
    recorder = sys.modules[name].current()
    for sequence, stop in enumerate([9, 0, None, 2]):
        recorder.add("callback_tests", {"fit_id": 0, "callback": "myCallback",
                                        "sequence": sequence, "stopped_at": stop,
                                        "error": None, "output": ""})
    recorder.flush()
    print("RECORDS-ADDED")
except Exception as exc:
    print("no records added:", type(exc).__name__)
