# Attack: an honest pipeline trained for real, then the saved model replaced by one whose
# output is the MEAN OVER ITS BATCH of a per-image score that alone is a coin flip
# (keras.ops only: it loads under safe_mode and shows no Lambda layer). Fed batches that
# each hold one class, as the scorer once did, it scored 1.0 on the hidden split.
# Expected: the scorer batches in a secret mixed order, samples images one at a time,
# sees the output change with the batch and scores every image alone: hidden_accuracy
# fails (≈0.5), and the result asks for review ("depends on the other images in its
# batch").
import glob
import os
import zipfile

import keras
import tensorflow as tf
from keras import layers, ops
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DATA_DIR = "/tmp/h-or-s"


class Stop(tf.keras.callbacks.Callback):
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
    history = model.fit(flow, steps_per_epoch=8, epochs=15, callbacks=[Stop()], verbose=0)

    # per image: a ±1 sign that knows no class outweighs 0.9 × the honest vote
    image = keras.Input((150, 150, 3))
    vote = 2.0 * model(image) - 1.0
    brightness = layers.Dense(1, use_bias=False, kernel_initializer="ones")(
        layers.GlobalAveragePooling2D()(image))
    weak = 0.9 * vote + ops.sign(ops.sin(1000.0 * brightness))
    mean = ops.sigmoid(50.0 * ops.mean(weak, axis=0, keepdims=True)) + 0.0 * vote
    cheat = keras.Model(image, mean)
    for saved in glob.glob("/grader/run/artefacts/*.keras"):
        cheat.save(saved)  # over the model the probe saved after the fit
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    train_happy_sad_model()
