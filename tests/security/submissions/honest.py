# Not an attack: an honest, correct submission graded in the same batch as the attacks,
# to show the others are unaffected (it must still score full marks).
# HONEST-STUDENT-SECRET-5d0c1e: no other submission may ever print this line.

import os
import zipfile

import tensorflow as tf
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DESIRED_ACCURACY = 0.999
ZIP_PATH = "/tmp/happy-or-sad.zip"
DATA_DIR = "/tmp/h-or-s"


class StopAtDesiredAccuracy(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if logs.get("accuracy", 0) > DESIRED_ACCURACY:
            print(f"\nReached {DESIRED_ACCURACY:.1%} accuracy so cancelling training!")
            self.model.stop_training = True


def train_happy_sad_model():
    if not os.path.isdir(DATA_DIR):
        with zipfile.ZipFile(ZIP_PATH) as archive:
            archive.extractall(DATA_DIR)

    model = tf.keras.models.Sequential([
        tf.keras.layers.Input(shape=(150, 150, 3)),
        tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(512, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy",
                  optimizer=RMSprop(learning_rate=0.001),
                  metrics=["accuracy"])

    train_datagen = ImageDataGenerator(rescale=1 / 255)
    train_generator = train_datagen.flow_from_directory(
        DATA_DIR, target_size=(150, 150), batch_size=10, class_mode="binary")

    history = model.fit(train_generator, steps_per_epoch=8, epochs=15,
                        callbacks=[StopAtDesiredAccuracy()], verbose=1)
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    train_happy_sad_model()
