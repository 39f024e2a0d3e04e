"""Synthetic data sets that stand in for course downloads the grader may not ship.

A registry keeps the grader's configuration down to a name (``"happy-or-sad"``) and a
seed, so exercises and tests can ask for data without knowing how it is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.exercise.datasets import hands, horses
from grader.exercise.datasets.faces import GENERATOR_VERSION, FaceDataset, make_happy_or_sad

__all__ = ["DATASETS", "VERSIONS", "FaceDataset", "build", "make_happy_or_sad"]

DATASETS: dict[str, Callable[..., Any]] = {
    "happy-or-sad": make_happy_or_sad,
    horses.DATASET_NAME: horses.make_horse_or_human,
    hands.DATASET_NAME: hands.make_rock_paper_scissors,
}
# What dataset.json's "generator" must say for a cached copy to be reused.
VERSIONS: dict[str, str] = {"happy-or-sad": GENERATOR_VERSION,
                            horses.DATASET_NAME: horses.GENERATOR_VERSION,
                            hands.DATASET_NAME: hands.GENERATOR_VERSION}


def build(name: str, out: Path, seed: int = 0) -> Any:
    """Generate the data set registered as ``name`` into ``out`` with ``seed``; returns a
    FaceDataset or SilhouetteDataset (both have root, train_zip, train_dir, hidden_dir)."""
    try:
        maker = DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise KeyError(f"unknown data set {name!r}; known data sets: {known}") from None
    return maker(Path(out), seed=seed)
