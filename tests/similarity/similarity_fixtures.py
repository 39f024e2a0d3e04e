"""Shared data for the similarity tests: the repository's solutions, a stand-in course
template written here (the repository ships none of the course's), and the real course
notebooks in ../shared/corpus/ when that folder exists (never copied into the repo).

A module with its own name, not conftest.py: several conftest modules share that name,
so importing from one by name could find another."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
SAMPLES = REPO / "submissions" / "happy_or_sad"
sys.path.insert(0, str(HERE))  # similarity_disguise


# The exercise's skeleton as a course hands it out: imports, the download cell, a
# callback class to complete and a graded function with placeholders.
STAND_IN_TEMPLATE = [
    "import os\nimport zipfile\nimport tensorflow as tf\n"
    "from tensorflow.keras.optimizers import RMSprop\n"
    "from tensorflow.keras.preprocessing.image import ImageDataGenerator\n\n"
    "DESIRED_ACCURACY = 0.999",
    "!wget --no-check-certificate \\\n"
    "    \"https://storage.googleapis.com/laurencemoroney-blog.appspot.com/happy-or-sad.zip\""
    " \\\n    -O \"/tmp/happy-or-sad.zip\"\n\n"
    "zip_ref = zipfile.ZipFile(\"/tmp/happy-or-sad.zip\", 'r')\n"
    "zip_ref.extractall(\"/tmp/h-or-s\")\nzip_ref.close()",
    "class myCallback(tf.keras.callbacks.Callback):\n"
    "    def on_epoch_end(self, epoch, logs={}):\n        # YOUR CODE HERE\n        pass\n\n"
    "callbacks = myCallback()",
    "def train_happy_sad_model():\n    model = tf.keras.models.Sequential([\n"
    "        # YOUR CODE HERE\n    ])\n    model.compile(# YOUR CODE HERE)\n"
    "    train_datagen = ImageDataGenerator(# YOUR CODE HERE)\n"
    "    train_generator = train_datagen.flow_from_directory(\n        # YOUR CODE HERE)\n"
    "    history = model.fit(\n        # YOUR CODE HERE)\n"
    "    return history.history['accuracy'][-1]",
    "train_happy_sad_model()",
]


def originals() -> list[Path]:
    """Every reference solution and sample submission (the files copies are made of)."""
    found = sorted(REPO.glob("reference/*/solution.*"))
    found += sorted(p for p in SAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))
    return found


def original_name(path: Path) -> str:
    if path.parent.parent.name == "reference":
        return f"ref_{path.parent.name}_{path.suffix[1:]}"
    return path.stem


def corpus_rows(*kinds: str) -> list[Path]:
    """Files of the real-notebook corpus of the given PROVENANCE.tsv kinds. Only
    acceptance tests read it (`make acceptance`), and there its absence is a failure."""
    provenance = CORPUS / "PROVENANCE.tsv"
    if not provenance.is_file():
        pytest.fail(f"the course notebooks are not here ({CORPUS} is absent; it sits "
                    "beside the repository, never in it)")
    with provenance.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [CORPUS / r["file"] for r in rows if r["kind"] in kinds]
