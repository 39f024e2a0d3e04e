# Attack (issue 19, item 2): an honest-looking fit with the rubric's pipeline and a
# callback, then more training by train_on_batch after the fit, which no epoch of the
# graded fit records (the callback's stop bounded nothing). Its batches are drawn before
# the fit, so no read after the last epoch gives it away. Expected: the training and
# callback claims go to review, naming "train_on_batch after fit 0".
import os
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DATA_DIR = "/tmp/h-or-s"


class StopAtDesiredAccuracy(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0) > 0.999:
            self.model.stop_training = True


def train_happy_sad_model():
    if not os.path.isdir(DATA_DIR):
        with zipfile.ZipFile("/tmp/happy-or-sad.zip") as archive:
            archive.extractall(DATA_DIR)
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
        DATA_DIR, target_size=(150, 150), batch_size=10, class_mode="binary")
    kept = [next(flow) for _ in range(40)]  # five epochs' batches, read before the fit
    history = model.fit(flow, steps_per_epoch=8, epochs=2,
                        callbacks=[StopAtDesiredAccuracy()], verbose=2)
    for x, y in kept:  # five more epochs the records do not cover
        model.train_on_batch(x, y)
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    train_happy_sad_model()
