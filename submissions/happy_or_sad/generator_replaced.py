# Happy or Sad - week 4 assignment
# The generator is built in a function of its own. A first try at the flow (no target_size,
# so Keras's default 256 x 256) is replaced before training by the one that is returned.

import os
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DESIRED_ACCURACY = 0.999


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs["accuracy"] > DESIRED_ACCURACY:
            print("\nReached 99.9% accuracy so cancelling training!")
            self.model.stop_training = True


def image_generator():
    if not os.path.exists("/tmp/h-or-s"):
        with zipfile.ZipFile("/tmp/happy-or-sad.zip", "r") as zip_ref:
            zip_ref.extractall("/tmp/h-or-s")
    train_datagen = ImageDataGenerator(rescale=1 / 255)
    train_generator = train_datagen.flow_from_directory("/tmp/h-or-s", batch_size=10,
                                                        class_mode="binary")
    print("first try:", train_generator.image_shape)  # (256, 256, 3): not what the model takes
    train_generator = train_datagen.flow_from_directory(
        "/tmp/h-or-s",
        target_size=(150, 150),
        batch_size=10,
        class_mode="binary")
    return train_generator


def train_happy_sad_model():
    train_generator = image_generator()
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(150, 150, 3)),
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
                  optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
                  metrics=["accuracy"])
    history = model.fit(train_generator, steps_per_epoch=8, epochs=15, verbose=1,
                        callbacks=[myCallback()])
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    print(train_happy_sad_model())
