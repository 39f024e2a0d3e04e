"""Do the settings the run reports agree with the code, and with what it really read?

The run reports how the data were read (generator, flow, dataset), the loss it compiled
with, the graded function and the callback. Each is compared with what the submitted
code says (grader.evidence.source): a value the code sets corroborates the report; a
value the code never sets — when the code reveals all it sets — contradicts it; code the
reading cannot follow asks for review. The training directory is also compared with the
folder the kernel saw the training images read from.
"""

from __future__ import annotations

import math
from typing import Any

from grader.evidence import CORROBORATED, NOT_TRUSTED, REVIEW, Trust
from grader.evidence.observed import Observed, count_between
from grader.evidence.outside import outside_training
from grader.evidence.source import Values
from grader.evidence.training import described_x
from grader.run.trace import FlowCall


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(tuple(value) if isinstance(value, list) else value)


def agreement(what: str, reported: Any, values: Values, call: str) -> Trust | None:
    """None when the code sets `reported`; otherwise why not."""
    admitted = values.admits(reported)
    if admitted:
        return None
    if admitted is None:
        return Trust(REVIEW, f"the code computes {what} in a way the grader cannot read, "
                             f"so the reported {_shown(reported)} is not corroborated")
    sets = ", ".join(sorted(_shown(v) for v in values.known)) or "nothing"
    return Trust(NOT_TRUSTED, f"the run reports {what}={_shown(reported)}, which the code "
                              f"never passes to {call} (it passes {sets})")


def _first(*verdicts: Trust | None, corroborated: str) -> Trust:
    found = [v for v in verdicts if v is not None]
    bad = [v for v in found if v.level == NOT_TRUSTED]
    return bad[0] if bad else found[0] if found else Trust(CORROBORATED, corroborated)


def consumed(o: Observed, judged: FlowCall) -> Trust | None:
    """None when the graded fit trained on the judged flow; otherwise why the flow's
    settings are not what produced the model (a decoy flow_from_directory made with the
    rubric's arguments, never iterated, while the fit trained on something else)."""
    fit = o.trace.training_fit
    if fit is None or fit.train_flow_id == judged.id:
        return None  # no fit: nothing trained, the flow is all there is to judge
    shown = f"flow_from_directory({judged.directory!r})"
    if fit.train_flow_id is not None:
        return Trust(REVIEW, f"the graded fit trained on another flow (id "
                             f"{fit.train_flow_id}) than the {shown} judged")
    return Trust(REVIEW, f"the graded fit trained on {described_x(fit)}, not on the {shown} "
                         "judged: that flow's settings are not shown to have produced the "
                         "model")


def generator(o: Observed) -> Trust:
    judged = o.trace.training_flow
    made = o.trace.generator_of(judged)
    if made is None or judged is None:
        return Trust(CORROBORATED, "no ImageDataGenerator was recorded")
    values = o.facts.values("ImageDataGenerator", "rescale")
    return _first(*(agreement("rescale", r, values, "ImageDataGenerator")
                    for r in made.applied_rescales), consumed(o, judged),
                  corroborated="the code passes this rescale to ImageDataGenerator")


def flow(o: Observed) -> Trust:
    made = o.trace.training_flow
    if made is None:
        return Trust(CORROBORATED, "no flow_from_directory call was recorded")
    target = agreement("target_size", made.target_size,
                       o.facts.values("flow_from_directory", "target_size"),
                       "flow_from_directory")
    mode = agreement("class_mode", made.class_mode,
                     o.facts.values("flow_from_directory", "class_mode"),
                     "flow_from_directory")
    return _first(target, mode, _directory(o, made.directory), consumed(o, made),
                  corroborated="the code passes these arguments to flow_from_directory, "
                               "and the training images were read from that folder")


def _directory(o: Observed, directory: str | None) -> Trust | None:
    fit = o.trace.training_fit
    if fit is None or not fit.epochs or not o.replay.received or not o.reads.available:
        return None
    start, ends, _ = o.fit_times(fit)
    if start is None or not ends:
        return None
    everywhere = count_between(o.read_times(o.train_names), start, ends[-1])
    folder = o.run_relative(directory)
    if everywhere == 0:
        return None  # the training rule says what missing reads mean
    if folder is None:
        return Trust(REVIEW, f"the reported directory {directory!r} is outside the run "
                             "folder, so the reads cannot confirm it")
    inside = count_between(o.read_times(o.train_names, folder), start, ends[-1])
    if inside == 0 and not o.reads.complete:
        return Trust(REVIEW, f"no training image was seen read from the reported directory "
                             f"{directory!r}, but the grader's watch of the reads was "
                             "incomplete (" + "; ".join(o.reads.problems) + ")")
    if inside == 0:
        return Trust(NOT_TRUSTED, f"the training read its images from elsewhere, never "
                                  f"from the reported directory {directory!r}")
    return None


def compile_call(o: Observed) -> Trust:
    """The loss judged is the one the saved model was compiled with where the scorer could
    read it (the compile that produced the graded model, not the last compile call of
    whatever model), else the last compile call's; the code must pass it."""
    saved = o.scoring.saved_loss
    if saved is None and not o.trace.compiles:
        return Trust(CORROBORATED, "no compile call was recorded")
    loss: Any = (saved if isinstance(saved, str) else list(saved)) if saved is not None \
        else o.trace.compiles[-1].loss
    values = o.facts.values("compile", "loss")
    names = [loss] if not isinstance(loss, list) else loss
    canonical = Values(frozenset(_loss_name(v) for v in values.known), values.unknown)
    return _first(*(agreement("loss", _loss_name(n), canonical, "compile") for n in names),
                  corroborated="the saved model was compiled with this loss, and the code "
                               "passes it" if saved is not None
                  else "the code compiles with this loss")


def _loss_name(value: Any) -> Any:
    """binary_crossentropy, BinaryCrossentropy and 'binarycrossentropy' are one loss."""
    return str(value).replace("_", "").lower() if isinstance(value, str) else value


def dataset(o: Observed) -> Trust:
    made = [d for d in o.trace.datasets if isinstance(d, dict) and not d.get("error")]
    if not made and not o.trace.rescalings:
        return Trust(CORROBORATED, "no image_dataset_from_directory call was recorded")
    verdicts: list[Trust | None] = []
    if made:
        size = made[-1].get("image_size")
        verdicts += [agreement("image_size", size, o.facts.values(
            "image_dataset_from_directory", "image_size"), "image_dataset_from_directory"),
                     agreement("label_mode", made[-1].get("label_mode"), o.facts.values(
                         "image_dataset_from_directory", "label_mode"),
                               "image_dataset_from_directory")]
    verdicts += [agreement("scale", s, o.facts.values("Rescaling", "scale"), "Rescaling")
                 for s in o.trace.rescalings if isinstance(s, float) and math.isfinite(s)]
    return _first(*verdicts, corroborated="the code makes its dataset with these arguments")


def validation(o: Observed) -> Trust:
    made = o.trace.validation_flow
    if made is None:
        return Trust(CORROBORATED, "no validation generator was recorded")
    settings = flow_like(o, made.target_size, made.class_mode)
    fit = o.trace.training_fit
    if fit is not None and fit.epochs and o.replay.received and o.reads.available:
        start, ends, _ = o.fit_times(fit)
        if start is not None and ends and count_between(
                o.read_times(o.validation_names), start, ends[-1]) == 0:
            return Trust(REVIEW, "no validation image was seen read during training")
    return _first(settings, corroborated="the code passes these arguments to "
                                         "flow_from_directory, and the validation images "
                                         "were read during training")


def flow_like(o: Observed, target: Any, mode: Any) -> Trust | None:
    """The first disagreement of a flow's target_size and class_mode with the code."""
    found = [agreement(what, value, o.facts.values("flow_from_directory", what),
                       "flow_from_directory")
             for what, value in (("target_size", target), ("class_mode", mode))]
    return next((v for v in found if v is not None), None)


def callback(o: Observed) -> Trust:
    """The callback's own claim, no better than the training it judged (training outside
    the graded fit is training no stop of its callback bounded), and for review when the
    grader could not test the callback apart from the run: it is blind to it."""
    own = _callback(o)
    extra = outside_training(o)
    own = own if extra is None else own.worse(extra)
    fit = o.trace.training_fit
    if o.callback_tests is None or fit is None or not fit.callbacks or fit.callback_error:
        return own
    why = o.callback_tests.untested(fit.callbacks)
    return own.worse(Trust(REVIEW, why)) if why else own


def _callback(o: Observed) -> Trust:
    fit = o.trace.training_fit
    if fit is None or not fit.callbacks:
        return Trust(CORROBORATED, "no callback was recorded")
    defined = [name for name in fit.callbacks if name in o.facts.callback_classes]
    if defined:
        return Trust(CORROBORATED, f"the code defines {defined[0]}, whose on_epoch_end sets "
                                   "stop_training, and the grader's own secret runs of "
                                   "epochs were played to it")
    return Trust(REVIEW, f"the callback the run reports ({', '.join(fit.callbacks)}) is not "
                         "a class of the code whose on_epoch_end sets stop_training")


def entry(o: Observed) -> Trust:
    point, name = o.trace.entry_point, o.spec.entry_function
    if point is None or not name:
        return Trust(CORROBORATED, "no graded function was recorded")
    if name not in o.facts.returns:
        return Trust(NOT_TRUSTED, f"the run reports {name}(), which the code does not "
                                  "define")
    if any("history" in text or "fit(" in text for text in o.facts.returns[name]):
        return Trust(CORROBORATED, f"the code's {name}() returns from the training history")
    return Trust(REVIEW, f"what the code's {name}() returns could not be read as the "
                         "training history")
