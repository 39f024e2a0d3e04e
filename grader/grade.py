"""Grade one submission: load → stage → sandboxed run → trusted scoring → checks → result.

This is the file to read to follow a submission from file to result; each step is one
call into the package that owns it (grader.submission, grader.run, grader.scoring,
grader.checks, grader.results). It is all trusted code: it never imports or executes
student code, and reads the run's artefacts only through grader.run.trace and the
scorer's no-follow copy of the saved model.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader import __version__
from grader import submission as submissions
from grader.checks import REGISTRY, CheckContext, callback_sequences
from grader.checks.base import NOT_APPLICABLE, NOT_JUDGED, NOT_TRUSTED_STATUS, PASSED, Verdict
from grader.checks.training import recorded_accuracy_disagrees
from grader.errors import SandboxRequired, SubmissionError
from grader.evidence import NOT_TRUSTED, Evidence, Trust, callback_source
from grader.evidence.gather import gather, observe
from grader.exercise import detect
from grader.exercise import spec as specs
from grader.exercise.datasource import DataPaths
from grader.exercise.secret import derive
from grader.exercise.spec import ExerciseSpec
from grader.files import remove_tree
from grader.processes import SigtermGuard
from grader.results.result import CheckResult, GradeResult
from grader.run import callback_test, sandbox, stage, warm
from grader.run import trace as traces
from grader.run.events import EventReader, Replay
from grader.run.reads import ImageReads, Reads
from grader.runner.contract import EVENTS_FD_ENV, MODEL_FILE
from grader.scoring import client as scorer


@dataclass(frozen=True)
class GradeOptions:
    time_limit: float | None = None
    # Without bubblewrap a submission runs as a plain process that can read the hidden
    # images, the course secret and other students' work: refused unless no_sandbox says
    # so explicitly. Only `grader grade`/`check` (one's own work) set it False: see
    # sandbox_in_use.
    require_sandbox: bool = True
    keep_run: bool = False
    no_sandbox: bool = False  # explicitly run unsandboxed (debugging, tests, no bubblewrap)
    scorer_socket: str | None = None  # a batch's shared scorer (grader.scoring.service)
    notebook_executor: str = "shell"  # or "kernel": a Jupyter kernel, for kernel features
    cold: bool = False  # start Python for every run, as before warm runs (grader.run.warm)


def load_exercise(name_or_path: str | Path, *, train: Path | None = None,
                  hidden: Path | None = None) -> ExerciseSpec:
    """An exercise spec whose rubric names only checks this grader has."""
    return specs.load(name_or_path, train=train, hidden=hidden, known_checks=REGISTRY)


NO_SANDBOX_REFUSAL = ("bubblewrap cannot run here, so submissions would run WITHOUT a "
                      "sandbox; `grader doctor` says why; give --no-sandbox to grade "
                      "unsandboxed anyway")


def sandbox_in_use(options: GradeOptions) -> bool:
    """Whether runs go through bubblewrap. Raises SandboxRequired when it cannot run and
    running without it was not asked for: the one place the sandbox policy is decided,
    called by grade_file and, before anything is graded, by the commands."""
    if options.no_sandbox:
        return False
    if sandbox.bubblewrap_works():
        return True
    if options.require_sandbox:
        raise SandboxRequired(NO_SANDBOX_REFUSAL)
    return False


def grade_file(path: Path, spec: ExerciseSpec, data: DataPaths,
               options: GradeOptions | None = None) -> GradeResult:
    options = options or GradeOptions()
    started = time.monotonic()
    try:
        submission = submissions.load(path)
    except SubmissionError as exc:
        return error_result(path, spec, str(exc), started)
    use_bubblewrap = sandbox_in_use(options)
    epoch_runs = callback_sequences.epoch_runs(
        spec.accuracy_threshold, derive(data.secret, "callback", submission.sha256))
    with SigtermGuard() as sigterm:
        run_dir = Path(tempfile.mkdtemp(prefix="grader-run-"))
        one_off = None if options.scorer_socket else scorer.start_scorer(spec, data)
        try:
            staged = stage.prepare(run_dir, submission, spec, data, in_sandbox=use_bubblewrap,
                                   notebook_executor=options.notebook_executor)
            stage_seconds = time.monotonic() - started
            limits = sandbox.RunLimits.of(spec, options.time_limit)
            server = None if options.cold or not use_bubblewrap \
                else warm.zygote(spec.intra_op_threads)
            outcome, replay, reads = _run_watched(staged, limits, use_bubblewrap, server)
            trace = traces.load(staged.artefacts, replay)
            # the callback test, in a sandbox of its own, while the model is scored
            tested = callback_test.PendingTest(
                callback_source.to_test(submission.code_cells(), trace),
                [r.as_config() for r in epoch_runs], spec, _input_shape(spec),
                use_bubblewrap, staged.artefacts / MODEL_FILE, server)
            score_started = time.monotonic()
            # the order the hidden images are batched in is secret and per submission:
            # a model whose output depends on its batch cannot be tuned to it
            scoring = scorer.score(one_off, staged.artefacts, trace, spec, data,
                                   options.scorer_socket,
                                   seed=derive(data.secret, "scorer-order", submission.sha256))
            score_seconds = time.monotonic() - score_started
            callback_tests = tested.result()
            callback_wait = time.monotonic() - score_started - score_seconds
            evidence = gather(observe(trace, replay, reads, submission, scoring, spec, data,
                                      outcome.status, staged, callback_tests))
        finally:
            scorer.stop_scorer(one_off)
            if not options.keep_run or sigterm.fired:
                remove_tree(run_dir)
    checks_started = time.monotonic()
    ctx = CheckContext(trace, scoring, spec, outcome.status, outcome.message,
                       submission.defines_function(spec.entry_function), epoch_runs,
                       callback_tests)
    checks, check_notes = run_rubric(ctx, evidence)
    version = detect.course_version(spec, submission.code())
    result = GradeResult(
        submission=submission.name, student=submission.student, exercise=spec.name,
        status="timeout" if outcome.status == "timeout" else "graded",
        score=round(sum(c.score for c in checks), 2),
        max_score=sum(c.max_score for c in checks), checks=checks,
        metrics={**_metrics(ctx), "course_version": version},
        compat_notes=list(trace.compat_notes),
        notes=([f"course version: {version} (recognised from the code)"] if version else [])
        + _run_notes(ctx, outcome) + check_notes,
        error=outcome.message or None,
        stdout_tail=outcome.stdout_tail, stderr_tail=outcome.stderr_tail,
        timings={"total": round(time.monotonic() - started, 2),
                 "stage": round(stage_seconds, 2),
                 # the run's start-up until the runner's first record arrived (a cold run
                 # starts Python and imports TensorFlow; a warm one is forked); -1: none came
                 "start_up": round(replay.events[0].at, 2) if replay.events else -1.0,
                 "run": round(outcome.seconds, 2), "run_cpu": outcome.cpu_seconds,
                 "score": round(score_seconds, 2),
                 # the callback test still running once the model was scored
                 "callback_wait": round(callback_wait, 2),
                 "checks": round(time.monotonic() - checks_started, 2)},
        sandbox=outcome.sandbox, submission_sha256=submission.sha256,
        grader_version=__version__, exercise_version=spec.version,
        review=evidence.review,
        details={**_details(ctx), "limits": _limits_used(limits, outcome),
                 "run_start": outcome.start,
                 "evidence": {"claims": {c: vars(t) for c, t in evidence.claims.items()},
                              **evidence.facts}})
    return result


def _input_shape(spec: ExerciseSpec) -> tuple[int, ...]:
    """The model input the exercise asks for (its input_shape check), for the model the
    callback test trains."""
    for item in spec.rubric:
        if item.id == "input_shape" and item.params.get("expected"):
            return tuple(int(v) for v in item.params["expected"])
    return (150, 150, 3)


def _run_watched(staged: stage.StagedRun, limits: sandbox.RunLimits, use_bubblewrap: bool,
                 server: warm.Zygote | None) -> tuple[sandbox.RunOutcome, Replay, Reads]:
    """The sandboxed run, watched from outside: its event stream read as it arrives
    (grader.run.events) and every image it reads seen by inotify (grader.run.reads), on
    one clock."""
    clock = time.monotonic()
    stream, watcher = EventReader(clock), ImageReads(staged.run_dir, clock)
    events_fd = stream.start()
    watcher.start()
    try:
        outcome = sandbox.run(staged.run_dir, [sys.executable, "-m", "grader.runner",
                                               staged.config_path],
                              {**staged.env, EVENTS_FD_ENV: str(events_fd)}, staged.workdir,
                              limits, use_bubblewrap, pass_fds=(events_fd,), warm=server)
    finally:
        stream.close_write_end()
        reads = watcher.stop()
    return outcome, stream.finish(), reads


def run_rubric(ctx: CheckContext,
               evidence: Evidence | None = None) -> tuple[list[CheckResult], list[str]]:
    """Each rubric item's verdict as points, weighed by how far the evidence it rests on
    can be trusted (grader.evidence), and the notes the checks made on the way."""
    results, notes = [], []
    for item in ctx.spec.rubric:
        info = REGISTRY[item.id]
        verdict = info.function(ctx, item.params)
        trust = evidence.trust(info.claims) if evidence is not None else None
        results.append(_weighed(item.id, item.title or info.title, item.points, verdict,
                                trust))
        notes += [note for note in verdict.notes if note not in notes]
    return results, notes


def _weighed(check_id: str, title: str, points: float, verdict: Verdict,
             trust: Trust | None) -> CheckResult:
    """A verdict as points; a verdict that awarded points on evidence the trusted side
    found contradicted scores 0, says why and keeps what the check had found."""
    applicable = verdict.status != NOT_APPLICABLE
    judged = trust is not None and verdict.status not in (NOT_APPLICABLE, NOT_JUDGED)
    status, message = verdict.status, verdict.message
    if trust is not None and trust.level == NOT_TRUSTED and verdict.fraction > 0:
        status, message = NOT_TRUSTED_STATUS, (f"not trusted: {trust.reason} (the run "
                                               f"reported: {verdict.message})")
    return CheckResult(
        id=check_id, title=title, status=status,
        passed=None if status in (NOT_JUDGED, NOT_APPLICABLE) else status == PASSED,
        score=round(points * verdict.fraction, 2) if applicable
        and status != NOT_TRUSTED_STATUS else 0.0,
        max_score=points if applicable else 0.0, message=message,
        hint=verdict.hint if status != NOT_TRUSTED_STATUS else
        "the grader saw evidence against what the run reported; an instructor will look",
        found=verdict.found, expected=verdict.expected,
        trust=trust.level if judged else "", evidence=trust.reason if judged else "")


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
        "accuracy_threshold": threshold,
        "first_epoch_above_threshold": next((i + 1 for i, a in enumerate(accuracies)
                                             if a is not None and a > threshold), None),
        "stopped_by_callback": fit.stopped_by if fit else None,
        "stop_epoch": fit.stopped_at_epoch if fit and fit.stopped_by else None,
        "optimizer": compile_call.optimizer if compile_call else None,
        "learning_rate": compile_call.learning_rate if compile_call else None,
        "total_params": ctx.scoring.total_params,
    }


def _run_notes(ctx: CheckContext, outcome: sandbox.RunOutcome) -> list[str]:
    """What the run itself tells the reader of the result: how it was isolated, what its
    trace could not say, why the model could not be scored, what the scorer flagged."""
    notes = []
    if outcome.memory_limit == "none" and ctx.spec.memory_mb:
        notes.append(f"the {ctx.spec.memory_mb} MB memory limit was not enforced: no memory "
                     "cgroup could be created here")
    if outcome.sandbox == "none":
        notes.append("ran WITHOUT a sandbox (bubblewrap unavailable): /tmp paths were "
                     "remapped into the run folder")
    notes += [f"trace: {p}" for p in ctx.trace.problems]
    if ctx.scoring.model_error and ctx.trace.model_saved:
        notes.append(ctx.scoring.model_error)
    notes += [n for n in ctx.scoring.notes if n not in notes]
    return notes


def _details(ctx: CheckContext) -> dict[str, object]:
    fit = ctx.trace.training_fit
    flow = ctx.trace.training_flow
    generator = ctx.trace.generator_of(flow)
    return {
        "exercise_title": ctx.spec.title,
        "classes": list(ctx.spec.classes),
        "layers": [vars(layer) for layer in ctx.scoring.layers],
        "input_shape": ctx.scoring.input_shape,
        "epochs": [{"epoch": e.epoch, **e.logs} for e in fit.epochs] if fit else [],
        "flow": vars(flow) if flow else None,
        "generator": vars(generator) if generator else None,
        "compile": vars(ctx.trace.compiles[-1]) if ctx.trace.compiles else None,
        "callback_tests": [vars(t) for t in ctx.callback_tests.tests],
        "callback_test_model": ctx.callback_tests.model,
        "execution": vars(ctx.trace.execution),
        "hidden_confusion": ctx.scoring.hidden_confusion,
        "hidden_misclassified": list(ctx.scoring.hidden_misclassified),
        "evaluated_at": dict(ctx.scoring.evaluated_at),
        # the scorer's mixed-order batches against images scored alone (grader.scoring)
        "batch_check": {"batch_dependent": ctx.scoring.batch_dependent,
                        **dict(ctx.scoring.batch_check)},
        "scorer_memory_limit": ctx.scoring.memory_limit,
    }


def _limits_used(limits: sandbox.RunLimits, outcome: sandbox.RunOutcome) -> dict[str, object]:
    """The limits this run actually had (an instructor's --time-limit included; memory as
    enforced, or "none" where no cgroup could be made)."""
    return {"time_seconds": limits.time_seconds, "time_clock": outcome.time_limit or None,
            "memory": outcome.memory_limit,
            "max_processes": limits.max_processes, "disk_mb": limits.disk_mb,
            "output_tail_bytes": limits.output_tail_bytes}


def error_result(path: Path, spec: ExerciseSpec, reason: str, started: float,
                 student: str | None = None) -> GradeResult:
    """A submission that could not be graded at all: every check not judged, one reason."""
    checks = [CheckResult(id=item.id, title=item.title or REGISTRY[item.id].title,
                          status=NOT_JUDGED, passed=None, score=0.0, max_score=item.points,
                          message=f"not judged: {reason}") for item in spec.rubric]
    return GradeResult(submission=submissions.display_name(path.name),
                       student=student or submissions.student_id(path.stem),
                       exercise=spec.name, status="error", score=0.0,
                       max_score=spec.max_score, checks=checks, error=reason,
                       timings={"total": round(time.monotonic() - started, 2)},
                       grader_version=__version__, exercise_version=spec.version)
