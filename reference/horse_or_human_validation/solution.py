"""Reference solution for Horse-or-Human, lesson 3: the lesson's 300x300 five-block CNN
with a validation generator, written as top-level code like the lesson.

Differs from the lesson only in batch size and epochs (16 and 4 instead of 128 and 15),
so that the grader's tests train it in about 20 s on the small stand-in data set.
"""

import os
import zipfile

import tensorflow as tf
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.preprocessing.image import ImageDataGenerator

for name in ("horse-or-human", "validation-horse-or-human"):
    with zipfile.ZipFile(f"/tmp/{name}.zip") as archive:
        archive.extractall(f"/tmp/{name}")

print("training horses:", len(os.listdir("/tmp/horse-or-human/horses")))
print("validation humans:", len(os.listdir("/tmp/validation-horse-or-human/humans")))

model = tf.keras.models.Sequential([
    tf.keras.layers.Input(shape=(300, 300, 3)),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(512, activation="relu"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer=RMSprop(learning_rate=0.001),
              metrics=["accuracy"])

train_generator = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/horse-or-human/", target_size=(300, 300), batch_size=16, class_mode="binary")
validation_generator = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    "/tmp/validation-horse-or-human/", target_size=(300, 300), batch_size=16,
    class_mode="binary")

history = model.fit(train_generator, steps_per_epoch=8, epochs=4, verbose=2,
                    validation_data=validation_generator, validation_steps=4)
print("final accuracy:", history.history["accuracy"][-1],
      "validation:", history.history["val_accuracy"][-1])
