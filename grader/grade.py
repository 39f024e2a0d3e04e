"""Grade one submission end to end: load → stage → sandboxed run → trusted scoring → checks.

This is the file to read to follow a submission from file to result. It is all trusted
code: it never imports or executes student code, and reads the run's artefacts only
through grader.trace and a no-follow copy of the saved model.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from grader import __version__, detect, sandbox, scoring_service, stage
from grader import submission as submissions
from grader import trace as traces
from grader.checks import REGISTRY, CheckContext, Scoring
from grader.checks.base import NOT_APPLICABLE, NOT_JUDGED, PASSED
from grader.checks.training import accuracy_not_comparable, recorded_accuracy_disagrees
from grader.checks.validation import overfitting_note
from grader.datasource import DataPaths
from grader.exercise import ExerciseSpec
from grader.result import CheckResult, GradeResult

SCORER_TIME_LIMIT = 300
MAX_MODEL_COPY_BYTES = 512 * 1024 * 1024 + 1  # grader.scoring refuses anything larger


class SandboxRequired(RuntimeError):
    """--require-sandbox was given and bubblewrap cannot run here."""


@dataclass(frozen=True)
class GradeOptions:
    time_limit: float | None = None
    require_sandbox: bool = False
    keep_run: bool = False
    no_sandbox: bool = False  # force the unsandboxed fallback (debugging, tests)
    scorer_socket: str | None = None  # a batch's shared scorer (scoring_service.py)
    notebook_executor: str = "shell"  # or "kernel": a Jupyter kernel, for kernel features


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
    sigterm = _SigtermGuard.install()
    run_dir = Path(tempfile.mkdtemp(prefix="grader-run-"))
    scorer = None if options.scorer_socket else _start_scorer(spec, data)
    try:
        staged = stage.prepare(run_dir, submission, spec, data, in_sandbox=use_bubblewrap,
                               notebook_executor=options.notebook_executor)
        outcome = sandbox.run(run_dir, [sys.executable, "-m", "grader.runner",
                                        staged.config_path], staged.env, staged.workdir,
                              options.time_limit or spec.time_seconds,
                              spec.output_tail_bytes, use_bubblewrap, spec.memory_mb,
                              limits=sandbox.RunLimits(spec.max_processes, spec.file_size_mb,
                                                       spec.disk_mb))
        trace = traces.load(run_dir / "artefacts")
        score_started = time.monotonic()
        scoring = _score(scorer, run_dir, trace, spec, data, options.scorer_socket)
        score_seconds = time.monotonic() - score_started
    finally:
        if scorer is not None and scorer.poll() is None:
            scorer.kill()
        if scorer is not None:
            scorer.wait()
        if not options.keep_run or sigterm.fired:
            shutil.rmtree(run_dir, ignore_errors=True)
        sigterm.close()
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
    version = detect.course_version(spec, detect.code_of(path))
    result.metrics["course_version"] = version
    if version:
        result.notes.insert(0, f"course version: {version} (recognised from the code)")
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
    budget = MAX_MODEL_COPY_BYTES
    with os.fdopen(descriptor, "rb") as reader, open(target, "wb") as writer:
        while budget > 0 and (chunk := reader.read(min(budget, 1 << 20))):
            writer.write(chunk)
            budget -= len(chunk)
    return True


class GraderTerminated(SystemExit):
    """SIGTERM arrived during a run: unwinds through grade_file's cleanup, exits 143."""


class _SigtermGuard:
    """While a submission is graded in the main thread, SIGTERM raises GraderTerminated
    so the `finally` blocks kill the sandbox and the scorer and remove the run folder;
    after the cleanup one line says what happened. A second SIGTERM is ignored meanwhile."""

    def __init__(self, previous: object) -> None:
        self.previous = previous
        self.fired = False

    @classmethod
    def install(cls) -> _SigtermGuard:
        if threading.current_thread() is not threading.main_thread():
            return cls(None)
        guard = cls(signal.getsignal(signal.SIGTERM))

        def handler(signum: int, frame: object) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            guard.fired = True
            raise GraderTerminated(128 + signal.SIGTERM)

        signal.signal(signal.SIGTERM, handler)
        return guard

    def close(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)  # type: ignore[arg-type]
        if self.fired:
            print("grader: terminated (SIGTERM): the run was stopped and its folder "
                  "removed; results already written are kept", file=sys.stderr, flush=True)


def _start_scorer(spec: ExerciseSpec, data: DataPaths) -> subprocess.Popen[bytes]:
    """The trusted scorer, started now so its TensorFlow import and the decoding of the
    hidden and training images overlap the run."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
           "TF_NUM_INTRAOP_THREADS": str(spec.intra_op_threads),
           "TF_NUM_INTEROP_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "grader.scoring", "--serve-one",
                             str(data.hidden_dir), str(data.train_zip), ",".join(spec.classes)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env, preexec_fn=sandbox.die_with_parent)


def _score(scorer: subprocess.Popen[bytes] | None, run_dir: Path, trace: traces.Trace,
           spec: ExerciseSpec, data: DataPaths, socket_path: str | None = None) -> Scoring:
    with tempfile.TemporaryDirectory(prefix="grader-score-") as scratch:
        model = Path(scratch) / "model.keras"
        if not _copy_no_follow(run_dir / "artefacts" / "model.keras", model):
            return Scoring(model_error=trace.model_error or "no saved model")
        out = Path(scratch) / "scoring.json"
        request = ["--model", str(model), "--hidden", str(data.hidden_dir),
                   "--train-zip", str(data.train_zip), "--classes", ",".join(spec.classes),
                   "--rescale", repr(_rescale_for_scoring(trace)), "--out", str(out)]
        outside = _rescale_outside_model(trace)
        if outside is not None:
            request += ["--rescale-if-model-has-none", repr(outside)]
        if socket_path:
            answer = scoring_service.request(socket_path, request, SCORER_TIME_LIMIT)
            if answer is not None:
                code, error = answer
                if code != 0 or not out.exists():
                    return Scoring(model_error=f"the grader's scorer failed: {error[:300]}")
                return Scoring.from_json(json.loads(out.read_text()))
            alone = _start_scorer(spec, data)  # the shared scorer is gone: score alone
            try:
                return _score(alone, run_dir, trace, spec, data)
            finally:
                if alone.poll() is None:
                    alone.kill()
                alone.wait()
        assert scorer is not None
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
    for note in (recorded_accuracy_disagrees(ctx), accuracy_not_comparable(ctx),
                 overfitting_note(ctx)):
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
