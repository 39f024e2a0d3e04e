"""grader.evidence: each rule on a hand-made record of what the trusted side observed —
the positive control (it fires on the attack it is for) next to the honest case it must
leave alone (issue 11: "corroboration never costs an honest student points")."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any

import pytest
from rubric import SPEC

from grader.checks.base import CheckContext
from grader.evidence import (
    CORROBORATED,
    NOT_TRUSTED,
    RECOMPUTED,
    REVIEW,
    Evidence,
    Trust,
    settings,
    source,
    training,
)
from grader.evidence.gather import gather
from grader.evidence.observed import Observed
from grader.grade import run_rubric
from grader.run.events import Event, Replay
from grader.run.reads import Reads
from grader.run.trace import Epoch, Execution, FitCall, FlowCall, Generator, Trace
from grader.scoring.types import Scoring

TRAIN = frozenset(f"{c}-{i:02}.png" for c in ("happy", "sad") for i in range(40))
NAMES = sorted(TRAIN)
CODE = '''
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator
class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.999:
            self.model.stop_training = True
def train_happy_sad_model():
    gen = ImageDataGenerator(rescale=1/255)
    flow = gen.flow_from_directory("/tmp/h-or-s", target_size=(150, 150), batch_size=10,
                                   class_mode="binary")
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    history = model.fit(flow, epochs=15, callbacks=[myCallback()])
    return history.history["accuracy"][-1]
'''


def run(epochs: int = 5, *, stop_at: int | None = None, reads_per_epoch: int = 80,
        extra_reads: int = 0, stop_delay: float = -0.01, final_accuracy: float = 1.0,
        measured: float | None = 1.0, code: str = CODE, rescale: float = 1 / 255,
        dataset: bool = False, folder: str = "tmp/h-or-s", **trace: Any) -> Observed:
    """A run of `epochs` one-second epochs, the events and reads it would show."""
    stop_at = epochs if stop_at is None else stop_at
    events = [Event(0.0, "set", ("trace",)), Event(1.0, "add", ("trace", "fits"))]
    reads = []
    for number in range(1, epochs + 1):
        end = 1.0 + number
        reads += [(end - 0.9 + i * 0.001, f"{folder}/happy/{NAMES[i % 80]}")
                  for i in range(reads_per_epoch)]
        if number == stop_at:
            events.append(Event(end + stop_delay, "set", ("trace", "fits", 0, "stopped_by")))
        events.append(Event(end, "add", ("trace", "fits", 0, "epochs")))
    last = 1.0 + epochs
    reads += [(last + 1 + i * 0.01, f"{folder}/sad/{NAMES[i % 80]}") for i in range(extra_reads)]
    accuracies = [0.5 + 0.5 * n / epochs for n in range(1, epochs)] + [final_accuracy]
    fit = FitCall(id=0, epochs_requested=15, steps_per_epoch=8,
                  train_flow_id=None if dataset else 0, callbacks=("myCallback",),
                  epochs=tuple(Epoch(n + 1, {"accuracy": a}) for n, a in enumerate(accuracies)),
                  stopped_by="myCallback" if stop_at else None, stopped_at_epoch=stop_at,
                  completed=True, error=None)
    flows = () if dataset else (FlowCall(0, 0, "/tmp/h-or-s", (150, 150), 10, "binary", 80,
                                         {"happy": 0, "sad": 1}, None),)
    parsed = Trace(generators=(Generator(0, rescale, {"rescale": rescale}, (rescale,)),),
                   flows=flows, fits=(fit,),
                   execution=Execution(kind="module", ran_to_end=True), **trace)
    return Observed(trace=parsed, replay=Replay(events=events, received=True),
                    reads=Reads(opens=reads), facts=source.read([code]),
                    scoring=Scoring(model_loaded=True, train_accuracy=measured), spec=SPEC,
                    run_status="finished", train_names=TRAIN)


# --- the training record --------------------------------------------------------------------

def test_an_honest_run_is_corroborated() -> None:
    trust = training.training(run())
    assert trust.level == CORROBORATED and "read the training images 400 times" in trust.reason


def test_training_beyond_the_recorded_epochs_is_not_trusted() -> None:
    trust = training.training(run(extra_reads=240))
    assert trust.level == NOT_TRUSTED
    assert "240 more times, about 3 more epoch(s)" in trust.reason


def _raised(observed: Observed) -> Observed:
    fit = replace(observed.trace.fits[0], completed=False,
                  callback_error="myCallback raised KeyError: 'val_acc' at epoch 6")
    return replace(observed, trace=replace(observed.trace, fits=(fit,)))


def test_the_epoch_a_fit_raised_in_is_not_hidden_training() -> None:
    """exception_mid_training.py: the callback raises in on_epoch_end, before that
    epoch's record; its reads come after the last recorded epoch."""
    assert training.training(run(extra_reads=60)).level == NOT_TRUSTED  # a finished fit
    assert training.training(_raised(run(extra_reads=60))).level == CORROBORATED
    assert training.training(_raised(run(extra_reads=80))).level == CORROBORATED


def test_a_fit_that_raised_saved_the_model_of_the_epoch_it_raised_in() -> None:
    finished = run(final_accuracy=0.54, measured=1.0)
    assert training.training(finished).level == REVIEW  # a disagreement of degree
    raised = _raised(run(extra_reads=60, final_accuracy=0.54, measured=1.0))
    assert training.training(raised).level == CORROBORATED
    untrained = _raised(run(final_accuracy=1.0, measured=0.5, reads_per_epoch=0))
    assert training.training(untrained).level == NOT_TRUSTED  # chance is still chance
    # every epoch seen reading the images: a collapse after real training (issue 20)
    collapsed = _raised(run(final_accuracy=1.0, measured=0.5))
    assert training.training(collapsed).level == REVIEW
    overstated = _raised(run(final_accuracy=1.0, measured=0.75))  # worse than its record
    assert training.training(overstated).level == REVIEW


def test_a_fit_that_raised_after_hidden_epochs_is_not_trusted() -> None:
    trust = training.training(_raised(run(extra_reads=240)))
    assert trust.level == NOT_TRUSTED and "240 more times" in trust.reason


def test_a_picture_shown_after_training_is_not_an_epoch() -> None:
    assert training.training(run(extra_reads=2)).level == CORROBORATED


def test_reads_inside_a_recorded_evaluate_are_not_training() -> None:
    observed = run(extra_reads=80)
    events = [*observed.replay.events, Event(6.5, "add", ("trace", "inferences")),
              Event(8.0, "set", ("trace", "inferences", 0, "finished"))]
    assert training.training(replace(observed, replay=Replay(events=events, received=True))
                             ).level == CORROBORATED


def test_epochs_that_read_nothing_did_not_train() -> None:
    assert training.training(run(reads_per_epoch=0)).level == NOT_TRUSTED
    # a cached tf.data pipeline may read nothing during the epochs: review, not a verdict
    assert training.training(run(reads_per_epoch=0, dataset=True)).level == REVIEW


def test_a_stop_followed_by_more_epochs_or_written_later_is_not_trusted() -> None:
    assert training.training(run(epochs=8, stop_at=5)).level == NOT_TRUSTED
    late = training.training(run(stop_delay=3.0))
    assert late.level == NOT_TRUSTED and "written afterwards" in late.reason


def test_an_untrained_model_behind_a_perfect_history_is_not_trusted() -> None:
    observed = run(measured=0.5)
    # the second epoch read nothing: the reads do not corroborate every epoch
    partly = [(t, path) for t, path in observed.reads.opens if not 2.0 < t <= 3.0]
    trust = training.training(replace(observed, reads=Reads(opens=partly)))
    assert trust.level == NOT_TRUSTED and "chance" in trust.reason


def test_an_honest_disagreement_of_degree_is_only_for_review() -> None:
    # measured on real notebooks: 2 steps of 40 per epoch, 1.000 recorded, 0.787 measured
    trust = training.training(run(measured=0.787))
    assert trust.level == REVIEW and "disagreement of degree" in trust.reason


def test_no_event_stream_asks_for_review() -> None:
    observed = run()
    trust = training.training(replace(observed, replay=Replay(received=False)))
    assert trust.level == REVIEW


# --- settings against the code ----------------------------------------------------------------

def test_settings_the_code_sets_are_corroborated() -> None:
    observed = run()
    for rule in (settings.generator, settings.flow, settings.compile_call, settings.callback,
                 settings.entry):
        assert rule(observed).level == CORROBORATED, rule.__name__


def test_a_setting_the_code_never_sets_is_not_trusted() -> None:
    trust = settings.generator(run(rescale=0.5))
    assert trust.level == NOT_TRUSTED and "never passes to ImageDataGenerator" in trust.reason


def test_a_setting_the_code_computes_asks_for_review() -> None:
    code = CODE.replace("rescale=1/255", "rescale=compute_scale()")
    assert settings.generator(run(code=code)).level == REVIEW


def test_a_loss_object_and_its_string_are_one_loss() -> None:
    code = CODE.replace('loss="binary_crossentropy"', "loss=tf.keras.losses.BinaryCrossentropy()")
    assert settings.compile_call(run(code=code)).level == CORROBORATED


def test_the_training_directory_must_be_the_folder_the_images_were_read_from() -> None:
    assert settings.flow(run(folder="work/my-copy")).level == NOT_TRUSTED


def test_a_graded_function_the_code_does_not_define_is_not_trusted() -> None:
    observed = run(code=CODE.replace("def train_happy_sad_model", "def other"),
                   entry_point=_entry())
    assert settings.entry(observed).level == NOT_TRUSTED


def _entry() -> Any:
    from grader.run.trace import EntryPoint

    return EntryPoint("train_happy_sad_model", "student", "float", 1.0, None)


# --- tampering, and the verdict applied to the points -------------------------------------------

@pytest.mark.parametrize("change", [
    lambda o: replace(o, facts=source.read([CODE + "\nfrom grader.runner import recorder\n"])),
    lambda o: replace(o, replay=Replay(events=o.replay.events, received=True,
                                       rewrites=["fits.0.stopped_by was changed"])),
    lambda o: replace(o, replay=Replay(events=o.replay.events, received=True,
                                       problems=["a line of the event stream is not an "
                                                 "event; ignored"])),
    lambda o: replace(o, file_state=({"fits": [{"stopped_by": {"epoch": 2}}]}, {})),
])
def test_tampering_leaves_nothing_of_the_run_trusted(change: Any) -> None:
    evidence = gather(change(run()))
    assert {t.level for t in evidence.claims.values()} == {NOT_TRUSTED}
    assert "model" not in evidence.claims  # the scorer flagged nothing here


def test_a_batch_dependent_model_is_for_review_even_beside_tampering() -> None:
    """The scorer's finding about the model is not the run's word: tampering with the
    account does not hide it from the review list."""
    flagged = Scoring(model_loaded=True, train_accuracy=1.0, batch_dependent=True)
    alone = gather(replace(run(), scoring=flagged))
    assert alone.claims["model"].level == REVIEW
    assert any("other images in its batch" in reason for reason in alone.review)
    tampered = gather(replace(run(), scoring=flagged, facts=source.read(
        [CODE + "\nfrom grader.runner import recorder\n"])))
    assert tampered.claims["model"].level == REVIEW
    assert tampered.claims["training"].level == NOT_TRUSTED
    assert any("other images in its batch" in reason for reason in tampered.review)
    assert "model" not in gather(run()).claims


def test_code_the_reading_cannot_follow_asks_for_review_and_keeps_points() -> None:
    evidence = gather(run(code=CODE + "\nexec('x = 1')\n"))
    assert evidence.claims["training"].level == REVIEW
    assert any("exec()" in reason for reason in evidence.review)


def _context(observed: Observed) -> CheckContext:
    return CheckContext(observed.trace, observed.scoring, SPEC, "finished")


def test_not_trusted_costs_the_points_and_review_keeps_them() -> None:
    bad = run(extra_reads=400)
    checks, _ = run_rubric(_context(bad), gather(bad))
    stop = next(c for c in checks if c.id == "callback_stop")
    assert (stop.status, stop.score, stop.trust) == ("not_trusted", 0.0, NOT_TRUSTED)
    assert stop.message.startswith("not trusted: after its last recorded epoch")

    doubtful = run(measured=0.787)
    checks, _ = run_rubric(_context(doubtful), gather(doubtful))
    stop = next(c for c in checks if c.id == "callback_stop")
    assert (stop.status, stop.score, stop.trust) == ("passed", 10.0, REVIEW)
    shape = next(c for c in checks if c.id == "input_shape")
    assert shape.trust in ("", RECOMPUTED)


def test_every_claim_a_check_names_has_a_rule() -> None:
    from grader.checks import REGISTRY
    from grader.evidence import CLAIMS

    named = {claim for info in REGISTRY.values() for claim in info.claims}
    assert named <= set(CLAIMS)
    assert Evidence().trust(("no such claim",)).level == REVIEW
    assert dataclasses.is_dataclass(Trust)
