"""Grade one submission end to end: load → stage → sandboxed run → trusted scoring → checks.

This is the file to read to follow a submission from file to result. It is all trusted
code: it never imports or executes student code, and reads the run's artefacts only
through grader.trace and a no-follow copy of the saved model.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader import __version__, sandbox, stage
from grader import submission as submissions
from grader import trace as traces
from grader.checks import REGISTRY, CheckContext, Scoring
from grader.checks.base import NOT_APPLICABLE, NOT_JUDGED, PASSED
from grader.checks.training import accuracy_not_comparable, recorded_accuracy_disagrees
from grader.datasource import DataPaths
from grader.exercise import ExerciseSpec
from grader.result import CheckResult, GradeResult

SCORER_TIME_LIMIT = 300


class SandboxRequired(RuntimeError):
    """--require-sandbox was given and bubblewrap cannot run here."""


@dataclass(frozen=True)
class GradeOptions:
    time_limit: float | None = None
    require_sandbox: bool = False
    keep_run: bool = False
    no_sandbox: bool = False  # force the unsandboxed fallback (debugging, tests)


def grade_file(path: Path, spec: ExerciseSpec, data: DataPaths,
               options: GradeOptions | None = None) -> GradeResult:
    options = options or GradeOptions()
    started = time.monotonic()
    try:
        submission = submissions.load(path)
    except submissions.SubmissionError as exc:
        return error_result(path, spec, str(exc), started)
    use_bubblewrap = sandbox.bubblewrap_works() and not options.no_sandbox
    if not use_bubblewrap and options.require_sandbox:
        raise SandboxRequired("bubblewrap cannot run here and --require-sandbox was given")
    run_dir = Path(tempfile.mkdtemp(prefix="grader-run-"))
    scorer = _start_scorer(spec, data)
    try:
        staged = stage.prepare(run_dir, submission, spec, data, in_sandbox=use_bubblewrap)
        outcome = sandbox.run(run_dir, [sys.executable, "-m", "grader.runner",
                                        staged.config_path], staged.env, staged.workdir,
                              options.time_limit or spec.time_seconds,
                              spec.output_tail_bytes, use_bubblewrap, spec.memory_mb)
        trace = traces.load(run_dir / "artefacts")
        score_started = time.monotonic()
        scoring = _score(scorer, run_dir, trace, spec, data)
        score_seconds = time.monotonic() - score_started
    finally:
        if scorer.poll() is None:
            scorer.kill()
        scorer.wait()
        if not options.keep_run:
            shutil.rmtree(run_dir, ignore_errors=True)
    ctx = CheckContext(trace, scoring, spec, outcome.status, outcome.message,
                       submission.defines_function(spec.entry_function))
    checks = run_rubric(ctx)
    result = GradeResult(
        submission=path.name, student=submission.student, exercise=spec.name,
        status="timeout" if outcome.status == "timeout" else "graded",
        score=round(sum(c.score for c in checks), 2),
        max_score=sum(c.max_score for c in checks), checks=checks,
        metrics=_metrics(ctx), compat_notes=list(trace.compat_notes),
        notes=_notes(ctx, outcome), error=outcome.message or None,
        stdout_tail=outcome.stdout_tail, stderr_tail=outcome.stderr_tail,
        timings={"total": round(time.monotonic() - started, 2),
                 "run": round(outcome.seconds, 2), "score": round(score_seconds, 2)},
        sandbox=outcome.sandbox, submission_sha256=submission.sha256,
        grader_version=__version__, exercise_version=spec.version,
        details=_details(ctx))
    return result


def run_rubric(ctx: CheckContext) -> list[CheckResult]:
    results = []
    for item in ctx.spec.rubric:
        info = REGISTRY[item.id]
        verdict = info.function(ctx, item.params)
        applicable = verdict.status != NOT_APPLICABLE
        results.append(CheckResult(
            id=item.id, title=item.title or info.title, status=verdict.status,
            passed=None if verdict.status in (NOT_JUDGED, NOT_APPLICABLE)
            else verdict.status == PASSED,
            score=round(item.points * verdict.fraction, 2) if applicable else 0.0,
            max_score=item.points if applicable else 0.0,
            message=verdict.message, hint=verdict.hint))
    return results


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
        return 1.0  # image_dataset_from_directory: any rescaling is inside the model
    return 1 / 255


def _copy_no_follow(source: Path, target: Path) -> bool:
    """Copy an artefact without following a symlink the run may have planted."""
    try:
        descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(descriptor, "rb") as reader, open(target, "wb") as writer:
        shutil.copyfileobj(reader, writer)
    return True


def _start_scorer(spec: ExerciseSpec, data: DataPaths) -> subprocess.Popen[bytes]:
    """The trusted scorer, started now so its TensorFlow import and the decoding of the
    hidden and training images overlap the run."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "TF_NUM_INTRAOP_THREADS": str(spec.intra_op_threads),
           "TF_NUM_INTEROP_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "grader.scoring", "--serve-one",
                             str(data.hidden_dir), str(data.train_zip), ",".join(spec.classes)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)


def _score(scorer: subprocess.Popen[bytes], run_dir: Path, trace: traces.Trace,
           spec: ExerciseSpec, data: DataPaths) -> Scoring:
    with tempfile.TemporaryDirectory(prefix="grader-score-") as scratch:
        model = Path(scratch) / "model.keras"
        if not _copy_no_follow(run_dir / "artefacts" / "model.keras", model):
            return Scoring(model_error=trace.model_error or "no saved model")
        out = Path(scratch) / "scoring.json"
        request = ["--model", str(model), "--hidden", str(data.hidden_dir),
                   "--train-zip", str(data.train_zip), "--classes", ",".join(spec.classes),
                   "--rescale", repr(_rescale_for_scoring(trace)), "--out", str(out)]
        try:
            _, stderr = scorer.communicate(json.dumps(request).encode() + b"\n",
                                           timeout=SCORER_TIME_LIMIT)
        except subprocess.TimeoutExpired:
            return Scoring(model_error="the grader's scorer timed out on this model")
        if scorer.returncode != 0 or not out.exists():
            last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            return Scoring(model_error=f"the grader's scorer failed: {last[0][:300]}")
        return Scoring.from_json(json.loads(out.read_text()))


def _metrics(ctx: CheckContext) -> dict[str, object]:
    fit = ctx.trace.training_fit
    accuracies = [e.accuracy for e in fit.epochs] if fit else []
    threshold = ctx.spec.accuracy_threshold
    compile_call = ctx.trace.compiles[-1] if ctx.trace.compiles else None
    return {
        "hidden_accuracy": ctx.scoring.hidden_accuracy,
        "train_accuracy_recomputed": ctx.scoring.train_accuracy,
        "train_accuracy_recorded": accuracies[-1] if accuracies else None,
        "train_accuracy_consistent": recorded_accuracy_disagrees(ctx) is None,
        "epochs_run": len(fit.epochs) if fit else 0,
        "epochs_requested": fit.epochs_requested if fit else None,
        "epochs_limit": ctx.spec.epoch_limit,
        "first_epoch_above_threshold": next((i + 1 for i, a in enumerate(accuracies)
                                             if a is not None and a > threshold), None),
        "stopped_by_callback": fit.stopped_by if fit else None,
        "stop_epoch": fit.stopped_at_epoch if fit and fit.stopped_by else None,
        "optimizer": compile_call.optimizer if compile_call else None,
        "learning_rate": compile_call.learning_rate if compile_call else None,
        "total_params": ctx.scoring.total_params,
    }


def _notes(ctx: CheckContext, outcome: sandbox.RunOutcome) -> list[str]:
    notes = []
    if outcome.memory_limit == "none" and ctx.spec.memory_mb:
        notes.append(f"the {ctx.spec.memory_mb} MB memory limit was not enforced: no memory "
                     "cgroup could be created here")
    if outcome.sandbox == "none":
        notes.append("ran WITHOUT a sandbox (bubblewrap unavailable): /tmp paths were "
                     "remapped into the run folder")
    notes += [f"trace: {p}" for p in ctx.trace.problems]
    for note in (recorded_accuracy_disagrees(ctx), accuracy_not_comparable(ctx)):
        if note:
            notes.append(note)
    if ctx.scoring.model_error and ctx.trace.model_saved:
        notes.append(ctx.scoring.model_error)
    return notes


def _details(ctx: CheckContext) -> dict[str, object]:
    fit = ctx.trace.training_fit
    flow = ctx.trace.training_flow
    generator = ctx.trace.generator_of(flow)
    return {
        "layers": [vars(layer) for layer in ctx.scoring.layers],
        "input_shape": ctx.scoring.input_shape,
        "epochs": [{"epoch": e.epoch, **e.logs} for e in fit.epochs] if fit else [],
        "flow": vars(flow) if flow else None,
        "generator": vars(generator) if generator else None,
        "compile": vars(ctx.trace.compiles[-1]) if ctx.trace.compiles else None,
        "callback_tests": [vars(t) for t in ctx.trace.callback_tests],
        "execution": vars(ctx.trace.execution),
        "hidden_confusion": ctx.scoring.hidden_confusion,
        "hidden_misclassified": list(ctx.scoring.hidden_misclassified),
        "evaluated_at": dict(ctx.scoring.evaluated_at),
    }


def error_result(path: Path, spec: ExerciseSpec, reason: str, started: float) -> GradeResult:
    checks = [CheckResult(id=item.id, title=item.title or REGISTRY[item.id].title,
                          status=NOT_JUDGED, passed=None, score=0.0, max_score=item.points,
                          message=f"not judged: {reason}") for item in spec.rubric]
    return GradeResult(submission=path.name, student=path.stem, exercise=spec.name,
                       status="error", score=0.0, max_score=spec.max_score, checks=checks,
                       error=reason, timings={"total": round(time.monotonic() - started, 2)},
                       grader_version=__version__, exercise_version=spec.version)
