# Attack (issue 11, 1b): train 15 epochs WITHOUT a callback, then edit the probe's
# in-memory record before it is written: cut the epochs at the first one above 0.999,
# claim myCallback stopped training there and passed the callback test, and write
# trace.json again. Expected: the events were sent as training went, so the grader sees
# 15 epochs and no stop; trace.json disagrees with them and the code names the grader's
# probe: nothing the run recorded is trusted (0 for every check that rests on it).
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

from grader.runner.recorder import current


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.999:
            self.model.stop_training = True


model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy",
              optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
              metrics=["accuracy"])
flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/h-or-s", target_size=(150, 150), batch_size=20, class_mode="binary")
model.fit(flow, epochs=15, verbose=0)  # no callback: all 15 epochs run

fit = current().data["fits"][-1]
epochs = fit["epochs"]
first = next((i for i, e in enumerate(epochs) if e["logs"]["accuracy"] > 0.999), 4)
list.__delitem__(epochs, slice(first + 1, None))  # past the probe's append-only guard
dict.__setitem__(fit, "stopped_by", {"callback": "myCallback", "epoch": first + 1})
dict.__setitem__(fit, "callbacks", ["myCallback"])
current().flush()
print("trace rewritten: stopped at epoch", first + 1)
