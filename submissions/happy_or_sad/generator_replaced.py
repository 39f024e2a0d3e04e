"""Week 4 exercise: happy or sad faces, with an early stop above 99.9 %.

My first flow had no target_size and gave 256x256 batches, which the model does not take;
I kept it to print its shape and made the flow that is used below it.
"""
import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

TARGET = 0.999


class StopAtTarget(tf.keras.callbacks.Callback):
    """Ends training once an epoch's training accuracy is above TARGET."""

    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy > TARGET:
            print(f"epoch {epoch + 1}: accuracy {accuracy:.4f}, stopping")
            self.model.stop_training = True


def image_generator():
    archive = zipfile.ZipFile("/tmp/happy-or-sad.zip")
    archive.extractall("/tmp/h-or-s")
    archive.close()
    rescaled = ImageDataGenerator(rescale=1.0 / 255)
    flow = rescaled.flow_from_directory("/tmp/h-or-s", batch_size=10, class_mode="binary")
    print("first try:", flow.image_shape)
    flow = rescaled.flow_from_directory("/tmp/h-or-s", target_size=(150, 150),
                                        batch_size=10, class_mode="binary")
    return flow


def build_model():
    conv, pool = tf.keras.layers.Conv2D, tf.keras.layers.MaxPooling2D
    return tf.keras.Sequential([
        tf.keras.Input((150, 150, 3)),
        conv(16, (3, 3), activation="relu"), pool(2),
        conv(32, (3, 3), activation="relu"), pool(2),
        conv(64, (3, 3), activation="relu"), pool(2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(512, activation="relu"),
        tf.keras.layers.Dense(1, activation="sigmoid")])


def train_happy_sad_model():
    flow = image_generator()
    model = build_model()
    model.compile(optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(flow, epochs=15, steps_per_epoch=8, callbacks=[StopAtTarget()])
    return history.history["accuracy"][-1]


if __name__ == "__main__":
    print("final training accuracy:", train_happy_sad_model())
