"""One grading's side of trusted scoring: start a scorer, hand it the saved model, read
what it measured.

Two scorers can answer: a one-off `python -m grader.scoring.scorer --serve-one` started
beside the run (so its TensorFlow import and image decoding overlap training), or the
batch's shared service (grader.scoring.service) over its Unix socket. If the service is
gone, the grading falls back to a one-off scorer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.exercise.datasource import DataPaths
from grader.exercise.spec import ExerciseSpec
from grader.processes import die_with_parent
from grader.run import trace as traces
from grader.runner.contract import MODEL_FILE
from grader.scoring import scorer as scorer_process
from grader.scoring import service
from grader.scoring.scorer import MAX_MODEL_BYTES
from grader.scoring.types import Scoring

TIME_LIMIT = 300  # seconds a scorer may take for one model


def start_scorer(spec: ExerciseSpec, data: DataPaths) -> subprocess.Popen[bytes]:
    """The one-off scorer, started now so its TensorFlow import and the decoding of the
    hidden and training images overlap the run."""
    return subprocess.Popen([sys.executable, "-m", "grader.scoring.scorer", "--serve-one",
                             str(data.hidden_dir), str(data.train_zip), ",".join(spec.classes)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            env=scorer_process.environment(spec.intra_op_threads),
                            preexec_fn=die_with_parent)


def stop_scorer(scorer: subprocess.Popen[bytes] | None) -> None:
    if scorer is None:
        return
    if scorer.poll() is None:
        scorer.kill()
    scorer.wait()


def _rescale_for_scoring(trace: traces.Trace) -> float:
    """Score with the preprocessing the student trained with (their rescale, if sane).

    A missing rescale is already penalised by its own check; scoring with 1/255 anyway
    would penalise it a second time through hidden accuracy.
    """
    if trace.flows:
        generator = trace.generator_of(trace.training_flow)
        rescale = generator.rescale if generator else None
        return rescale if rescale is not None and 0 < rescale <= 1 else 1.0
    if trace.datasets:
        return 1.0  # image_dataset_from_directory: rescaled in the model, or see below
    return 1 / 255


def _rescale_outside_model(trace: traces.Trace) -> float | None:
    """A Rescaling the run applied to its dataset (the 2024 notebook maps one over it),
    used by the scorer only if the saved model holds no Rescaling layer of its own."""
    if trace.datasets and trace.rescalings and 0 < trace.rescalings[-1] <= 1:
        return trace.rescalings[-1]
    return None


def _copy_no_follow(source: Path, target: Path) -> bool:
    """Copy an artefact without following a symlink the run may have planted (in place of
    the file or of its folder), and never more than the scorer would accept plus a byte,
    so an oversized model is refused by size, not copied whole."""
    descriptor = traces.open_artefact(source.parent, source.name)
    if descriptor is None:
        return False
    budget = MAX_MODEL_BYTES + 1
    with os.fdopen(descriptor, "rb") as reader, open(target, "wb") as writer:
        while budget > 0 and (chunk := reader.read(min(budget, 1 << 20))):
            writer.write(chunk)
            budget -= len(chunk)
    return True


def score(scorer: subprocess.Popen[bytes] | None, artefacts: Path, trace: traces.Trace,
          spec: ExerciseSpec, data: DataPaths, socket_path: str | None = None) -> Scoring:
    """Measure the run's saved model with `scorer` (one-off) or the service at
    `socket_path`; a model that cannot be scored is a Scoring with its model_error."""
    with tempfile.TemporaryDirectory(prefix="grader-score-") as scratch:
        model = Path(scratch) / MODEL_FILE
        if not _copy_no_follow(artefacts / MODEL_FILE, model):
            return Scoring(model_error=trace.model_error or "no saved model")
        out = Path(scratch) / "scoring.json"
        request = ["--model", str(model), "--hidden", str(data.hidden_dir),
                   "--train-zip", str(data.train_zip), "--classes", ",".join(spec.classes),
                   "--rescale", repr(_rescale_for_scoring(trace)), "--out", str(out)]
        outside = _rescale_outside_model(trace)
        if outside is not None:
            request += ["--rescale-if-model-has-none", repr(outside)]
        if socket_path:
            answer = service.request(socket_path, request, TIME_LIMIT)
            if answer is not None:
                code, error = answer
                if code != 0 or not out.exists():
                    return Scoring(model_error=f"the grader's scorer failed: {error[:300]}")
                return Scoring.from_json(json.loads(out.read_text()))
            alone = start_scorer(spec, data)  # the shared scorer is gone: score alone
            try:
                return score(alone, artefacts, trace, spec, data)
            finally:
                stop_scorer(alone)
        assert scorer is not None
        try:
            _, stderr = scorer.communicate(json.dumps(request).encode() + b"\n",
                                           timeout=TIME_LIMIT)
        except subprocess.TimeoutExpired:
            return Scoring(model_error="the grader's scorer timed out on this model")
        if scorer.returncode != 0 or not out.exists():
            last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            return Scoring(model_error=f"the grader's scorer failed: {last[0][:300]}")
        return Scoring.from_json(json.loads(out.read_text()))
