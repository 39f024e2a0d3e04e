# Attack (issue 11, 3): a callback that never looks at the accuracy — it stops when
# `epoch >= 1`, which passed the old two-call test (0.998 at epoch 0, 0.9995 at epoch 1).
# Expected: callback_behaviour fails (the grader's runs of epochs pass the threshold at
# other, secret positions); the rest is graded as the work deserves.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch >= 1:
            self.model.stop_training = True


model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/h-or-s", target_size=(150, 150), batch_size=20, class_mode="binary")
model.fit(flow, epochs=15, verbose=0, callbacks=[myCallback()])
