"""Synthetic data sets that stand in for course downloads the grader may not ship.

A registry keeps the grader's configuration down to a name (``"happy-or-sad"``) and
seeds, so exercises and tests can ask for data without knowing how it is drawn. Each set
has a public training seed and a separate hidden seed (the grader derives it from the
course secret: grader.exercise.datasource); nothing here computes one from the other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.exercise.datasets import faces, hands, horses
from grader.exercise.datasets.faces import GENERATOR_VERSION, FaceDataset, make_happy_or_sad

__all__ = ["DATASETS", "TRAIN_ZIPS", "VERSIONS", "FaceDataset", "build", "make_happy_or_sad",
           "redraw_hidden"]

DATASETS: dict[str, Callable[..., Any]] = {
    "happy-or-sad": make_happy_or_sad,
    horses.DATASET_NAME: horses.make_horse_or_human,
    hands.DATASET_NAME: hands.make_rock_paper_scissors,
}
# What dataset.json's "generator" must say for a cached copy to be reused.
VERSIONS: dict[str, str] = {"happy-or-sad": GENERATOR_VERSION,
                            horses.DATASET_NAME: horses.GENERATOR_VERSION,
                            hands.DATASET_NAME: hands.GENERATOR_VERSION}
# The course zip each set is drawn into (the file a course notebook downloads).
TRAIN_ZIPS: dict[str, str] = {"happy-or-sad": faces.TRAIN_ZIP,
                              horses.DATASET_NAME: horses.RECIPE.train_zip,
                              hands.DATASET_NAME: hands.RECIPE.train_zip}
_REDRAW_HIDDEN: dict[str, Callable[[Path, int], None]] = {
    "happy-or-sad": faces.redraw_hidden,
    horses.DATASET_NAME: horses.redraw_hidden,
    hands.DATASET_NAME: hands.redraw_hidden,
}


def _known(name: str) -> None:
    if name not in DATASETS:
        known = ", ".join(sorted(DATASETS))
        raise KeyError(f"unknown data set {name!r}; known data sets: {known}")


def build(name: str, out: Path, seed: int = 0, hidden_seed: int | None = None) -> Any:
    """Generate the data set registered as ``name`` into ``out``: training (and
    validation) images from ``seed``, the hidden split from ``hidden_seed`` (None: a
    random one). Returns a FaceDataset or SilhouetteDataset (both have root, train_zip,
    train_dir, hidden_dir)."""
    _known(name)
    return DATASETS[name](Path(out), seed=seed, hidden_seed=hidden_seed)


def redraw_hidden(name: str, root: Path, hidden_seed: int) -> None:
    """Replace only the hidden split of the set ``name`` drawn in ``root``."""
    _known(name)
    _REDRAW_HIDDEN[name](Path(root), hidden_seed)
