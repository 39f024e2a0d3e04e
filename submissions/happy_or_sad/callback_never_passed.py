"""Happy or sad (C1W4). The callback is right, but it is never given to fit."""
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class StopAtTarget(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get("accuracy") is not None and logs.get("accuracy") > 0.999:
            print("\nReached 99.9% accuracy so cancelling training!")
            self.model.stop_training = True


def train_happy_sad_model():
    with zipfile.ZipFile("/tmp/happy-or-sad.zip") as archive:
        archive.extractall("/tmp/h-or-s")

    callbacks = StopAtTarget()

    model = tf.keras.models.Sequential([
        tf.keras.layers.Conv2D(16, (3, 3), activation="relu", input_shape=(150, 150, 3)),
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
                  optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
                  metrics=["accuracy"])

    train_generator = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        "/tmp/h-or-s", target_size=(150, 150), batch_size=10, class_mode="binary")

    # the callback object is made above, but the list below forgets it
    history = model.fit(train_generator, steps_per_epoch=8, epochs=15, verbose=1)
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    print(train_happy_sad_model())
