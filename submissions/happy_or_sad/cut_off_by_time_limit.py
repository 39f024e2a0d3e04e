# Happy/sad CNN for week 4. The callback ends training at 99.9 %, so epochs is set high
# and left to it -- but the learning rate was typed with six zeros too many, so it never
# gets there.
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class EnoughAccuracy(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy", 0) > 0.999:
            self.model.stop_training = True


def train_happy_sad_model():
    zipfile.ZipFile("/tmp/happy-or-sad.zip").extractall("/tmp/h-or-s")
    images = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        "/tmp/h-or-s", target_size=(150, 150), class_mode="binary", batch_size=10)

    layers = tf.keras.layers
    model = tf.keras.Sequential([tf.keras.Input(shape=(150, 150, 3))])
    for filters in (16, 32, 64):
        model.add(layers.Conv2D(filters, (3, 3), activation="relu"))
        model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(512, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))

    model.compile(optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.000000001),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(images, epochs=1000, callbacks=[EnoughAccuracy()])
    return history.history["accuracy"][-1]


train_happy_sad_model()
