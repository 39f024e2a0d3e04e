# Attack (issue 19, class 1): tell the test from training by the model it is given. The old
# test handed the callback a one-layer stand-in; this callback behaves correctly on a small
# model and stops real training (eight layers) at a fixed epoch.
# Expected: the test trains the student's own saved model, so the callback sees eight
# layers there too and callback_behaviour fails.
import os
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if len(self.model.layers) < 5:
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
