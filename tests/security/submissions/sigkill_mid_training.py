# Attack: SIGKILL itself in the middle of training (after one epoch), leaving half a run
# behind. Expected: graded from what was recorded; runs fails with "signal 9"; no
# model from an unfinished fit is trusted beyond what the scorer measures.
import os
import signal

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class KillMyself(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGKILL)


model = tf.keras.models.Sequential([
    tf.keras.layers.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(8, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(4, 4),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/h-or-s", target_size=(150, 150), batch_size=20, class_mode="binary")
model.fit(flow, epochs=5, callbacks=[KillMyself()], verbose=0)
