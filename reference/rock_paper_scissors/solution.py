"""Reference solution for the rock-paper-scissors example of docs/authoring.md.

Three classes: flow_from_directory(class_mode='categorical'), a Dense(3, softmax) output
and categorical cross-entropy, validated on the test-set zip, as top-level code.
"""

import zipfile

import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

for name in ("rps", "rps-test-set"):
    with zipfile.ZipFile(f"/tmp/{name}.zip") as archive:
        archive.extractall(f"/tmp/{name}")

training = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/rps/", target_size=(150, 150), batch_size=12, class_mode="categorical")
validation = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/rps-test-set/", target_size=(150, 150), batch_size=12, class_mode="categorical")

model = tf.keras.models.Sequential([
    tf.keras.layers.Input(shape=(150, 150, 3)),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(256, activation="relu"),
    tf.keras.layers.Dense(3, activation="softmax"),
])
model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
history = model.fit(training, epochs=10, validation_data=validation, verbose=2)
print("final accuracy:", history.history["accuracy"][-1],
      "validation:", history.history["val_accuracy"][-1])
