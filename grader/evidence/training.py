"""Was the training the run reports the training that happened?

The run says: fit started, these epochs ended with these accuracies, this callback
stopped it at epoch k. From outside the grader sees when each of those events arrived,
when the kernel saw the training images read, and what the saved model really classifies.
The rules below turn disagreements into verdicts, and are careful with honest dynamics:

- Keras's flow_from_directory reads every image of every batch from disk, each epoch:
  epochs that read no image did not train, and images read after the last recorded epoch
  were read by epochs nobody recorded (evaluate/predict calls are recorded and excluded).
  Anything else the fit is given (an array decoded before it, a tf.data pipeline that may
  cache, a Python generator over preloaded images) may train without a read: there the
  reads cannot corroborate the epochs, and what could not be seen asks for review.
- A fit that raised was cut inside an epoch that never reached its record (a callback
  that raises in on_epoch_end runs before the record): up to one epoch of reads after
  the last record is that epoch, not hidden training, and the saved model is that
  epoch's, which may measure better than the last record, not worse (measured: a sample
  whose callback raised KeyError at epoch 3 read the images 60 more times; epoch 2
  recorded 0.538, the model measures 1.000).
- A stop is recorded inside the epoch it stops (the callback runs before the epoch's own
  record): a stop naming an epoch that later epochs followed, or arriving long after it,
  was written afterwards.
- An epoch's accuracy is averaged while the weights move, so the final model may honestly
  score less than the last epoch said (measured: 1.000 recorded, 0.787 measured on real
  notebooks with 2 steps of 40). A model at chance behind a trained history contradicts
  it — unless the kernel saw every recorded epoch read the images and nothing after: then
  the training was real and the model collapsed (issue 20: 64 of 80 images an epoch,
  1.000 recorded, chance measured), which a person should look at, not an accusation.
- A training function called again and cut off by the end of the run inside that second
  training left the first call's model (grader.run.trace): the reads from the second
  call's start are its own recorded epochs, not hidden ones of the first.
- Training outside the graded fit (train_on_batch, a fit started from a callback, an
  earlier fit of other settings) shaped the graded model without the graded fit's records
  covering it: review (grader.evidence.outside).
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.evidence import CORROBORATED, NOT_TRUSTED, REVIEW, Trust
from grader.evidence.observed import Observed, count_between
from grader.evidence.outside import outside_training
from grader.run.trace import FitCall
from grader.scoring.types import at_chance_behind

GRACE = 0.3  # seconds between an event and the reads it follows (the watcher polls 0.1 s)
MIN_EXTRA_READS = 8  # fewer reads after training are a picture shown, not an epoch


@dataclass(frozen=True)
class _Seen:
    """What the reads showed of the graded fit's epochs."""

    verdict: Trust | None  # a contradiction or a blind spot; None when corroborated
    every_epoch: bool  # each recorded epoch read the images, and nothing after the last


def from_disk(fit: FitCall) -> bool:
    """Whether the fit trained on a recorded flow_from_directory iterator, which reads
    its images from disk every epoch (traces older than x_kind: a recorded flow)."""
    return fit.train_flow_id is not None and fit.x_kind in (None, "flow")


def training(o: Observed) -> Trust:
    """Trust in the recorded epochs, stop and final accuracy of the training fit."""
    own = _own_epochs(o)
    extra = outside_training(o)
    return own if extra is None else own.worse(extra)


def _own_epochs(o: Observed) -> Trust:
    fit = o.trace.training_fit
    if fit is None or not fit.epochs:
        return Trust(CORROBORATED, "no training epoch was recorded, nothing to corroborate")
    if not o.replay.received:
        return Trust(REVIEW, "the run sent no event stream (the Jupyter-kernel executor "
                             "cannot receive one), so its epochs could not be timed")
    start, ends, stop = o.fit_times(fit)
    if start is None or len(ends) != len(fit.epochs):
        return Trust(NOT_TRUSTED, "the recorded epochs are not the ones the run sent as "
                                  "they ended")
    seen = _reads(o, fit, start, ends)
    verdicts = [seen.verdict, _stop(fit.stopped_by, fit.stopped_at_epoch, stop, ends),
                _accuracy(o, fit.epochs[-1].accuracy, fit.completed, seen.every_epoch)]
    worst = max((v for v in verdicts if v is not None),
                key=lambda v: (v.level == NOT_TRUSTED, v.level == REVIEW), default=None)
    if worst is not None:
        return worst
    reads = count_between(o.read_times(o.train_names), start, ends[-1])
    measured = o.scoring.train_accuracy
    repeat = o.trace.cut_off_repeat
    return Trust(CORROBORATED, f"its {len(ends)} epochs were timed as they ended and read "
                               f"the training images {reads} times; nothing read them "
                               "after the last one"
                 + (f" until the same training was called again (fit {repeat.id}), which "
                    f"the end of the run cut off after {len(repeat.epochs)} epoch(s), "
                    "before its end, where the model is saved"
                    if repeat is not None else "")
                 + (f"; the saved model classifies {measured:.0%} of them correctly"
                    if measured is not None else ""))


def _repeat_started(o: Observed) -> float | None:
    """When a cut-off repeat of the graded fit started: its reads, from then on, are its
    own recorded training, not the graded fit's hidden epochs (grader.run.trace)."""
    repeat = o.trace.cut_off_repeat
    return None if repeat is None else o.fit_times(repeat)[0]


def described_x(fit: FitCall) -> str:
    """What the fit trained on, as a reason says it."""
    kind = fit.x_kind or "something other than a recorded flow"
    return {"array": "an array", "dataset": "a tf.data dataset",
            "generator": "a Python generator",
            "flow": "an iterator no recorded flow_from_directory made"}.get(kind, kind)


def _reads(o: Observed, fit: FitCall, start: float, ends: list[float]) -> _Seen:
    if not o.reads.available:
        return _Seen(Trust(REVIEW, "the grader could not watch the run's reads here: "
                                   + "; ".join(o.reads.problems)), False)
    disk, complete = from_disk(fit), o.reads.complete
    if fit.x_kind == "array":
        return _Seen(Trust(REVIEW, "the images were decoded before training (x was an "
                                   "array): the grader could not see which epochs read "
                                   "them"), False)
    reads = o.read_times(o.train_names)
    during = count_between(reads, start, ends[-1] + GRACE)
    incomplete = Trust(REVIEW, "the grader's watch of the reads was incomplete ("
                               + "; ".join(o.reads.problems) + "): it could not see "
                               "every read of the recorded epochs")
    if during == 0:
        if disk and complete:
            return _Seen(Trust(NOT_TRUSTED, f"its {len(ends)} recorded epoch(s) read none "
                                            "of the training images: they did not train "
                                            "on them"), False)
        return _Seen(incomplete if not complete else Trust(
            REVIEW, f"the fit trained on {described_x(fit)} and no training image was read "
                    "during its epochs (loaded or cached before): the grader could not "
                    "see which epochs read them"), False)
    silent = _silent_epochs(reads, [start, *ends])
    if disk and complete and len(silent) > max(1, len(ends) // 2):
        return _Seen(Trust(NOT_TRUSTED, f"{len(silent)} of the {len(ends)} recorded epochs "
                                        "read no training image: they did not train on "
                                        "them"), False)
    after = o.reads_outside_inference(reads, ends[-1] + GRACE, GRACE)
    repeat_started = _repeat_started(o)
    if repeat_started is not None:
        after = [at for at in after if at < repeat_started]
    per_epoch = during / len(ends)
    interrupted = 0.0 if fit.completed else per_epoch  # the epoch the fit raised in
    hidden = len(after) - interrupted >= max(MIN_EXTRA_READS, per_epoch / 2)
    if hidden and disk:  # reads seen are seen, however incomplete the watch
        return _Seen(Trust(NOT_TRUSTED, f"after its last recorded epoch ({len(ends)}) the "
                                        f"run read the training images {len(after)} more "
                                        f"times, about {len(after) / per_epoch:.0f} more "
                                        "epoch(s) of training that it did not record"),
                     False)
    if not complete:
        return _Seen(incomplete, False)
    if silent and not disk:
        return _Seen(Trust(REVIEW, f"the fit trained on {described_x(fit)} and its epoch(s) "
                                   f"{', '.join(map(str, silent))} read no training image "
                                   "(cached or preloaded): the grader could not see them "
                                   "train"), False)
    if hidden:
        return _Seen(Trust(REVIEW, f"the training images were read {len(after)} times "
                                   f"after the last recorded epoch of a fit on "
                                   f"{described_x(fit)}: the grader could not tell whether that "
                                   "was training"), False)
    return _Seen(None, not silent)


def _silent_epochs(reads: list[float], bounds: list[float]) -> list[int]:
    """The recorded epochs (from 1) in whose time no training image was read, leaving out
    an epoch whose reads a neighbour holds. Keras reads batches ahead of the step, and the
    watcher and the event stream are timed as the grader receives them, so where an epoch
    is a fraction of a second one epoch's reads can land in the next one's or the last
    one's time. Measured on a course notebook of one step of 30 images an epoch, graded
    four at a time beside a CPU hog: every epoch read 20 or 30 images, but in one grading
    of four one read 50 and the next none. A neighbour holds the missing reads when it
    read at least 1.5 times the median epoch that read any; it accounts for one silent
    epoch. A dataset cached in its first epoch leaves the rest silent: nothing to share."""
    counts = [count_between(reads, bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]
    read = sorted(c for c in counts if c)
    typical = read[len(read) // 2] if read else 0
    spare = [bool(read) and c >= 1.5 * typical for c in counts]
    silent = []
    for index, count in enumerate(counts):
        if count:
            continue
        holder = next((j for j in (index - 1, index + 1)
                       if 0 <= j < len(counts) and spare[j]), None)
        if holder is None:
            silent.append(index + 1)
        else:
            spare[holder] = False
    return silent


def _stop(callback: str | None, epoch: int | None, arrived: float | None,
          ends: list[float]) -> Trust | None:
    if not callback:
        return None
    if epoch is None or epoch < len(ends):
        return Trust(NOT_TRUSTED, f"training went on for {len(ends)} epochs after {callback} "
                                  f"stopped it at epoch {epoch}")
    if arrived is not None and epoch <= len(ends) and arrived > ends[epoch - 1] + GRACE:
        return Trust(NOT_TRUSTED, f"the stop at epoch {epoch} was recorded "
                                  f"{arrived - ends[epoch - 1]:.1f} s after that epoch "
                                  "ended: it was written afterwards")
    return None


def _likely_cause(o: Observed) -> str:
    """BatchNormalization trains on each batch's statistics and predicts with running
    averages, which a short training leaves unsettled: the honest collapse seen most
    (sample batchnorm_collapse.py)."""
    if o.scoring.has_layer("BatchNormalization"):
        return ("; its BatchNormalization layers are the likely cause (they predict with "
                "running averages that a short training leaves unsettled)")
    return ""


def _accuracy(o: Observed, recorded: float | None, completed: bool,
              seen_training: bool) -> Trust | None:
    measured = o.scoring.train_accuracy
    if recorded is None or measured is None:
        return None
    chance = 1 / max(1, len(o.spec.classes))
    if at_chance_behind(recorded, measured, chance):
        if seen_training:
            return Trust(REVIEW, f"the saved model classifies {measured:.0%} of the "
                                 "training images correctly (chance), while the run "
                                 f"recorded {recorded:.1%}; the kernel saw every recorded "
                                 "epoch read the images and none after, so the training "
                                 "was real: a model that collapsed, for a person to look at"
                                 + _likely_cause(o))
        return Trust(NOT_TRUSTED, f"the saved model classifies {measured:.0%} of the "
                                  "training images correctly (chance), while the run "
                                  f"recorded {recorded:.1%}: it is not a model those "
                                  "epochs trained")
    # a fit that raised saved the model of the epoch it raised in, one past the record:
    # that model may measure better than the record, never worse
    gap = abs(recorded - measured) if completed else recorded - measured
    if gap > o.spec.train_accuracy_tolerance:
        return Trust(REVIEW, f"the last epoch recorded accuracy {recorded:.3f}, the saved "
                             f"model measures {measured:.3f} on the training images: a "
                             "disagreement of degree, possible when an epoch sees few "
                             "batches while the weights move")
    return None
