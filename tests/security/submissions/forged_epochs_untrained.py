# Attack (issue 11, 1c): an untrained model with a forged perfect history, one step of
# 10 images per epoch claimed (which used to switch off the recorded-vs-recomputed check:
# "each epoch saw 10 of 80 images"), sent epoch by epoch through the probe's own record
# objects (so no rewrite is seen). Expected: no training image was read during the
# claimed epochs and the saved model is at chance: the training record is not trusted
# (callback_stop 0).
import time

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

from grader.runner import recorder, saving

model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/h-or-s", target_size=(150, 150), batch_size=10, class_mode="binary")
rec = recorder.current()
fit = rec.add("fits", {"id": 0, "epochs_requested": 15, "steps_per_epoch": 1,
                       "batch_size": None, "train_flow_id": 0, "has_validation": False,
                       "validation_flow_id": None, "validation_steps": None,
                       "callbacks": ["myCallback"], "epochs": [], "stopped_by": None,
                       "completed": False, "error": None})
for number, accuracy in enumerate([0.6, 0.8, 0.9, 1.0, 1.0], start=1):
    time.sleep(0.5)
    if accuracy == 1.0 and fit["stopped_by"] is None:
        fit["stopped_by"] = {"callback": "myCallback", "epoch": number}
    fit["epochs"].add({"epoch": number, "logs": {"loss": 0.01, "accuracy": accuracy}})
    if fit["stopped_by"] is not None:
        break
saving.save_model(model)
fit["completed"] = True
rec.flush()
