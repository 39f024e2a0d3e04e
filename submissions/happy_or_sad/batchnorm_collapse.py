"""Week 4 exercise: happy or sad faces, with an early stop above 99.9 %.

I read that batch normalisation makes a CNN train faster, so each convolution is followed
by a BatchNormalization layer. It does reach 100 % training accuracy in a few epochs.
"""
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DESIRED_ACCURACY = 0.999


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if logs.get("accuracy") > DESIRED_ACCURACY:
            print("\nReached 99.9% accuracy so cancelling training!")
            self.model.stop_training = True


callbacks = myCallback()


def train_happy_sad_model():
    zip_ref = zipfile.ZipFile("/tmp/happy-or-sad.zip", "r")
    zip_ref.extractall("/tmp/h-or-s")
    zip_ref.close()

    model = tf.keras.models.Sequential([
        tf.keras.layers.Input(shape=(150, 150, 3)),
        tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
        tf.keras.layers.BatchNormalization(),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(512, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy",
                  optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
                  metrics=["accuracy"])

    train_datagen = ImageDataGenerator(rescale=1 / 255)
    train_generator = train_datagen.flow_from_directory(
        "/tmp/h-or-s", target_size=(150, 150), batch_size=10, class_mode="binary")

    history = model.fit(train_generator, steps_per_epoch=8, epochs=15,
                        callbacks=[callbacks], verbose=1)
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    train_happy_sad_model()
