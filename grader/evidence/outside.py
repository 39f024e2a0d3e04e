"""Training the graded fit's own records do not cover.

The graded model is what the graded fit (Trace.training_fit: the last fit that ran an
epoch, or the completed call a cut-off repeat of it follows) left, but other training may
have shaped it first or after: train_on_batch, a fit started from a callback inside
another fit, a custom loop, an earlier fit on the same model. None of it is in the graded
fit's epochs, so neither the reads nor the stop can corroborate it: the training and
callback claims go to review, with what was seen.

One earlier fit is honest and common (issue 20, item 1): the training function called a
second time, in a later cell, to look at its result. It builds its model, flow and fit
again with the same arguments; the graded fit is the last call's (or the first call's, when
the run was cut off inside the second: grader.run.trace). An earlier fit with the same
arguments and the same pipeline settings as the graded one (Trace.repeats) is taken as that
repeat and left alone (what it costs: a student who deliberately runs the same fit twice
on one model gets its extra epochs unseen; the callback checks test the callback again
anyway).
"""

from __future__ import annotations

from grader.evidence import REVIEW, Trust
from grader.evidence.observed import Observed
from grader.run.trace import OutsideFit


def outside_training(o: Observed) -> Trust | None:
    """Review naming the training outside the graded fit, or None when there was none."""
    reasons = [_outside(record) for record in o.trace.outside_fit]
    graded = o.trace.training_fit
    if graded is not None:
        if graded.inside_fit is not None:
            reasons.append(f"the graded fit was started inside fit {graded.inside_fit} "
                           "(from a callback): training the grader's records of either "
                           "do not cover")
        index = o.trace.position(graded)
        for earlier in o.trace.fits[:index]:
            if earlier.epochs and not o.trace.repeats(earlier, graded):
                reasons.append(f"an earlier fit (fit {earlier.id}) trained "
                               f"{len(earlier.epochs)} epoch(s) before the graded one "
                               f"(fit {graded.id}), with other settings")
    reasons = list(dict.fromkeys(reasons))
    if not reasons:
        return None
    return Trust(REVIEW, "; ".join(reasons[:3]) + (f" (and {len(reasons) - 3} more)"
                                                    if len(reasons) > 3 else "")
                 + ": the graded fit's records do not cover that training")


def _outside(record: OutsideFit) -> str:
    where = (f"inside fit {record.inside_fit}" if record.inside_fit is not None
             else f"after fit {record.after_fit}" if record.after_fit is not None
             else "before any fit")
    if record.call == "train_on_batch":
        return f"the model was also trained by train_on_batch {where}"
    if record.call == "fit inside a fit":
        return f"a fit was started {where} (from a callback)"
    return f"the model was also trained by {record.call[:40]} {where}"
