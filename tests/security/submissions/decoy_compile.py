# Attack (issue 19, class 2): the last compile call was judged, not the compile of the model
# that was fitted. The graded model is compiled with the wrong loss (mean squared error) and
# trained; then a throw-away model is compiled with the rubric's loss and never trained.
# Expected: the loss check judges the loss the saved model was compiled with ('mse'),
# read by the scorer from the model file, and fails.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.999:
            self.model.stop_training = True


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
model.compile(loss="mse", optimizer="rmsprop", metrics=["accuracy"])
flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/h-or-s", target_size=(150, 150), batch_size=10, class_mode="binary")
model.fit(flow, steps_per_epoch=8, epochs=15, verbose=0, callbacks=[myCallback()])

decoy = tf.keras.models.Sequential([tf.keras.layers.Input(shape=(4,)),
                                    tf.keras.layers.Dense(1, activation="sigmoid")])
decoy.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
