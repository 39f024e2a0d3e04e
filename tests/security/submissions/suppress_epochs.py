# Attack (issue 11, 1b, done before training): reach the probe without naming it (the
# module name is assembled at run time), make its epoch recorder go silent after the
# first epoch above 0.999 and record a stop there, then let training run all 15 epochs.
# Expected: no rewrite is seen and the code does not name the grader, but the kernel saw
# the training images read for many epochs after the last recorded one: the training
# record is not trusted (callback_stop 0), and the code's use of __import__ asks for
# review.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

probe_callbacks = __import__("".join(["gra", "der.runner.callbacks"]), fromlist=["x"])
Recorder = getattr(probe_callbacks, "Fit" + "Recorder")
original = Recorder.on_epoch_end


def quiet_after_threshold(self, epoch, logs=None):
    entry = self.entry
    if entry["stopped_by"] is None:
        original(self, epoch, logs)
        if (logs or {}).get("accuracy", 0) > 0.999:
            entry["stopped_by"] = {"callback": "myCallback", "epoch": epoch + 1}


Recorder.on_epoch_end = quiet_after_threshold


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.999:
            print("would stop here, but does not")


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
model.fit(flow, epochs=15, verbose=0, callbacks=[myCallback()])
