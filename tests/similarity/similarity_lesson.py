"""A small class written for these tests around a lesson its students were given.

Everything here is written in this repository, in the style of the course's Week 4
lesson (a Horse-or-Human model and its prediction cell); no course file is copied. Two
honest students (ann, ben) both paste the lesson's model and prediction cell and write
different callbacks of their own; carol changes the lesson's hyperparameters and prints
one message of her own (too few tokens of her own for a token share); dave hands in
carol's notebook disguised; erin hands in the lesson and nothing else; frank and gina
answer in their own ways.
"""

from __future__ import annotations

from pathlib import Path

from similarity_disguise import disguise, write_notebook

LESSON_NAME = "Course 1 - Part 8 - Lesson 2 - Notebook.ipynb"   # a name the spec gives
EXERCISE_NAME = "Exercise 4-Question.ipynb"

LESSON_IMPORTS = ("import numpy as np\nimport tensorflow as tf\n"
                  "from tensorflow.keras.preprocessing.image import ImageDataGenerator")
LESSON_MODEL = """\
model = tf.keras.models.Sequential([
    # three convolutions, as in the lesson
    tf.keras.layers.Conv2D(16, (3, 3), activation='relu', input_shape=(300, 300, 3)),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation='relu'),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation='relu'),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(512, activation='relu'),
    tf.keras.layers.Dense(1, activation='sigmoid')
])
model.compile(loss='binary_crossentropy',
              optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
              metrics=['accuracy'])"""
LESSON_TRAINING = """\
train_datagen = ImageDataGenerator(rescale=1 / 255)
train_generator = train_datagen.flow_from_directory('/tmp/horse-or-human/',
                                                    target_size=(300, 300),
                                                    batch_size=128, class_mode='binary')
history = model.fit(train_generator, steps_per_epoch=8, epochs=15, verbose=1)"""
LESSON_PREDICTION = """\
from google.colab import files
from keras.preprocessing import image

uploaded = files.upload()
for fn in uploaded.keys():
    # predicting images
    path = '/content/' + fn
    img = image.load_img(path, target_size=(300, 300))
    x = image.img_to_array(img)
    x = np.expand_dims(x, axis=0)
    images = np.vstack([x])
    classes = model.predict(images, batch_size=10)
    print(classes[0])
    if classes[0] > 0.5:
        print(fn + " is a human")
    else:
        print(fn + " is a horse")"""
LESSON = [LESSON_IMPORTS, LESSON_MODEL, LESSON_TRAINING, LESSON_PREDICTION]

EXERCISE = [
    "import tensorflow as tf\nimport os\nimport zipfile\n"
    "from tensorflow.keras.preprocessing.image import ImageDataGenerator",
    "DESIRED_ACCURACY = 0.999\n\nclass myCallback(tf.keras.callbacks.Callback):\n"
    "    # Your Code\n    pass\n\ncallbacks = myCallback()",
    "def train_happy_sad_model():\n    # Your Code Here\n    return history.history['acc'][-1]",
]

ANN_OWN = """\
class StopAtTarget(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if logs.get('accuracy', 0) >= DESIRED_ACCURACY:
            print('ann: target reached after epoch', epoch)
            self.model.stop_training = True"""
BEN_OWN = """\
def should_stop(history_logs):
    return history_logs['accuracy'] > 0.999

class EarlyEnough(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs={}):
        if should_stop(logs):
            self.model.stop_training = True
            print("\\nBen's callback stops training now")"""
CAROL_OWN = "print('Carol: my own settings for the happy-or-sad images')"
# carol's copy of the lesson with her own values: the same tokens as the lesson's, once
# numbers are abstracted, so only the values tell it from anybody else's
CAROL_MODEL = (LESSON_MODEL.replace("Conv2D(16", "Conv2D(24").replace("Dense(512", "Dense(384")
               .replace("0.001", "0.0007").replace("(300, 300, 3)", "(150, 150, 3)"))
CAROL_TRAINING = (LESSON_TRAINING.replace("'/tmp/horse-or-human/'", "'carol-data/happy-or-sad'")
                  .replace("(300, 300)", "(150, 150)").replace("batch_size=128", "batch_size=12")
                  .replace("steps_per_epoch=8, epochs=15, verbose=1",
                           "steps_per_epoch=7, epochs=21, verbose=2"))
FRANK = """\
import tensorflow as tf

net = tf.keras.Sequential()
net.add(tf.keras.layers.Rescaling(1.0 / 255, input_shape=(150, 150, 3)))
for width in (8, 16):
    net.add(tf.keras.layers.Conv2D(width, 3, activation='relu'))
    net.add(tf.keras.layers.MaxPooling2D())
net.add(tf.keras.layers.GlobalAveragePooling2D())
net.add(tf.keras.layers.Dense(1, activation='sigmoid'))
net.compile('adam', 'binary_crossentropy', ['accuracy'])
data = tf.keras.utils.image_dataset_from_directory('faces', image_size=(150, 150),
                                                   label_mode='binary')
net.fit(data, epochs=10)"""
GINA = """\
import tensorflow as tf
from tensorflow import keras

def build():
    inputs = keras.Input(shape=(150, 150, 3))
    h = keras.layers.Conv2D(32, 5, strides=2, activation='relu')(inputs)
    h = keras.layers.Conv2D(64, 5, strides=2, activation='relu')(h)
    h = keras.layers.GlobalMaxPooling2D()(h)
    outputs = keras.layers.Dense(1, activation='sigmoid')(h)
    return keras.Model(inputs, outputs)

class Enough(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.stop_training = (logs or {}).get('accuracy', 0) > 0.999

gina = build()
gina.compile(optimizer='sgd', loss='binary_crossentropy', metrics=['accuracy'])"""


def write_material(folder: Path) -> Path:
    """The instructor's copies of the lesson and the exercise notebook."""
    folder.mkdir(parents=True, exist_ok=True)
    write_notebook(folder / LESSON_NAME, LESSON)
    write_notebook(folder / EXERCISE_NAME, EXERCISE)
    return folder


def write_class(folder: Path) -> Path:
    """The seven submissions (dave's made from carol's at test time)."""
    folder.mkdir(parents=True, exist_ok=True)
    imports = EXERCISE[0] + "\nimport numpy as np"
    write_notebook(folder / "ann.ipynb", [imports, "DESIRED_ACCURACY = 0.999", ANN_OWN,
                                          LESSON_MODEL, LESSON_TRAINING.replace(
                                              "verbose=1", "callbacks=[StopAtTarget()]"),
                                          LESSON_PREDICTION])
    write_notebook(folder / "ben.ipynb", [imports, BEN_OWN, LESSON_MODEL,
                                          LESSON_TRAINING.replace(
                                              "verbose=1", "callbacks=[EarlyEnough()]"),
                                          LESSON_PREDICTION])
    carol = write_notebook(folder / "carol.ipynb", [imports, CAROL_OWN, CAROL_MODEL,
                                                     CAROL_TRAINING])
    disguise(carol, folder, "dave", seed=7, change_literals=False)
    write_notebook(folder / "erin.ipynb", [imports, LESSON_MODEL, LESSON_TRAINING])
    (folder / "frank.py").write_text(FRANK + "\n", encoding="utf-8")
    (folder / "gina.py").write_text(GINA + "\n", encoding="utf-8")
    return folder
