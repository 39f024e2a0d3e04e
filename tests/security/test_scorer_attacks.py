"""Hostile SAVED MODELS against the trusted scorer, through the real scoring path
(grader.scoring.client.score with a trace of the test's making).

1. Batch mean: the model's output is the mean over the batch of a weak per-image score
   (keras.ops, loads under safe_mode, shows no extra layer). Fed one class per batch, as
   the old scorer did, it scored 1.0; image by image it is worth 0.5. It must score ≈0.5
   and be flagged batch dependent, while the honest reference keeps its accuracy and is
   not flagged.
2. Memory: an untrained model whose first layer upsamples the image made the scorer
   (outside the run's cgroup) use 11 GB. It must end as that submission's clear scoring
   error under the scorer's own memory limit, leave no process behind, and not stop the
   batch's shared scorer for the next submission — nor be retried.
3. Time: a model slow enough to hold the shared scorer is stopped at the time limit.

The models are built (and the reference trained, ~15 CPU-s) once, in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import components
import pytest

from grader.run.trace import Trace
from grader.scoring import bounds, client
from grader.scoring.bounds import ScorerLimits
from grader.scoring.service import ScoringService

pytestmark = pytest.mark.slow

LOW_MEMORY_MB = 1500  # the scorer's baseline is ~550 MB (TensorFlow and the images)

BUILD = r'''
import io, json, os, sys, zipfile
from pathlib import Path
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import keras
from keras import layers, ops
from PIL import Image

train_zip, hidden, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
keras.utils.set_random_seed(0)
CLASSES = ["happy", "sad"]

def decoded(items):
    return np.stack([np.asarray(Image.open(io.BytesIO(data)).convert("RGB").resize(
        (150, 150), Image.NEAREST), "float32") / 255 for data in items])

def load_zip():
    with zipfile.ZipFile(train_zip) as archive:
        names = sorted(n for n in archive.namelist() if n.endswith(".png"))
        split = [[archive.read(n) for n in names if n.startswith(c + "/")] for c in CLASSES]
    return split

def load_dir():
    return [[p.read_bytes() for p in sorted((hidden / c).glob("*.png"))] for c in CLASSES]

# The reference, trained as reference/happy_or_sad/solution.py trains it.
folder = out / "train"
with zipfile.ZipFile(train_zip) as archive:
    archive.extractall(folder)
from tensorflow.keras.preprocessing.image import ImageDataGenerator

class Stop(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0) > 0.999:
            self.model.stop_training = True

reference = keras.Sequential([
    keras.Input((150, 150, 3)),
    layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
    layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
    layers.Flatten(), layers.Dense(512, activation="relu"),
    layers.Dense(1, activation="sigmoid")])
reference.compile(loss="binary_crossentropy", metrics=["accuracy"],
                  optimizer=keras.optimizers.RMSprop(learning_rate=0.001))
flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
    folder, target_size=(150, 150), batch_size=10, class_mode="binary")
reference.fit(flow, steps_per_epoch=8, epochs=15, callbacks=[Stop()], verbose=0)
reference.save(out / "reference.keras")

# 1. The batch-mean model: per image, a ±1 pseudo-random sign that knows no class
# outweighs 0.9 × the reference's honest vote, so alone it guesses; averaged over a
# batch the noise cancels and the vote wins.
image = keras.Input((150, 150, 3))
vote = 2.0 * reference(image) - 1.0
brightness = layers.Dense(1, use_bias=False, kernel_initializer="ones")(
    layers.GlobalAveragePooling2D()(image))
weak = 0.9 * vote + ops.sign(ops.sin(1000.0 * brightness))
mean = ops.sigmoid(50.0 * ops.mean(weak, axis=0, keepdims=True)) + 0.0 * vote
keras.Model(image, mean).save(out / "batch_mean.keras")
batch_mean = keras.models.load_model(out / "batch_mean.keras", safe_mode=True)

def accuracies(model, split):
    """(one class per batch of 40, as the old scorer fed it; one image at a time)"""
    old = alone = total = 0
    for label, items in enumerate(split):
        pixels = decoded(items)
        for start in range(0, len(pixels), 40):
            got = np.asarray(model(pixels[start:start + 40], training=False))[:, 0] > 0.5
            old += int((got == bool(label)).sum())
        for row in pixels:
            got = np.asarray(model(row[None], training=False))[0, 0] > 0.5
            alone += int(got == bool(label))
        total += len(pixels)
    return old / total, alone / total

report = {}
for name, model in (("batch_mean", batch_mean), ("reference", reference)):
    for split_name, split in (("hidden", load_dir()), ("train", load_zip())):
        old, alone = accuracies(model, split)
        report[f"{name}_{split_name}_one_class_batches"] = old
        report[f"{name}_{split_name}_alone"] = alone

# 2. Memory: upsampled first, as reported (9×), and one that needs more than
# LOW_MEMORY_MB for a single image (30×, 32 filters: ~2.6 GB of activations).
def upsampling(factor, filters):
    inputs = keras.Input((150, 150, 3))
    x = layers.UpSampling2D(factor)(inputs)
    x = layers.Conv2D(filters, 3, activation="relu")(x)
    x = layers.GlobalMaxPooling2D()(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))

upsampling(9, 8).save(out / "upsampling_9.keras")
upsampling(30, 32).save(out / "memory_hog.keras")

# 3. Time: eight 64-filter convolutions at full size, ~0.3 s per image on 2 cores.
inputs = keras.Input((150, 150, 3))
x = inputs
for _ in range(8):
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
x = layers.GlobalAveragePooling2D()(x)
keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x)).save(out / "slow.keras")
report["sizes"] = {p.name: p.stat().st_size for p in out.glob("*.keras")}
(out / "report.json").write_text(json.dumps(report))
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, data: Any) -> Path:  # noqa: ANN401
    out = tmp_path_factory.mktemp("scorer-attacks")
    subprocess.run([sys.executable, "-c", BUILD, str(data.train_zip), str(data.hidden_dir),
                    str(out)], check=True, timeout=900,
                   env=client.scorer_process.environment(2))
    return out


@pytest.fixture(scope="module")
def report(models: Path) -> dict[str, Any]:
    return json.loads((models / "report.json").read_text())


@pytest.fixture(scope="module")
def shared(spec: Any, data: Any) -> Iterator[ScoringService]:  # noqa: ANN401
    components.cgroup("memory")
    running = ScoringService(spec, data, ScorerLimits(LOW_MEMORY_MB))
    running.start()
    yield running
    running.stop()


def artefacts(models: Path, name: str, tmp_path: Path) -> Path:
    """A run's artefacts folder holding the model `name` as the saved model."""
    folder = tmp_path / "artefacts"
    folder.mkdir()
    (folder / "model.keras").write_bytes((models / f"{name}.keras").read_bytes())
    return folder


TRACE = Trace(model_saved=True)  # no generator recorded: scored at 1/255


def full_marks(spec: Any) -> float:  # noqa: ANN401
    """The hidden accuracy at which the reference keeps its grade: the rubric's full-marks
    bar. (Not the calibration's 0.95: this reference trains with seed 0 and default
    threads, not as the grader seeds a run, and a fresh course secret drew a hidden
    split it scored 0.933 on.)"""
    return float(spec.rubric_item("hidden_accuracy").params["full_marks_at"])


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_the_batch_mean_model_is_a_real_attack(report: dict[str, Any]) -> None:
    """Positive control of the attack: one class per batch it is perfect, alone a guess."""
    assert report["batch_mean_hidden_one_class_batches"] >= 0.95
    assert report["batch_mean_train_one_class_batches"] >= 0.95
    assert 0.35 <= report["batch_mean_hidden_alone"] <= 0.65
    assert 0.3 <= report["batch_mean_train_alone"] <= 0.7


def test_the_batch_mean_model_scores_what_it_deserves_image_by_image(
        models: Path, report: dict[str, Any], spec: Any, data: Any,  # noqa: ANN401
        tmp_path: Path) -> None:
    one_off = client.start_scorer(spec, data)
    try:
        scoring = client.score(one_off, artefacts(models, "batch_mean", tmp_path), TRACE,
                               spec, data, seed=20240521)
    finally:
        client.stop_scorer(one_off)
    assert scoring.model_error is None and scoring.evaluation_error is None
    assert scoring.batch_dependent
    assert scoring.batch_difference is not None and scoring.batch_difference > 0.5
    assert scoring.batch_check["scored_one_at_a_time"]
    assert scoring.hidden_accuracy == pytest.approx(report["batch_mean_hidden_alone"],
                                                    abs=2 / 120)
    assert scoring.train_accuracy == pytest.approx(report["batch_mean_train_alone"],
                                                   abs=2 / 80)
    assert any(note.startswith("batch dependent") for note in scoring.notes)
    assert not alive(one_off.pid)


def test_the_reference_is_not_flagged_and_keeps_its_grade(
        models: Path, report: dict[str, Any], shared: ScoringService, spec: Any,
        data: Any, tmp_path: Path) -> None:  # noqa: ANN401
    shared.ensure_running()
    scoring = client.score(None, artefacts(models, "reference", tmp_path), TRACE, spec,
                           data, shared.socket_path, seed=7,
                           limits=ScorerLimits(LOW_MEMORY_MB))
    assert scoring.hidden_accuracy is not None and scoring.hidden_accuracy >= full_marks(spec)
    # the same predictions as the old one-class batches and as one image at a time
    assert scoring.hidden_accuracy == report["reference_hidden_one_class_batches"]
    assert scoring.train_accuracy == report["reference_train_one_class_batches"]
    assert not scoring.batch_dependent
    assert scoring.batch_difference is not None and scoring.batch_difference < 1e-5
    assert scoring.batch_check["sampled"] == 32
    # the sample check's cost on the honest path: ~0.2 CPU-s measured (wall time varies
    # with the machine's load, so CPU time is what is asserted)
    assert scoring.batch_check["cpu_seconds"] < 1.0
    assert scoring.memory_limit == f"{LOW_MEMORY_MB} MB (cgroup)"
    assert scoring.notes == ()


def test_a_model_over_the_memory_limit_is_a_clear_error_and_leaves_nothing(
        models: Path, spec: Any, data: Any, tmp_path: Path) -> None:  # noqa: ANN401
    components.cgroup("memory")
    one_off = client.start_scorer(spec, data, ScorerLimits(LOW_MEMORY_MB))
    cgroup = one_off.cage.cage.path if one_off.cage.cage else None
    try:
        scoring = client.score(one_off, artefacts(models, "memory_hog", tmp_path), TRACE,
                               spec, data, seed=1)
    finally:
        client.stop_scorer(one_off)
    assert scoring.model_error == ("scoring this model needed more than 1500 MB; the "
                                   "grader stopped it")
    assert scoring.scorer_limit == "memory" and not scoring.model_loaded
    assert not alive(one_off.pid)
    assert cgroup is not None and not cgroup.exists()


def test_a_model_that_kills_the_shared_scorer_is_not_retried_and_the_next_is_scored(
        models: Path, shared: ScoringService, spec: Any, data: Any,  # noqa: ANN401
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared.ensure_running()
    assert shared.process is not None and shared.cage is not None
    killed, cage = shared.process, shared.cage
    fallbacks: list[int] = []
    real_start = client.start_scorer

    def counted(*args: Any, **kwargs: Any) -> client.OneOffScorer:  # noqa: ANN401
        started = real_start(*args, **kwargs)
        fallbacks.append(started.pid)
        return started

    monkeypatch.setattr(client, "start_scorer", counted)
    limits = ScorerLimits(LOW_MEMORY_MB)
    scoring = client.score(None, artefacts(models, "memory_hog", tmp_path), TRACE, spec,
                           data, shared.socket_path, seed=1, limits=limits)
    assert scoring.model_error == bounds.memory_message(LOW_MEMORY_MB)
    assert scoring.scorer_limit == "memory"
    assert fallbacks == []  # the model that killed the service was not scored again
    assert killed.wait(10) is not None and cage.oom_killed()
    assert not alive(killed.pid)
    shared.ensure_running()  # what the batch does after each result
    assert shared.process is not killed and shared.process.poll() is None
    honest = tmp_path / "honest"
    honest.mkdir()
    again = client.score(None, artefacts(models, "reference", honest), TRACE, spec, data,
                         shared.socket_path, seed=1, limits=limits)
    assert again.hidden_accuracy is not None and again.hidden_accuracy >= full_marks(spec)
    assert fallbacks == []


def test_when_the_shared_scorer_is_gone_the_fallback_scorer_is_bounded_too(
        models: Path, shared: ScoringService, spec: Any, data: Any,  # noqa: ANN401
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared.ensure_running()
    assert shared.process is not None
    shared.process.kill()  # gone before this model: not this model's doing
    shared.process.wait()
    fallbacks: list[client.OneOffScorer] = []
    real_start = client.start_scorer

    def recorded(*args: Any, **kwargs: Any) -> client.OneOffScorer:  # noqa: ANN401
        fallbacks.append(real_start(*args, **kwargs))
        return fallbacks[-1]

    monkeypatch.setattr(client, "start_scorer", recorded)
    scoring = client.score(None, artefacts(models, "memory_hog", tmp_path), TRACE, spec,
                           data, shared.socket_path, seed=1,
                           limits=ScorerLimits(LOW_MEMORY_MB))
    assert len(fallbacks) == 1
    assert fallbacks[0].cage.enforced
    assert scoring.model_error == bounds.memory_message(LOW_MEMORY_MB)
    assert not alive(fallbacks[0].pid)
    shared.ensure_running()


def test_a_model_past_its_time_limit_is_stopped_and_the_shared_scorer_comes_back(
        models: Path, shared: ScoringService, spec: Any, data: Any,  # noqa: ANN401
        tmp_path: Path) -> None:
    shared.ensure_running()
    assert shared.process is not None
    stuck = shared.process
    scoring = client.score(None, artefacts(models, "slow", tmp_path), TRACE, spec, data,
                           shared.socket_path, seed=1,
                           limits=ScorerLimits(LOW_MEMORY_MB, time_seconds=3))
    assert scoring.model_error == ("scoring this model took more than 3 s; the grader "
                                   "stopped it")
    assert scoring.scorer_limit == "time"
    assert stuck.wait(10) == bounds.EXIT_AT_LIMIT
    shared.ensure_running()
    honest = tmp_path / "honest"
    honest.mkdir()
    again = client.score(None, artefacts(models, "reference", honest), TRACE, spec, data,
                         shared.socket_path, seed=1, limits=ScorerLimits(LOW_MEMORY_MB))
    assert again.hidden_accuracy is not None and again.hidden_accuracy >= full_marks(spec)
