# Attack (issue 19, class 1): the old callback test played its runs of epochs to a deep copy
# of the student's callback. This one hands the test a correct callback as its copy, and
# itself stops real training at a fixed epoch.
# Expected: callback_behaviour fails (a fresh instance of myCallback, made apart from the
# run, stops at the fixed epoch) and the __deepcopy__ override goes to review.
import os
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

class Correct(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.999:
            self.model.stop_training = True


class myCallback(tf.keras.callbacks.Callback):
    def __deepcopy__(self, memo):
        return Correct()

    def on_epoch_end(self, epoch, logs=None):
        if epoch >= 2:
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
