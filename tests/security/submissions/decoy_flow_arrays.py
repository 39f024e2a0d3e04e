# Attack (issue 19, item 1): a decoy flow_from_directory made with the rubric's arguments
# (rescale=1/255, target_size=(150, 150), class_mode="binary") and never iterated, while
# the model trains on arrays decoded with PIL, unscaled (0-255) and 64x64 upscaled. The
# generator checks used to judge the decoy (the fit's x was no recorded flow, so the
# first flow was taken) and were corroborated. Expected: the generator checks keep their
# points but go to review ("the graded fit trained on an array, not on the
# flow_from_directory(...) judged"), and so does the training claim (an array has no
# per-epoch reads to corroborate its epochs).
import os
import zipfile

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DATA_DIR = "/tmp/h-or-s"


class StopAtDesiredAccuracy(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0) > 0.999:
            self.model.stop_training = True


def _arrays():
    images, labels = [], []
    for label, name in enumerate(("happy", "sad")):
        folder = os.path.join(DATA_DIR, name)
        for file in sorted(os.listdir(folder)):
            with Image.open(os.path.join(folder, file)) as image:
                small = image.convert("RGB").resize((64, 64)).resize((150, 150))
                images.append(np.asarray(small, "float32"))
            labels.append(label)
    return np.stack(images), np.asarray(labels, "float32")


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
    decoy = ImageDataGenerator(rescale=1 / 255).flow_from_directory(  # noqa: F841
        DATA_DIR, target_size=(150, 150), batch_size=10, class_mode="binary")
    x, y = _arrays()
    history = model.fit(x / 255, y, batch_size=10, epochs=15,
                        callbacks=[StopAtDesiredAccuracy()], verbose=2)
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    train_happy_sad_model()
