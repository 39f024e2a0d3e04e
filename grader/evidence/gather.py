"""All the evidence of one run, claim by claim, from what the trusted side observed.

First the signs that the evidence itself was tampered with — the code naming the grader's
machinery, the run rewriting what it had already sent, junk on the event stream, a
trace.json on disk that says what the run never sent. Any of them and nothing that rests
on the run's account is trusted. Then code the reading cannot follow (exec, getattr, …)
or that looks for the grader inside the run (the call stack, sys.modules, a callback's
__deepcopy__: grader.evidence.seeking): every claim is kept but sent for review; a metric
of the code's own compiled as 'accuracy' sends the claims resting on the recorded
accuracy (training, callback) to review. Then each claim's own rule (training.py,
settings.py).
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable
from pathlib import Path

from grader.evidence import (
    CALLBACK,
    COMPILE,
    CORROBORATED,
    DATASET,
    ENTRY,
    EXECUTION,
    FLOW,
    GENERATOR,
    MODEL,
    NOT_TRUSTED,
    REVIEW,
    TRAINING,
    VALIDATION,
    Evidence,
    Trust,
    settings,
    source,
    training,
)
from grader.evidence.observed import Observed
from grader.exercise.datasource import DataPaths
from grader.exercise.spec import ExerciseSpec
from grader.run.callback_test import CallbackTestOutcome
from grader.run.events import Replay, is_prefix
from grader.run.reads import IMAGE_SUFFIXES, Reads
from grader.run.stage import StagedRun
from grader.run.trace import Trace, read_files
from grader.runner.contract import EXECUTION_ROOT, TRACE_ROOT
from grader.scoring.types import Scoring
from grader.submission import Submission

RULES: dict[str, Callable[[Observed], Trust]] = {
    TRAINING: training.training, GENERATOR: settings.generator, FLOW: settings.flow,
    COMPILE: settings.compile_call, DATASET: settings.dataset,
    VALIDATION: settings.validation, CALLBACK: settings.callback, ENTRY: settings.entry,
}


def gather(o: Observed) -> Evidence:
    tampered = tampering(o)
    claims: dict[str, Trust] = {EXECUTION: execution(o)}
    for claim, rule in RULES.items():
        claims[claim] = rule(o)
    if o.scoring.batch_dependent:
        # scored image by image already, so no point rests on the batch trick; but a model
        # that reads its neighbours is made to fool a scorer, and a person should see it
        claims[MODEL] = Trust(REVIEW, "the saved model's output for an image depends on the "
                                      "other images in its batch (scored image by image)")
    if tampered:
        # the run's account goes; what the scorer saw of the model is not the run's word
        claims = {claim: trust if claim == MODEL else Trust(NOT_TRUSTED, tampered)
                  for claim, trust in claims.items()}
    else:
        claims = doubted(o, claims)
    return Evidence(claims, facts(o))


def doubted(o: Observed, claims: dict[str, Trust]) -> dict[str, Trust]:
    """The claims after what the source shows that no rule can settle: the code's own
    'accuracy' (training and callback rest on the recorded accuracy), code the reading
    cannot follow, code that looks for the grader. Each keeps its points, at most review;
    a finding is added to a reason already there, so a person sees every one."""
    if o.facts.own_accuracy:
        doubt = Trust(REVIEW, f"{o.facts.own_accuracy[0]}: the recorded accuracy may not "
                              "be Keras's, so the training and the callback's stop are not "
                              "corroborated")
        claims = {claim: _add(trust, doubt) if claim in (TRAINING, CALLBACK) else trust
                  for claim, trust in claims.items()}
    if o.facts.dynamic:
        doubt = Trust(REVIEW, f"the code uses {', '.join(o.facts.dynamic[:3])}, which the "
                              "grader cannot follow: what the run reports is kept but not "
                              "corroborated")
        claims = {claim: trust.worse(doubt) for claim, trust in claims.items()}
    if o.facts.seeking:
        doubt = Trust(REVIEW, f"{'; '.join(o.facts.seeking[:3])}: course code never needs "
                              "this, and it can reach the grader inside the run, so what the "
                              "run reports is kept but not corroborated")
        claims = {claim: _add(trust, doubt) for claim, trust in claims.items()}
    return claims


def _add(trust: Trust, doubt: Trust) -> Trust:
    """`doubt` on a claim: a claim already for review keeps its reason and gains this one;
    one not trusted stays so."""
    if trust.level == REVIEW and doubt.reason not in trust.reason:
        return Trust(REVIEW, f"{trust.reason}; {doubt.reason}")
    return trust.worse(doubt)


def tampering(o: Observed) -> str:
    """Why the run's account as a whole cannot be trusted, or ""."""
    if o.facts.tampering:
        return o.facts.tampering[0] + ": nothing the run recorded is trusted"
    if o.replay.rewrites:
        return (f"the run changed its trace after sending it ({o.replay.rewrites[0]}): "
                "nothing it recorded is trusted")
    if any("not an event" in p or "names no known" in p or "replaces a whole" in p
           for p in o.replay.problems):
        return ("the run wrote lines that are not the grader's events on its event "
                "stream: nothing it recorded is trusted")
    trace_file, execution_file = o.file_state
    if o.replay.received and (
            trace_file and not is_prefix(trace_file, o.replay.root(TRACE_ROOT) or {})
            or execution_file and not is_prefix(execution_file,
                                                o.replay.root(EXECUTION_ROOT) or {})):
        return ("trace.json on disk says what the run never sent as it happened: nothing "
                "it recorded is trusted")
    return ""


def execution(o: Observed) -> Trust:
    ran = o.trace.execution
    if o.run_status != "finished":
        return Trust(CORROBORATED, f"the sandbox saw the run end: {o.run_status}")
    if ran.kind is None:
        return Trust(REVIEW, "the run ended normally but left no record of its cells")
    return Trust(CORROBORATED, "the sandbox saw the run end normally, and its cells were "
                               "reported as they ran")


def facts(o: Observed) -> dict[str, object]:
    """What was observed, for the instructor's report (not used to judge)."""
    fit = o.trace.training_fit
    start, ends, _ = o.fit_times(fit) if fit is not None else (None, [], None)
    return {
        "events": len(o.replay.events), "event_problems": list(o.replay.problems[:5]),
        "rewrites": list(o.replay.rewrites[:5]),
        "image_reads": len(o.reads.opens), "reads_watched": o.reads.available,
        "reads_complete": o.reads.complete,
        "training_reads": len(o.read_times(o.train_names)),
        "fit_started_at": None if start is None else round(start, 2),
        "epochs_ended_at": [round(t, 2) for t in ends],
        "code_tampering": list(o.facts.tampering), "code_dynamic": list(o.facts.dynamic),
        "code_seeking": list(o.facts.seeking),
        "code_own_accuracy": list(o.facts.own_accuracy),
    }


def observe(trace: Trace, replay: Replay, reads: Reads, submission: Submission,
            scoring: Scoring, spec: ExerciseSpec, data: DataPaths, run_status: str,
            staged: StagedRun,
            callback_tests: CallbackTestOutcome | None = None) -> Observed:
    """The record the rules read, assembled at the end of a run (before its folder goes:
    trace.json is read from it)."""
    return Observed(
        trace=trace, replay=replay, reads=reads,
        facts=source.read(submission.code_cells(), notebook=submission.kind == "notebook"),
        scoring=scoring, spec=spec, run_status=run_status,
        file_state=read_files(staged.artefacts, []),
        train_names=image_names(data.train_zip),
        validation_names=image_names(data.validation_zip), run_root=staged.root,
        callback_tests=callback_tests)


def image_names(archive: Path | None) -> frozenset[str]:
    """The file names of the images in a data zip (how a read is told to be of it)."""
    if archive is None:
        return frozenset()
    try:
        with zipfile.ZipFile(archive) as opened:
            return frozenset(posixpath.basename(n) for n in opened.namelist()
                             if n.lower().endswith(IMAGE_SUFFIXES))
    except (OSError, zipfile.BadZipFile):
        return frozenset()
