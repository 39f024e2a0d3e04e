# C1W4 assignment - happy or sad
import zipfile

import tensorflow as tf
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.preprocessing.image import ImageDataGenerator

DESIRED_ACCURACY = 0.999

with zipfile.ZipFile("/tmp/happy-or-sad.zip", "r") as zip_ref:
    zip_ref.extractall("/tmp/h-or-s")


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        # show how validation is doing every 3 epochs
        if (epoch + 1) % 3 == 0:
            print(f"\nepoch {epoch + 1}: val_acc = {logs['val_acc']:.3f}")
        if logs.get("accuracy") > DESIRED_ACCURACY:
            print("\nReached 99.9% accuracy so cancelling training!")
            self.model.stop_training = True


def train_happy_sad_model():
    callbacks = myCallback()

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
    model.compile(loss="binary_crossentropy", optimizer=RMSprop(learning_rate=0.001),
                  metrics=["accuracy"])

    train_datagen = ImageDataGenerator(rescale=1 / 255)
    train_generator = train_datagen.flow_from_directory(
        "/tmp/h-or-s", target_size=(150, 150), batch_size=10, class_mode="binary")

    history = model.fit(train_generator, steps_per_epoch=8, epochs=15,
                        verbose=1, callbacks=[callbacks])
    return history.history["accuracy"][-1]


train_happy_sad_model()
