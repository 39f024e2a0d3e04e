"""Synthetic stand-in for the course's horse-or-human.zip and validation-horse-or-human.zip.

The real set (1,027 training and 256 validation 300×300 renders of horses and people)
cannot be redistributed, so we draw side-view horse and front-view human silhouettes with
Pillow. The class cue is the shape (a long body on four legs vs. an upright body with a
head on top); colours, size, position, rotation and direction are varied independently of
the class. The default set is small — 64 training and 32 validation images per class —
so that a 300×300 lesson trains in about two minutes on two cores (see docs/authoring.md).
"""

from __future__ import annotations

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

GENERATOR_VERSION = "horses-1.0"
DATASET_NAME = "horse-or-human"


def _x(subject: Subject, dx: float) -> float:
    """A horizontal offset from the centre, mirrored when the subject faces the other way."""
    return subject.cx + (-dx if subject.flip else dx)


def draw_horse(s: Subject, rng: np.random.Generator) -> None:
    """Side view: a long body on four legs, a neck rising to the head, a tail."""
    u = s.size * 0.4 * s.scale  # half the subject's width
    body_w, body_h = u * rng.uniform(0.55, 0.65), u * rng.uniform(0.22, 0.28)
    by = s.cy - u * 0.05
    d = s.draw
    d.ellipse((s.cx - body_w, by - body_h, s.cx + body_w, by + body_h), fill=s.colour)
    leg_w, leg_len = u * 0.07, u * rng.uniform(0.5, 0.6)
    for dx in (-0.8, -0.55, 0.5, 0.75):
        x = _x(s, dx * body_w)
        spread = rng.uniform(-0.08, 0.08) * u
        d.line([(x, by), (x + spread, by + body_h + leg_len)], fill=s.colour,
               width=round(leg_w * 2))
        hoof = (x + spread - leg_w, by + body_h + leg_len - leg_w,
                x + spread + leg_w, by + body_h + leg_len + leg_w * 0.6)
        d.rectangle(hoof, fill=s.accent)
    neck_base = (_x(s, 0.75 * body_w), by - body_h * 0.3)
    head = (_x(s, 1.05 * body_w), by - body_h - u * rng.uniform(0.35, 0.45))
    d.line([neck_base, head], fill=s.colour, width=round(u * 0.22))
    hx, hy = head
    tip = _x(s, 1.05 * body_w + u * 0.32)
    d.line([(hx, hy), (tip, hy + u * 0.15)], fill=s.colour, width=round(u * 0.14))
    ear = (hx, hy - u * 0.16)
    d.polygon([(hx - u * 0.05, hy), ear, (hx + u * 0.05, hy)], fill=s.colour)
    mane_end = (neck_base[0] + (hx - neck_base[0]) * 0.2, neck_base[1] - u * 0.05)
    d.line([(hx, hy - u * 0.05), mane_end], fill=s.accent, width=round(u * 0.06))
    tail_root = (_x(s, -0.95 * body_w), by - body_h * 0.4)
    tail_end = (_x(s, -1.15 * body_w), by + body_h + u * rng.uniform(0.2, 0.35))
    d.line([tail_root, tail_end], fill=s.accent, width=round(u * 0.08))


def draw_human(s: Subject, rng: np.random.Generator) -> None:
    """Front view: a head on an upright torso, two arms, two legs."""
    u = s.size * 0.4 * s.scale  # half the subject's height
    d = s.draw
    head_r = u * rng.uniform(0.13, 0.16)
    top = s.cy - u
    d.ellipse((s.cx - head_r, top, s.cx + head_r, top + 2 * head_r), fill=s.accent)
    shoulder_y = top + 2 * head_r + u * 0.05
    torso_w, torso_h = u * rng.uniform(0.2, 0.26), u * rng.uniform(0.75, 0.85)
    d.rounded_rectangle((s.cx - torso_w, shoulder_y, s.cx + torso_w, shoulder_y + torso_h),
                        radius=torso_w * 0.4, fill=s.colour)
    limb = round(u * 0.1)
    for side in (-1, 1):
        reach = rng.uniform(0.15, 0.45)
        hand = (s.cx + side * (torso_w + u * reach), shoulder_y + u * rng.uniform(0.55, 0.8))
        d.line([(s.cx + side * torso_w * 0.8, shoulder_y + limb / 2), hand], fill=s.colour,
               width=limb)
        d.ellipse((hand[0] - limb * 0.7, hand[1] - limb * 0.7, hand[0] + limb * 0.7,
                   hand[1] + limb * 0.7), fill=s.accent)
        hip = (s.cx + side * torso_w * 0.5, shoulder_y + torso_h * 0.95)
        foot = (s.cx + side * (torso_w * 0.5 + u * rng.uniform(0.02, 0.2)), s.cy + u * 0.98)
        d.line([hip, foot], fill=s.colour, width=round(limb * 1.3))


TRAIN_GEOMETRY = Geometry(scale=(0.85, 1.0), offset=0.04, rotation=6.0)
HIDDEN_GEOMETRY = Geometry(scale=(0.8, 1.0), offset=0.05, rotation=8.0,
                           background_value=(0.7, 1.0), background_saturation=0.4)

RECIPE = DatasetRecipe(
    name=DATASET_NAME, generator=GENERATOR_VERSION,
    drawers={"horses": draw_horse, "humans": draw_human}, image_size=300,
    train_zip="horse-or-human.zip", validation_zip="validation-horse-or-human.zip",
    train_geometry=TRAIN_GEOMETRY, hidden_geometry=HIDDEN_GEOMETRY,
    train_per_class=64, validation_per_class=32, hidden_per_class=50)


def make_horse_or_human(out: Path, seed: int = 0,
                        hidden_seed: int | None = None) -> SilhouetteDataset:
    """Draw the default horse-or-human set (see RECIPE for the counts) into ``out``; the
    hidden split from ``hidden_seed`` (None: a random one)."""
    return make(RECIPE, out, seed, hidden_seed)


def redraw_hidden(root: Path, hidden_seed: int) -> None:
    """Draw the hidden split of the set in ``root`` again (drawing.redraw_hidden)."""
    drawing.redraw_hidden(RECIPE, root, hidden_seed)
