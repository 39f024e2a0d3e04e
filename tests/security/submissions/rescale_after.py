# Attack (issue 11, 4): create ImageDataGenerator(rescale=1/255) — which the probe used to
# record — then set gen.rescale = None before training; a BatchNormalization first layer
# makes the model blind to the scale, so the hidden score cannot tell. Expected:
# generator_rescale judges the rescale the batches were really made with (none) and fails.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.999:
            self.model.stop_training = True


generator = ImageDataGenerator(rescale=1 / 255)
generator.rescale = None
flow = generator.flow_from_directory("/tmp/h-or-s", target_size=(150, 150), batch_size=20,
                                     class_mode="binary")
model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(150, 150, 3)),
    tf.keras.layers.BatchNormalization(),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
model.fit(flow, epochs=8, verbose=0, callbacks=[myCallback()])
