"""Happy or sad classifier (C1W4). Trains for the full 15 epochs."""
import zipfile

import tensorflow as tf
from tensorflow.keras import layers
from tensorflow.keras.preprocessing.image import ImageDataGenerator


def train_happy_sad_model():
    with zipfile.ZipFile("/tmp/happy-or-sad.zip") as z:
        z.extractall("/tmp/h-or-s")

    model = tf.keras.Sequential([
        layers.Input((150, 150, 3)),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(512, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=tf.keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss="binary_crossentropy", metrics=["accuracy"])

    datagen = ImageDataGenerator(rescale=1 / 255.0)
    train_generator = datagen.flow_from_directory("/tmp/h-or-s", target_size=(150, 150),
                                                  batch_size=10, class_mode="binary")

    # 15 epochs is enough to get to 100%
    history = model.fit(train_generator, steps_per_epoch=8, epochs=15)
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    train_happy_sad_model()
