"""grader.evidence judges what produced the graded model (issue 19): the pipeline the
graded fit consumed, training outside that fit, a collapse after real training, and reads
the grader could not see. Hand-made records (tests/test_evidence.run): each attack next
to the honest case it must leave alone."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from test_evidence import CODE, NAMES, run

from grader.evidence import CORROBORATED, NOT_TRUSTED, REVIEW, settings, training
from grader.evidence.observed import Observed
from grader.run.events import Event, Replay
from grader.run.reads import Reads
from grader.run.trace import Epoch, FitCall, FlowCall, OutsideFit
from grader.scoring.types import Layer


def graded(observed: Observed, **changes: Any) -> Observed:
    """The run with its (only) fit changed."""
    fit = replace(observed.trace.fits[-1], **changes)
    return replace(observed, trace=replace(observed.trace,
                                           fits=(*observed.trace.fits[:-1], fit)))


def with_earlier_fit(observed: Observed, earlier: FitCall) -> Observed:
    """`earlier` ran its epochs before the graded fit (whose events move to index 1)."""
    moved = [Event(e.at, e.op, e.path[:2] + (1,) + e.path[3:]) if e.path[:2] == (
        "trace", "fits") and len(e.path) > 2 else e for e in observed.replay.events]
    events = [moved[0], Event(0.2, "add", ("trace", "fits")),
              *(Event(0.3 + 0.1 * n, "add", ("trace", "fits", 0, "epochs"))
                for n in range(len(earlier.epochs))), *moved[1:]]
    fit = replace(observed.trace.fits[0], id=1)
    return replace(observed, trace=replace(observed.trace, fits=(earlier, fit)),
                   replay=Replay(events=events, received=True))


def epochs(n: int) -> tuple[Epoch, ...]:
    return tuple(Epoch(i + 1, {"accuracy": 0.6}) for i in range(n))


# --- 1. the pipeline the graded fit consumed ------------------------------------------------

def test_a_decoy_flow_the_fit_never_consumed_is_for_review() -> None:
    """A flow_from_directory made with the rubric's arguments, never iterated, while the
    fit trains on arrays: the flow's settings did not produce the model."""
    decoy = graded(run(), train_flow_id=None, x_kind="array")
    for rule in (settings.generator, settings.flow):
        trust = rule(decoy)
        assert trust.level == REVIEW and "trained on an array" in trust.reason
    assert settings.generator(graded(run(), x_kind="flow")).level == CORROBORATED


def test_an_iterator_no_recorded_flow_made_is_for_review() -> None:
    trust = settings.flow(graded(run(), train_flow_id=None, x_kind="flow"))
    assert trust.level == REVIEW and "no recorded flow_from_directory" in trust.reason


def test_the_flow_the_fit_consumed_is_the_one_judged() -> None:
    """issue 20, item 2: a first flow without target_size, then the one the fit uses."""
    code = CODE.replace("gen.flow_from_directory(", 'gen.flow_from_directory("/tmp/h-or-s")\n'
                                                    "    flow = gen.flow_from_directory(")
    first = FlowCall(0, 0, "/tmp/h-or-s", (256, 256), 32, "categorical", 80,
                     {"happy": 0, "sad": 1}, None)
    second = replace(run().trace.flows[0], id=1)
    observed = graded(run(code=code), train_flow_id=1, x_kind="flow")
    observed = replace(observed, trace=replace(observed.trace, flows=(first, second)))
    assert observed.trace.training_flow == second
    assert settings.flow(observed).level == CORROBORATED
    assert settings.generator(observed).level == CORROBORATED


# --- 2. training outside the graded fit -----------------------------------------------------

def test_train_on_batch_after_the_fit_is_for_review() -> None:
    observed = run(outside_fit=(OutsideFit("train_on_batch", 0, None),))
    for rule in (training.training, settings.callback):
        trust = rule(observed)
        assert trust.level == REVIEW
        assert "trained by train_on_batch after fit 0" in trust.reason
    assert training.training(run()).level == CORROBORATED


def test_a_fit_started_from_a_callback_is_for_review() -> None:
    nested = run(outside_fit=(OutsideFit("fit inside a fit", 0, 0),))
    assert "started inside fit 0" in training.training(nested).reason
    trust = training.training(graded(run(), inside_fit=0))
    assert trust.level == REVIEW and "inside fit 0" in trust.reason


def test_an_earlier_fit_of_other_settings_is_for_review() -> None:
    earlier = replace(run().trace.fits[0], epochs=epochs(3), epochs_requested=3,
                      callbacks=(), stopped_by=None, stopped_at_epoch=None)
    trust = training.training(with_earlier_fit(run(), earlier))
    assert trust.level == REVIEW
    assert "an earlier fit (fit 0) trained 3 epoch(s) before the graded one" in trust.reason
    assert settings.callback(with_earlier_fit(run(), earlier)).level == REVIEW


def test_the_training_function_called_twice_is_not_for_review() -> None:
    """issue 20, item 1: the same fit again, in a later cell; the graded fit is the last."""
    again = replace(run().trace.fits[0], epochs=epochs(5))
    observed = with_earlier_fit(run(), again)
    assert observed.trace.training_fit == observed.trace.fits[1]
    assert training.training(observed).level == CORROBORATED


def with_cut_off_repeat(observed: Observed, epochs_done: int = 2,
                        between: int = 0) -> Observed:
    """The training function called again after the run's fit (which ends at 6.0 s): a
    second fit of the same settings starts at 8.0 s, records `epochs_done` one-second
    epochs, reads the images through them and half of the next one, and the run ends
    inside it. `between` images are read between the two fits."""
    first = observed.trace.fits[0]
    again = replace(first, id=1, epochs=epochs(epochs_done), completed=False,
                    stopped_by=None, stopped_at_epoch=None)
    start = 8.0
    events = [*observed.replay.events, Event(start, "add", ("trace", "fits")),
              *(Event(start + n, "add", ("trace", "fits", 1, "epochs"))
                for n in range(1, epochs_done + 1))]
    reads = [(start + 0.1 + i * 0.01, f"tmp/h-or-s/happy/{NAMES[i % 80]}")
             for i in range(80 * epochs_done + 40)]
    reads += [(7.0 + i * 0.005, f"tmp/h-or-s/sad/{NAMES[i % 80]}") for i in range(between)]
    return replace(observed, trace=replace(observed.trace, fits=(first, again)),
                   replay=Replay(events=events, received=True),
                   reads=Reads(opens=tuple(observed.reads.opens) + tuple(reads)),
                   run_status="timeout")


def test_a_repeat_cut_off_by_the_time_limit_leaves_the_first_call_corroborated() -> None:
    """issue 20, item 1: the second call's reads are its own recorded epochs, not hidden
    epochs of the first, and the first call's training is the one judged."""
    observed = with_cut_off_repeat(run())
    assert observed.trace.training_fit == observed.trace.fits[0]
    trust = training.training(observed)
    assert trust.level == CORROBORATED, trust.reason
    assert "until the same training was called again (fit 1)" in trust.reason
    assert "after 2 epoch(s)" in trust.reason


def test_training_between_the_first_call_and_its_repeat_is_still_seen() -> None:
    """Reads after the first call's last epoch and before the repeat started are epochs
    nobody recorded, as without the repeat."""
    trust = training.training(with_cut_off_repeat(run(), between=160))
    assert trust.level == NOT_TRUSTED and "160 more times" in trust.reason


def test_a_cut_off_fit_of_other_settings_is_judged_as_the_last() -> None:
    observed = with_cut_off_repeat(run())
    other = replace(observed.trace.fits[1], epochs_requested=40)
    observed = replace(observed, trace=replace(observed.trace,
                                               fits=(observed.trace.fits[0], other)))
    assert observed.trace.training_fit == other
    assert training.training(observed).level == REVIEW  # the earlier fit, other settings


# --- 3. a collapse after honest training ----------------------------------------------------

def test_a_collapse_after_epochs_seen_reading_is_for_review() -> None:
    trust = training.training(run(measured=0.5))
    assert trust.level == REVIEW and "training was real" in trust.reason


def test_a_collapse_of_a_model_with_batch_normalization_names_the_likely_cause() -> None:
    """batchnorm_collapse.py: BatchNormalization predicts with running averages, which a
    dozen epochs of 8 steps leave unsettled; the instructor's review says so. Without
    such a layer the review names no cause."""
    observed = run(measured=0.5)
    layers = (Layer("Conv2D", "conv2d", None, 16, "relu", None, 448),
              Layer("BatchNormalization", "batch_normalization", None, None, None, None, 64))
    with_norm = replace(observed, scoring=replace(observed.scoring, layers=layers))
    trust = training.training(with_norm)
    assert trust.level == REVIEW
    assert trust.reason.endswith("its BatchNormalization layers are the likely cause (they "
                                 "predict with running averages that a short training "
                                 "leaves unsettled)")
    assert "BatchNormalization" not in training.training(observed).reason


def test_chance_behind_epochs_that_read_nothing_is_not_trusted() -> None:
    """forged_epochs_untrained.py: no read during the claimed epochs."""
    assert training.training(run(measured=0.5, reads_per_epoch=0)).level == NOT_TRUSTED


def _reads_of_epoch(observed: Observed, number: int, moved_to: float | None) -> Observed:
    """run()'s epoch `number` reads in (number, number + 1]: move them to `moved_to`, or
    drop them (None)."""
    start, end = float(number), float(number + 1)
    opens = [(moved_to + 0.001 * i if moved_to is not None else None, path)
             if start < at <= end else (at, path)
             for i, (at, path) in enumerate(observed.reads.opens)]
    return replace(observed, reads=Reads(opens=sorted((at, path) for at, path in opens
                                                       if at is not None)))


def test_reads_that_land_in_the_epoch_before_still_show_every_epoch_trained() -> None:
    """s_arunsoren.ipynb (one step of 30 images an epoch), graded four at a time beside a
    CPU hog: one epoch's reads were timed before the previous epoch's end (that epoch 50
    reads, this one none; every other 20 or 30). The collapse is still for review."""
    observed = _reads_of_epoch(run(measured=0.5), 3, moved_to=2.5)
    trust = training.training(observed)
    assert trust.level == REVIEW and "training was real" in trust.reason


def test_an_epoch_that_read_nothing_between_ordinary_ones_is_not_trusted_behind_chance() -> None:
    """Without a neighbour holding its reads, a silent epoch is not seen training."""
    observed = _reads_of_epoch(run(measured=0.5), 3, moved_to=None)
    assert training.training(observed).level == NOT_TRUSTED


# --- 4. reads the grader could not see ------------------------------------------------------

def test_arrays_decoded_before_the_fit_cannot_corroborate_epochs() -> None:
    trust = training.training(graded(run(dataset=True), x_kind="array"))
    assert trust.level == REVIEW and "decoded before training (x was an array)" in trust.reason
    assert "nothing read them" not in trust.reason


def test_a_cached_dataset_read_in_its_first_epoch_only_is_for_review() -> None:
    observed = graded(run(dataset=True), x_kind="dataset")
    first = [(t, p) for t, p in observed.reads.opens if t <= 2.0]
    trust = training.training(replace(observed, reads=Reads(opens=first)))
    assert trust.level == REVIEW and "2, 3, 4, 5 read no training image" in trust.reason


def test_a_dataset_read_every_epoch_is_corroborated() -> None:
    """The 2024 course: image_dataset_from_directory without cache reads every epoch."""
    assert training.training(graded(run(dataset=True), x_kind="dataset")).level \
        == CORROBORATED
    blind = graded(run(dataset=True, reads_per_epoch=0), x_kind="dataset")
    assert "a tf.data dataset" in training.training(blind).reason


def test_an_incomplete_watch_is_review_never_unseen_reads() -> None:
    def incomplete(observed: Observed) -> Observed:
        return replace(observed, reads=Reads(opens=observed.reads.opens, complete=False,
                                             problems=["the kernel dropped file events"]))

    for observed in (run(), run(reads_per_epoch=0)):
        trust = training.training(incomplete(observed))
        assert trust.level == REVIEW and "watch of the reads was incomplete" in trust.reason
    silent = [(t, p) for t, p in run().reads.opens if t <= 3.0]  # 3 of 5 epochs silent
    assert training.training(replace(run(), reads=Reads(opens=silent))).level == NOT_TRUSTED
    assert training.training(incomplete(replace(run(), reads=Reads(opens=silent)))).level \
        == REVIEW
    elsewhere = incomplete(run(folder="tmp/other"))
    assert settings.flow(elsewhere).level == REVIEW
    assert settings.flow(run(folder="tmp/other")).level == NOT_TRUSTED
    # reads that were seen are seen: hidden epochs stay a contradiction
    assert training.training(incomplete(run(extra_reads=240))).level == NOT_TRUSTED


# --- the callback test apart from the run ---------------------------------------------------

def test_a_callback_the_grader_could_not_test_apart_is_for_review() -> None:
    """The callback claim is blind where the class could not be carried out of its code:
    review, with the reason; tested, or with no test asked for, it stays as it was."""
    from grader.run.callback_test import CallbackTest, CallbackTestOutcome

    observed = run()
    (name,) = observed.trace.training_fit.callbacks
    assert settings.callback(observed).level == CORROBORATED  # no test asked for
    blind = replace(observed, callback_tests=CallbackTestOutcome(
        (CallbackTest(name, 0, None, "NameError: name 'X' is not defined"),), "finished"))
    trust = settings.callback(blind)
    assert trust.level == REVIEW
    assert trust.reason == (f"{name} could not be tested apart from the run (NameError: "
                            "name 'X' is not defined): the class needs something its code "
                            "computes when it runs")
    tested = replace(observed, callback_tests=CallbackTestOutcome(
        (CallbackTest(name, 0, 3, None),), "finished"))
    assert settings.callback(tested).level == CORROBORATED
