"""Course-era models (issue 20, 5): `activation=tf.nn.softmax` and friends are saved by Keras 3
as plain functions that safe mode refuses; the scorer loads them as Keras's own activations
of the same meaning, from a rewritten copy, and says so. A function outside the table
stays refused: nothing in the file is ever called by name."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.scoring import course_era, scorer
from grader.scoring.types import Scoring

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")


def _save(tmp_path: Path, *activations: Any) -> Path:
    layers = [keras.Input((6,))]
    for units, activation in zip((5, 4, 3), activations, strict=False):
        layers.append(keras.layers.Dense(units, activation=activation))
    path = tmp_path / "model.keras"
    keras.Sequential(layers).save(path)
    return path


def test_a_2019_softmax_output_loads_as_keras_softmax(tmp_path: Path) -> None:
    path = _save(tmp_path, tf.nn.relu, tf.nn.sigmoid, tf.nn.softmax)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    saved = [layer["config"].get("activation") for layer in config["config"]["layers"]]
    assert {"module": "builtins", "class_name": "function", "config": "softmax_v2",
            "registered_name": "function"} in saved  # what Keras 3 writes, and refuses

    model, error, note = scorer._load(path)

    assert error is None and model is not None
    assert [layer.get_config()["activation"] for layer in model.layers] == \
        ["relu", "sigmoid", "softmax"]
    assert note == "course-era activations read as Keras's own: tf.nn.softmax as 'softmax'"
    assert not (tmp_path / "keras-named.keras").exists()  # the copy is removed
    # the same predictions as the model that was saved: same weights, same functions
    x = tf.ones((2, 6))
    original = keras.Sequential([keras.Input((6,))] + [
        keras.layers.Dense(u, activation=a) for u, a in
        zip((5, 4, 3), (tf.nn.relu, tf.nn.sigmoid, tf.nn.softmax), strict=True)])
    original.set_weights(model.get_weights())
    assert float(abs(original(x) - model(x)).numpy().max()) < 1e-6


def test_the_note_reaches_the_results_notes() -> None:
    scoring = Scoring.from_json({"model_loaded": True, "loaded_as": "course-era activations "
                                 "read as Keras's own: tf.nn.softmax as 'softmax'"})
    assert scoring.notes == ("course-era activations read as Keras's own: tf.nn.softmax as "
                             "'softmax'",)


def test_a_function_outside_the_table_stays_refused(tmp_path: Path) -> None:
    path = _save(tmp_path, tf.nn.relu)
    forged = tmp_path / "forged.keras"
    with zipfile.ZipFile(path) as archive, zipfile.ZipFile(forged, "w") as out:
        for member in archive.infolist():
            data = archive.read(member)
            if member.filename == "config.json":
                config = json.loads(data)
                config["config"]["layers"][1]["config"]["activation"] = {
                    "module": "os", "class_name": "function", "config": "system",
                    "registered_name": "function"}
                data = json.dumps(config).encode()
            out.writestr(member, data)

    model, error, note = scorer._load(forged)

    assert model is None and note is None
    assert error is not None and error.startswith("the saved model cannot be loaded safely")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.sampled_from(["activation", "config", "module",
                                                       "class_name", "x"]), inner,
                                      max_size=4), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_the_rewrite_changes_only_activations_named_in_the_table(config: Any) -> None:
    renamed: dict[str, str] = {}
    rewritten = course_era._rewrite(config, renamed)
    if not renamed:
        assert rewritten == config
    assert set(renamed) <= set(course_era.TF_NN_ACTIVATIONS)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(sorted(course_era.TF_NN_ACTIVATIONS)), JSON)
def test_a_table_function_anywhere_under_activation_is_renamed(name: str, other: Any) -> None:
    config = {"layers": [{"config": {"activation": {"module": "builtins",
                                                     "class_name": "function",
                                                     "config": name}, "other": other}}]}
    renamed: dict[str, str] = {}
    rewritten = course_era._rewrite(config, renamed)
    assert rewritten["layers"][0]["config"]["activation"] == course_era.TF_NN_ACTIVATIONS[name]
    assert renamed[name] == course_era.TF_NN_ACTIVATIONS[name]


@pytest.mark.parametrize(("loss", "expected"), [
    ("binary_crossentropy", "binary_crossentropy"),
    ("mse", "mse"),
    (lambda: keras.losses.BinaryCrossentropy(), "binary_crossentropy"),
    (lambda: keras.losses.binary_crossentropy, "binary_crossentropy"),
    (None, None),  # saved without compile
])
def test_the_saved_loss_is_read_from_the_file_as_the_course_names_it(
        tmp_path: Path, loss: Any, expected: str | None) -> None:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    if loss is not None:
        model.compile(optimizer="rmsprop", loss=loss() if callable(loss) else loss,
                      metrics=["accuracy"])
    path = tmp_path / "model.keras"
    model.save(path)

    assert course_era.saved_loss(path) == expected


def test_a_file_that_is_not_a_model_has_no_saved_loss(tmp_path: Path) -> None:
    (tmp_path / "junk.keras").write_bytes(b"PK\x03\x04 not really a zip")
    assert course_era.saved_loss(tmp_path / "junk.keras") is None
