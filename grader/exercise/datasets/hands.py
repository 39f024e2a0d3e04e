"""Synthetic rock/paper/scissors hands: the data set of the authoring guide's example.

docs/authoring.md writes a new three-class exercise from the guide alone; this is its data,
drawn like the course's rps.zip (top-level paper/, rock/, scissors/) but at 150×150 and
small (40 training, 20 validation and 40 hidden images per class) so that the example
trains in seconds. The class cue is the hand shape: a closed fist, an open palm with five
spread fingers, or a fist with two fingers in a V.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from grader.exercise.datasets import drawing
from grader.exercise.datasets.drawing import (
    DatasetRecipe,
    Geometry,
    SilhouetteDataset,
    Subject,
    make,
)

GENERATOR_VERSION = "hands-1.0"
DATASET_NAME = "rock-paper-scissors"


def _palm(s: Subject, rng: np.random.Generator) -> tuple[float, float, float]:
    """The fist every hand starts from; returns (unit, top of the palm, palm half-width)."""
    u = s.size * 0.4 * s.scale
    half = u * rng.uniform(0.42, 0.5)
    top = s.cy - u * 0.05
    s.draw.rounded_rectangle((s.cx - half, top, s.cx + half, s.cy + u * 0.75),
                             radius=half * 0.45, fill=s.colour)
    thumb_x = s.cx + (half if s.flip else -half)
    s.draw.ellipse((thumb_x - u * 0.18, top + u * 0.15, thumb_x + u * 0.18, top + u * 0.45),
                   fill=s.colour)
    return u, top, half


def _finger(s: Subject, base: tuple[float, float], angle: float, length: float,
            width: float) -> None:
    tip = (base[0] + length * math.sin(math.radians(angle)),
           base[1] - length * math.cos(math.radians(angle)))
    s.draw.line([base, tip], fill=s.colour, width=round(width))
    s.draw.ellipse((tip[0] - width / 2, tip[1] - width / 2, tip[0] + width / 2,
                    tip[1] + width / 2), fill=s.colour)
    s.draw.ellipse((tip[0] - width / 3, tip[1] - width / 3, tip[0] + width / 3,
                    tip[1] + width / 3), fill=s.accent)  # a nail: fingertips stand out


def draw_rock(s: Subject, rng: np.random.Generator) -> None:
    """A fist: knuckles along the top, no finger raised."""
    u, top, half = _palm(s, rng)
    for k in range(4):
        x = s.cx - half + half * (0.25 + 0.5 * k)
        r = u * 0.13
        s.draw.ellipse((x - r, top - r * 0.8, x + r, top + r * 1.2), fill=s.colour)
        s.draw.line([(x + r, top), (x + r, top + u * 0.25)], fill=s.accent, width=2)


def draw_paper(s: Subject, rng: np.random.Generator) -> None:
    """An open palm: four fingers and the thumb spread out."""
    u, top, half = _palm(s, rng)
    spread = rng.uniform(6, 12)
    for k in range(4):
        base = (s.cx - half + half * (0.25 + 0.5 * k), top + u * 0.05)
        _finger(s, base, (k - 1.5) * spread, u * rng.uniform(0.6, 0.75), u * 0.17)
    side = 1 if s.flip else -1
    _finger(s, (s.cx + side * half * 0.8, top + u * 0.4), side * rng.uniform(50, 70),
            u * 0.45, u * 0.18)


def draw_scissors(s: Subject, rng: np.random.Generator) -> None:
    """A fist with the index and middle fingers raised in a V."""
    u, top, half = _palm(s, rng)
    for k in (2, 3):
        x = s.cx - half + half * (0.25 + 0.5 * k)
        r = u * 0.13
        s.draw.ellipse((x - r, top - r * 0.8, x + r, top + r * 1.2), fill=s.colour)
    opening = rng.uniform(12, 20)
    for k, sign in ((0, -1), (1, 1)):
        base = (s.cx - half + half * (0.25 + 0.5 * k), top + u * 0.05)
        _finger(s, base, sign * opening, u * rng.uniform(0.7, 0.8), u * 0.17)


RECIPE = DatasetRecipe(
    name=DATASET_NAME, generator=GENERATOR_VERSION,
    drawers={"paper": draw_paper, "rock": draw_rock, "scissors": draw_scissors},
    image_size=150, train_zip="rps.zip", validation_zip="rps-test-set.zip",
    train_geometry=Geometry(scale=(0.85, 1.0), offset=0.04, rotation=10.0),
    hidden_geometry=Geometry(scale=(0.8, 1.0), offset=0.05, rotation=14.0,
                             background_value=(0.7, 1.0), background_saturation=0.4),
    train_per_class=40, validation_per_class=20, hidden_per_class=40)


def make_rock_paper_scissors(out: Path, seed: int = 0,
                             hidden_seed: int | None = None) -> SilhouetteDataset:
    """Draw the default rock-paper-scissors set (see RECIPE for the counts) into ``out``; the
    hidden split from ``hidden_seed`` (None: a random one)."""
    return make(RECIPE, out, seed, hidden_seed)


def redraw_hidden(root: Path, hidden_seed: int) -> None:
    """Draw the hidden split of the set in ``root`` again (drawing.redraw_hidden)."""
    drawing.redraw_hidden(RECIPE, root, hidden_seed)
