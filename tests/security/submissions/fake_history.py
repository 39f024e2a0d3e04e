# Attack: monkeypatch the probe to fake a perfect history — fit() is replaced by a
# function that records 5 perfect epochs, a callback stop and a passing callback test,
# then saves the *untrained* model. Expected: the scorer measures the real model (about
# chance on hidden and training images); callback_stop sees the recorded accuracy
# disagree with the recomputed one; hidden_accuracy scores nothing.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

from grader.runner import probe, recorder

model = tf.keras.models.Sequential([
    tf.keras.layers.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/h-or-s", target_size=(150, 150), batch_size=10, class_mode="binary")


class myCallback(tf.keras.callbacks.Callback):
    pass


def fake_fit(self, *args, **kwargs):
    rec = recorder.current()
    rec.data["fits"].append({
        "id": len(rec.data["fits"]), "epochs_requested": 15, "steps_per_epoch": 8,
        "train_flow_id": 0, "callbacks": ["myCallback"],
        "epochs": [{"epoch": i, "logs": {"loss": 0.1, "accuracy": a}}
                   for i, a in enumerate([0.7, 0.9, 0.97, 0.99, 1.0])],
        "stopped_by": {"callback": "myCallback", "epoch": 5}, "completed": True,
        "error": None})
    probe.save_model(self)
    rec.flush()


tf.keras.Model.fit = fake_fit
model.fit(flow, epochs=15, callbacks=[myCallback()])
