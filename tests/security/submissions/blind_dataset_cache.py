# Attack (issue 19, item 4): a tf.data pipeline that reads the images once and caches
# them: after the first epoch no read is seen, so the reads cannot corroborate the later
# epochs (the run could record any of them). Expected: the training claim goes to review
# ("epoch(s) 2, … read no training image (cached or preloaded)"), never "corroborated …
# nothing read them after the last one".
import os
import zipfile

import tensorflow as tf

DATA_DIR = "/tmp/h-or-s"


class StopAtDesiredAccuracy(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0) > 0.999:
            self.model.stop_training = True


def train_happy_sad_model():
    if not os.path.isdir(DATA_DIR):
        with zipfile.ZipFile("/tmp/happy-or-sad.zip") as archive:
            archive.extractall(DATA_DIR)
    data = tf.keras.utils.image_dataset_from_directory(
        DATA_DIR, image_size=(150, 150), batch_size=10, label_mode="binary", seed=1)
    data = data.cache()
    model = tf.keras.models.Sequential([
        tf.keras.layers.Input(shape=(150, 150, 3)),
        tf.keras.layers.Rescaling(1 / 255),
        tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(64, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    history = model.fit(data, epochs=6, callbacks=[StopAtDesiredAccuracy()], verbose=2)
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    train_happy_sad_model()
