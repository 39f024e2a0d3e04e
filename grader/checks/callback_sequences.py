"""The epochs the grader plays to a student's callback, and when a correct one stops.

Why sequences, not two calls: a callback called at accuracy 0.998 at epoch 0 and 0.9995 at
epoch 1 is passed by one that stops when `epoch >= 1` and never reads the accuracy. The
grader plays several runs of epochs instead: one that passes the threshold late (at a
position no counter can guess), one that passes it at the first epoch, one that never
passes it however long it goes (with values just below it, and a loss so small that a
callback watching the loss would stop), and one that passes it after a few epochs. A
callback is right when it stops each run exactly at the first epoch whose accuracy is
above the threshold, and never in the run that stays below.

The positions and values come from a seed derived from the course secret and the
submission's bytes (grader.exercise.secret.derive): a student cannot know them in
advance, and regrading the same file plays the same runs, so the grade does not change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    accuracy: float
    loss: float


@dataclass(frozen=True)
class EpochRun:
    """One run of epochs played to the callback (epoch indices from 0, as Keras calls)."""

    name: str
    steps: tuple[Step, ...]

    def expected_stop(self, threshold: float) -> int | None:
        """The index of the first epoch above `threshold`: where a correct callback stops."""
        return next((i for i, step in enumerate(self.steps) if step.accuracy > threshold),
                    None)

    def as_config(self) -> list[list[float]]:
        """As the run config carries it (grader.runner.contract): [[accuracy, loss], …]."""
        return [[step.accuracy, step.loss] for step in self.steps]


NEVER_LENGTH = 25


def epoch_runs(threshold: float, seed: int) -> tuple[EpochRun, ...]:
    rng = random.Random(seed)
    just_below = round(threshold - 0.0005, 6)

    def below() -> Step:
        accuracy = rng.choice([just_below, round(threshold - 0.001, 6),
                               round(threshold - 0.004, 6),
                               round(rng.uniform(0.5, threshold - 0.01), 4)])
        return Step(max(0.0, accuracy), round(rng.uniform(0.01, 0.5), 4))

    def above() -> Step:
        accuracy = rng.choice([round(min(1.0, threshold + 0.0005), 6), 1.0])
        return Step(accuracy, round(rng.uniform(0.0001, 0.01), 5))

    late, early = rng.randint(5, 13), rng.randint(1, 4)
    never = [below() for _ in range(NEVER_LENGTH - 2)]
    never.insert(rng.randint(0, len(never)), Step(just_below, 0.0005))  # a tiny loss
    never.append(Step(just_below, round(rng.uniform(0.01, 0.5), 4)))
    return (
        EpochRun("passes the threshold late", tuple([below() for _ in range(late)]
                                                    + [above(), above()])),
        EpochRun("passes it at the first epoch", (above(), above())),
        EpochRun("never passes it", tuple(never)),
        EpochRun("passes it after a few epochs", tuple([below() for _ in range(early)]
                                                       + [above()])),
    )
