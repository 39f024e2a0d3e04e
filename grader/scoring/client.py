"""One grading's side of trusted scoring: start a scorer, hand it the saved model, read
what it measured.

Two scorers can answer: a one-off `python -m grader.scoring.scorer --serve-one` started
beside the run (so its TensorFlow import and image decoding overlap training), or the
batch's shared service (grader.scoring.service) over its Unix socket. Both are bounded
(grader.scoring.bounds): a memory cgroup, RLIMIT_CPU, and a time budget per model.

A model that was being scored when its scorer died or was stopped gets that verdict as
its scoring error and is never scored again (it would only kill the next scorer too).
Only a service that was gone before it began on this model sends the grading to a
one-off scorer — bounded the same way.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from grader.exercise.datasource import DataPaths
from grader.exercise.spec import ExerciseSpec
from grader.run import trace as traces
from grader.run.artefacts import copy_no_follow
from grader.runner.contract import MODEL_FILE
from grader.scoring import bounds, service
from grader.scoring import scorer as scorer_process
from grader.scoring.bounds import ScorerLimits
from grader.scoring.scorer import MAX_MODEL_BYTES
from grader.scoring.types import Scoring, scoring_notes

TIME_LIMIT = bounds.DEFAULT_TIME_SECONDS  # seconds a scorer may take for one model


@dataclass
class OneOffScorer:
    """A scorer process for one model, and the cgroup it runs in."""

    process: subprocess.Popen[bytes]
    cage: bounds.ScorerCage
    limits: ScorerLimits

    @property
    def pid(self) -> int:
        return self.process.pid


def start_scorer(spec: ExerciseSpec, data: DataPaths,
                 limits: ScorerLimits | None = None) -> OneOffScorer:
    """The one-off scorer, started now so its TensorFlow import and the decoding of the
    hidden and training images overlap the run. Bounded by `limits` (by default the
    spec's memory_mb): its own memory cgroup, and CPU time for starting plus one model."""
    limits = limits or ScorerLimits.of(spec)
    cage = bounds.ScorerCage(limits)
    cpu = bounds.STARTUP_CPU_SECONDS + limits.cpu_seconds
    process = subprocess.Popen(
        [sys.executable, "-m", "grader.scoring.scorer", "--serve-one", str(data.hidden_dir),
         str(data.train_zip), ",".join(spec.classes), json.dumps(cage.host())],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=scorer_process.environment(spec.intra_op_threads),
        preexec_fn=cage.preexec(cpu, cpu + 5))
    return OneOffScorer(process, cage, limits)


def stop_scorer(scorer: OneOffScorer | None) -> None:
    if scorer is None:
        return
    if scorer.process.poll() is None:
        scorer.process.kill()
    scorer.process.wait()
    scorer.cage.close()


def _rescale_for_scoring(trace: traces.Trace) -> float:
    """Score with the preprocessing the student trained with (their rescale, if sane).

    A missing rescale is already penalised by its own check; scoring with 1/255 anyway
    would penalise it a second time through hidden accuracy. "Trained with" is what the
    generator applied to its batches (seen as it standardised them), not what it was made
    with: a rescale set and then removed before training scores as removed.
    """
    if trace.flows:
        generator = trace.generator_of(trace.training_flow)
        rescale = generator.applied_rescales[-1] if generator else None
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
    """The model, never more than the scorer would accept plus a byte, so an oversized
    model is refused by size, not copied whole."""
    return copy_no_follow(source, target, MAX_MODEL_BYTES + 1)


def score(scorer: OneOffScorer | None, artefacts: Path, trace: traces.Trace,
          spec: ExerciseSpec, data: DataPaths, socket_path: str | None = None, *,
          seed: int = 0, limits: ScorerLimits | None = None) -> Scoring:
    """Measure the run's saved model with `scorer` (one-off) or the service at
    `socket_path`; a model that cannot be scored is a Scoring with its model_error.
    `seed` orders the images (grade.py derives it from the course secret)."""
    limits = limits or (scorer.limits if scorer is not None else ScorerLimits.of(spec))
    with tempfile.TemporaryDirectory(prefix="grader-score-") as scratch:
        model = Path(scratch) / MODEL_FILE
        if not _copy_no_follow(artefacts / MODEL_FILE, model):
            return Scoring(model_error=trace.model_error or "no saved model")
        out = Path(scratch) / "scoring.json"
        request = ["--model", str(model), "--hidden", str(data.hidden_dir),
                   "--train-zip", str(data.train_zip), "--classes", ",".join(spec.classes),
                   "--rescale", repr(_rescale_for_scoring(trace)), "--seed", str(seed),
                   "--time-limit", repr(float(limits.time_seconds)), "--out", str(out)]
        outside = _rescale_outside_model(trace)
        if outside is not None:
            request += ["--rescale-if-model-has-none", repr(outside)]
        if socket_path:
            answer = service.ask(socket_path, request, limits.time_seconds)
            if answer.code is not None or answer.started is not None or out.exists():
                return _from_service(answer, out)
            alone = start_scorer(spec, data, limits)  # the service was gone: score alone
            try:
                return _score_alone(alone, request, out)
            finally:
                stop_scorer(alone)
        assert scorer is not None
        if scorer.process.poll() is None:
            return _score_alone(scorer, request, out)
        fresh = start_scorer(spec, data, limits)  # it died before this model: not its doing
        try:
            return _score_alone(fresh, request, out)
        finally:
            stop_scorer(fresh)


def _from_service(answer: service.Answer, out: Path) -> Scoring:
    """The service's result; or, if it died on this model, why (never a second try)."""
    if out.exists():
        return _read(out)
    if answer.code is not None:
        return Scoring(model_error=f"the grader's scorer failed: {answer.error[:300]}")
    host = answer.started or {}
    if answer.timed_out:
        return _stopped("time", bounds.time_message(host.get("time_seconds") or TIME_LIMIT),
                        host)
    limit, message = bounds.death_verdict(host)
    return _stopped(limit, message, host)


def _score_alone(scorer: OneOffScorer, request: list[str], out: Path) -> Scoring:
    host = scorer.cage.host()
    wait = scorer.limits.time_seconds + bounds.STARTUP_GRACE_SECONDS
    try:
        _, stderr = scorer.process.communicate(json.dumps(request).encode() + b"\n",
                                               timeout=wait)
    except subprocess.TimeoutExpired:
        stop_scorer(scorer)
        return _stopped("time", bounds.time_message(scorer.limits.time_seconds), host)
    peak = scorer.cage.peak_mb()
    if out.exists():
        return replace(_read(out), memory_peak_mb=peak)
    if scorer.cage.oom_killed():
        return _stopped("memory", bounds.memory_message(scorer.limits.memory_mb), host)
    if scorer.process.returncode == -signal.SIGXCPU:
        return _stopped("cpu", bounds.cpu_message(scorer.limits.cpu_seconds), host)
    code = scorer.process.returncode
    if code is not None and code < 0:
        return _stopped("crash", f"{bounds.CRASH_MESSAGE} (signal {-code})", host)
    last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    return Scoring(model_error=f"the grader's scorer failed: {last[0][:300]}",
                   memory_limit=host["memory_limit"])


def _read(out: Path) -> Scoring:
    return Scoring.from_json(json.loads(out.read_text()))


def _stopped(limit: str, message: str, host: dict[str, Any]) -> Scoring:
    """A model its scorer was stopped on: a one-line error, and which limit it was."""
    return Scoring(model_error=message, scorer_limit=limit,
                   memory_limit=host.get("memory_limit"),
                   notes=scoring_notes({"limits": host}))
