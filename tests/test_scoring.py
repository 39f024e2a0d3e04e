"""grader.scoring without TensorFlow in this process: the mixed seeded batches, the
one-image-at-a-time check and its tolerance, the bounded image cache, what a result
carries (types), and the bounds of a scorer process (cgroup, RLIMIT_CPU, watchdog).

Real models against the real scorer: tests/security/test_scorer_attacks.py."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import components
import numpy as np
import pytest
from PIL import Image

from grader.run.trace import Trace
from grader.scoring import bounds, client, evaluate, images
from grader.scoring.bounds import ScorerLimits
from grader.scoring.images import Split
from grader.scoring.types import Scoring


def _split(*counts: int) -> Split:
    """Images whose one pixel holds their own index, class by class."""
    pixels, rows, names, index = [], [], [], 0
    for label, count in enumerate(counts):
        values = np.arange(index, index + count, dtype="float32").reshape(count, 1, 1, 1)
        pixels.append(values)
        rows += [(label, row) for row in range(count)]
        names += [f"c{label}/{row}.png" for row in range(count)]
        index += count
    return Split(tuple(pixels), tuple(rows), tuple(names))


class Recorder:
    """A model that returns each image's index, and remembers its batches."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __call__(self, batch: Any) -> Any:  # noqa: ANN401
        self.batches.append(batch[:, 0, 0, 0].astype(int).tolist())
        return batch.reshape(len(batch), 1)


def _rng(seed: int, purpose: int = 0) -> Any:  # noqa: ANN401
    return evaluate._rng(seed, 0, purpose)


def test_batches_mix_the_classes_in_the_order_the_seed_chooses() -> None:
    split = _split(40, 40)
    model = Recorder()
    outputs = evaluate.predict_mixed(model, split, 1.0, 40, _rng(5))
    assert outputs[:, 0].tolist() == list(range(80))  # back in the split's own order
    assert len(model.batches) == 2
    for batch in model.batches:
        assert any(i < 40 for i in batch) and any(i >= 40 for i in batch)
    again, other = Recorder(), Recorder()
    evaluate.predict_mixed(again, split, 1.0, 40, _rng(5))
    evaluate.predict_mixed(other, split, 1.0, 40, _rng(6))
    assert again.batches == model.batches
    assert other.batches != model.batches


def test_the_sample_scored_alone_is_drawn_from_the_seed() -> None:
    split = _split(60, 60)
    model = Recorder()
    indices, outputs = evaluate.sample_alone(model, split, 1.0, _rng(9, 1))
    assert len(set(indices.tolist())) == evaluate.SAMPLE_PER_SPLIT
    assert all(len(batch) == 1 for batch in model.batches)
    assert outputs[:, 0].tolist() == indices.tolist()
    assert evaluate.sample_alone(Recorder(), split, 1.0, _rng(9, 1))[0].tolist() \
        == indices.tolist()
    assert evaluate.sample_alone(Recorder(), split, 1.0, _rng(10, 1))[0].tolist() \
        != indices.tolist()
    small = evaluate.sample_alone(Recorder(), _split(3, 2), 1.0, _rng(1, 1))[0]
    assert sorted(small.tolist()) == [0, 1, 2, 3, 4]


def test_scoring_every_image_alone_reuses_the_sample() -> None:
    split = _split(5, 5)
    model = Recorder()
    known = (np.array([2, 7]), np.array([[2.0], [7.0]], "float32"))
    outputs = evaluate.predict_each(model, split, 1.0, known)
    assert outputs[:, 0].tolist() == list(range(10))
    assert sorted(b[0] for b in model.batches) == [0, 1, 3, 4, 5, 6, 8, 9]


@pytest.mark.parametrize(("batched", "alone", "within"), [
    (0.5 + 2.1e-7, 0.5, True),  # the reference model's float noise (measured 1.6e-7)
    (0.3 + 9.5e-7, 0.3, True),  # BatchNormalization + Dropout in inference (5.1e-7)
    (19.5 + 1.6e-4, 19.5, True),  # an unscaled logit output (3.4e-5 relative)
    (0.5 + 0.002, 0.5, False),  # beyond 1e-3 × (1 + 0.5): the model reads its batch
    (1.0, 0.0, False),  # the batch-mean attack
    (float("nan"), 0.5, False),
    (float("nan"), float("nan"), True),
    (float("inf"), float("inf"), True),
])
def test_the_tolerance_separates_float_noise_from_batch_tricks(
        batched: float, alone: float, within: bool) -> None:
    gap = evaluate.differences(np.array([[batched]], "float64"),
                               np.array([[alone]], "float64"))
    assert (float(gap[0]) <= evaluate.TOLERANCE) is within


def test_predictions_are_thresholded_or_argmaxed() -> None:
    assert evaluate.predictions(np.array([[0.2], [0.7], [0.5]])).tolist() == [0, 1, 0]
    assert evaluate.predictions(np.array([[0.2, 0.8], [0.9, 0.1]])).tolist() == [1, 0]


def test_a_summary_follows_the_split_whatever_the_feeding_order() -> None:
    split = _split(2, 2)
    summary = evaluate.summarise(np.array([[0.1], [0.9], [0.8], [0.7]]), split, 2)
    assert summary == {"accuracy": 0.75, "images": 4, "confusion": [[1, 1], [0, 2]],
                       "misclassified": ["c0/1.png"]}


class _Shape:
    def __init__(self, *shape: int | None) -> None:
        self.shape = shape


class _Layer:
    def __init__(self, *shape: int | None, inner: list[Any] | None = None) -> None:
        self.output = _Shape(None, *shape)
        self.layers = inner or []


def test_batches_shrink_for_models_with_large_activations() -> None:
    reference = type("M", (), {"layers": [_Layer(148, 148, 16), _Layer(74, 74, 16),
                                          _Layer(512), _Layer(1)]})()
    assert evaluate.batch_size(reference, (150, 150), 3) == evaluate.MAX_BATCH
    upsampled = type("M", (), {"layers": [_Layer(1350, 1350, 3), _Layer(1348, 1348, 8)]})()
    assert evaluate.batch_size(upsampled, (150, 150), 3) == 3
    nested = type("M", (), {"layers": [_Layer(1, inner=[_Layer(4500, 4500, 32)])]})()
    assert evaluate.batch_size(nested, (150, 150), 3) == 1


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    for cls in ("happy", "sad"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.new("RGB", (20, 20), (i * 50, 10, 10)).save(tmp_path / cls / f"{i}.png")
    return tmp_path


def test_the_image_cache_keeps_the_prewarmed_size_and_one_other(
        image_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "_decoded", images.OrderedDict())
    images.prewarm(image_folder, image_folder, ["happy", "sad"])
    for size in ((300, 300), (64, 64), (32, 32)):
        split = images.load_split(image_folder, ["happy", "sad"], size, 3)
        assert len(split) == 4 and split.gather([0, 3]).shape == (2, *size, 3)
    kept = {shape for _, _, shape, _ in images._decoded}
    assert kept == {((150, 150), 3), ((32, 32), 3)}
    monkeypatch.setattr(images, "CACHE_LIMIT_BYTES", 1000)
    images.load_split(image_folder, ["happy", "sad"], (40, 40), 3)
    assert ((40, 40), 3) not in {shape for _, _, shape, _ in images._decoded}


def test_images_replaced_in_place_are_decoded_again(
        image_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "_decoded", images.OrderedDict())
    before = images.load_split(image_folder, ["happy", "sad"], (20, 20), 3).gather([0])
    Image.new("RGB", (20, 20), (200, 200, 200)).save(image_folder / "happy" / "0.png")
    after = images.load_split(image_folder, ["happy", "sad"], (20, 20), 3).gather([0])
    assert before[0, 0, 0, 0] == 0 and after[0, 0, 0, 0] == 200
    assert len(images._decoded) == 2  # the stale pixels of "happy" are gone, "sad" kept


def test_a_result_carries_the_batch_check_and_the_bounds() -> None:
    raw = {"model_loaded": True, "hidden": {"accuracy": 0.55, "images": 120},
           "batch_dependent": True, "batch_difference": 0.98,
           "batch_check": {"sampled": 32, "predictions_changed": 14},
           "limits": {"memory_limit": "none", "memory_mb": 4096}}
    scoring = Scoring.from_json(raw)
    assert scoring.batch_dependent and scoring.batch_difference == 0.98
    assert scoring.batch_check["predictions_changed"] == 14
    assert scoring.memory_limit == "none"
    assert scoring.notes[0].startswith("batch dependent: the model's output for one image")
    assert "14 of 32 sampled predictions changed" in scoring.notes[0]
    assert scoring.notes[1] == ("the scorer's 4096 MB memory limit was not enforced: no "
                                "memory cgroup could be created here")
    honest = Scoring.from_json({"model_loaded": True, "batch_difference": 1e-7,
                                "limits": {"memory_limit": "4096 MB (cgroup)",
                                           "memory_mb": 4096}})
    assert not honest.batch_dependent and honest.notes == ()


def test_the_limits_follow_the_spec(spec: Any) -> None:  # noqa: ANN401
    limits = ScorerLimits.of(spec)
    assert limits.memory_mb == spec.memory_mb == 4096
    assert limits.time_seconds == client.TIME_LIMIT == 300
    assert limits.cpu_seconds == 4 * 300 + 30
    assert bounds.memory_message(4096) == ("scoring this model needed more than 4096 MB; "
                                           "the grader stopped it")


def test_a_scorer_process_is_started_in_its_cgroup_under_rlimit_cpu() -> None:
    components.cgroup("memory")
    cage = bounds.ScorerCage(ScorerLimits(1500))
    try:
        assert cage.enforced and cage.memory_limit == "1500 MB (cgroup)"
        probe = subprocess.run(
            [sys.executable, "-c", "import resource; print(open('/proc/self/cgroup').read());"
             "print(resource.getrlimit(resource.RLIMIT_CPU))"],
            capture_output=True, text=True, check=True, preexec_fn=cage.preexec(77, 82))
        assert cage.cage is not None and cage.cage.path is not None
        assert cage.cage.path.name in probe.stdout
        assert probe.stdout.strip().endswith("(77, 82)")
        host = cage.host()
        assert host["cgroup"] == str(cage.cage.path) and host["memory_mb"] == 1500
        assert not bounds.oom_killed(host)
    finally:
        cage.close()
    assert cage.cage is not None and cage.cage.path is not None
    assert not cage.cage.path.exists()


WATCHED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from grader.scoring import bounds
    out, seconds, cpu, work = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), \\
        float(sys.argv[4])
    with bounds.RequestWatch(out, seconds, cpu, {"memory_limit": "none"}) as watch:
        end = time.monotonic() + work
        while time.monotonic() < end:
            pass
        watch.deliver({"model_loaded": True, "model_error": None})
    """)


@pytest.mark.parametrize(("seconds", "cpu", "limit", "message"), [
    (0.5, 100, "time", "scoring this model took more than 0.5 s; the grader stopped it"),
    (100, 0.5, "cpu", "scoring this model used more than 0.5 s of CPU time; the grader "
                      "stopped it"),
])
def test_the_watchdog_writes_the_verdict_and_stops_the_scorer(
        tmp_path: Path, seconds: float, cpu: float, limit: str, message: str) -> None:
    out = tmp_path / "scoring.json"
    done = subprocess.run([sys.executable, "-c", WATCHED, str(out), str(seconds), str(cpu),
                           "30"], timeout=60)
    assert done.returncode == bounds.EXIT_AT_LIMIT
    written = json.loads(out.read_text())
    assert written["scorer_limit"] == limit and written["model_error"] == message
    assert written["model_loaded"] is False and written["limits"] == {"memory_limit": "none"}


def test_a_model_scored_in_time_is_delivered(tmp_path: Path) -> None:
    out = tmp_path / "scoring.json"
    done = subprocess.run([sys.executable, "-c", WATCHED, str(out), "30", "30", "0.1"],
                          timeout=60)
    assert done.returncode == 0
    assert json.loads(out.read_text()) == {"model_loaded": True, "model_error": None,
                                           "limits": {"memory_limit": "none"}}


def test_without_a_memory_cgroup_the_scoring_result_says_so(
        spec: Any, data: Any, tmp_path: Path,  # noqa: ANN401
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds.MemoryCage, "create", classmethod(lambda *a, **k: None))
    one_off = client.start_scorer(spec, data)
    try:
        assert one_off.cage.memory_limit == "none"
        artefacts = tmp_path / "artefacts"
        artefacts.mkdir()
        (artefacts / "model.keras").write_bytes(b"PK\x03\x04 not a model")
        scoring = client.score(one_off, artefacts, Trace(model_saved=True), spec, data)
    finally:
        client.stop_scorer(one_off)
    assert scoring.model_error is not None and "cannot be loaded safely" in scoring.model_error
    assert scoring.memory_limit == "none"
    assert scoring.notes == ("the scorer's 4096 MB memory limit was not enforced: no "
                             "memory cgroup could be created here",)


def test_a_sample_is_compared_on_its_outputs_and_its_predictions() -> None:
    same = np.array([[0.2], [0.9]], "float32")
    assert evaluate.compare(same, same + 1e-7) == (pytest.approx(1e-7, rel=0.5), 0)
    gap, changed = evaluate.compare(np.array([[0.2], [0.9]]), np.array([[0.6], [0.9]]))
    assert gap == pytest.approx(0.4 / 1.6) and changed == 1
    # another width for one image than for a batch: every sampled image differs
    assert evaluate.compare(np.zeros((2, 40)), np.zeros((2, 1))) \
        == (evaluate.MAX_DIFFERENCE, 2)
    assert evaluate.compare(np.array([[np.nan]]), np.array([[0.5]]))[0] \
        == evaluate.MAX_DIFFERENCE
    assert evaluate.compare(np.zeros((0, 1)), np.zeros((0, 1))) == (0.0, 0)


def test_a_one_off_scorer_dead_before_the_model_is_replaced_not_blamed(
        spec: Any, data: Any, tmp_path: Path) -> None:  # noqa: ANN401
    one_off = client.start_scorer(spec, data)
    one_off.process.kill()
    one_off.process.wait()
    artefacts = tmp_path / "artefacts"
    artefacts.mkdir()
    (artefacts / "model.keras").write_bytes(b"PK\x03\x04 not a model")
    try:
        scoring = client.score(one_off, artefacts, Trace(model_saved=True), spec, data)
    finally:
        client.stop_scorer(one_off)
    assert scoring.model_error is not None and "cannot be loaded safely" in scoring.model_error
    assert scoring.scorer_limit is None
