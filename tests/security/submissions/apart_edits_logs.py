# Attack (issue 19, class 3): the recorder used to be the fit's last callback, so a callback
# ahead of it could edit the epoch's logs in place before they were recorded. Editor takes
# the raw logs (it replaces its own on_epoch_end when training begins, under the grader's
# watch) and raises the accuracy to 1.0 at the first epoch that reaches 0.9; the honest
# myCallback then stops there, one or more epochs before the real accuracy passes 0.999.
# Expected: the recorder reads the logs first, so the recorded accuracy is Keras's own and
# callback_stop fails; callback_behaviour still passes (myCallback itself is right).
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class Editor(tf.keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.on_epoch_end = self.edit

    def edit(self, epoch, logs=None):
        if 0.9 <= logs["accuracy"] <= 0.999:
            logs["accuracy"] = 1.0


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.999:
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
model.fit(flow, steps_per_epoch=8, epochs=15, verbose=0, callbacks=[Editor(), myCallback()])
