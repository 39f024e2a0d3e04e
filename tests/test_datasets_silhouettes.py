"""The synthetic horse-or-human and rock-paper-scissors sets: the course's layout,
reproducible from a seed, and drawn in matched pairs (see grader/datasets/drawing.py)."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from grader.exercise.datasets import drawing, hands, horses

SMALL = {"train_per_class": 3, "validation_per_class": 2, "hidden_per_class": 2}


@pytest.fixture(scope="module")
def horse_set(tmp_path_factory: pytest.TempPathFactory) -> drawing.SilhouetteDataset:
    recipe = dataclasses.replace(horses.RECIPE, **SMALL)
    return drawing.make(recipe, tmp_path_factory.mktemp("horses"), seed=0)


def test_the_course_zips_have_the_class_folders_at_the_top(
        horse_set: drawing.SilhouetteDataset) -> None:
    with zipfile.ZipFile(horse_set.train_zip) as archive:
        names = archive.namelist()
    assert horse_set.train_zip.name == "horse-or-human.zip"
    assert {n.split("/")[0] for n in names} == {"horses", "humans"} and len(names) == 6
    with zipfile.ZipFile(horse_set.validation_zip) as archive:
        assert len(archive.namelist()) == 4
    assert horse_set.validation_zip.name == "validation-horse-or-human.zip"
    assert sorted(p.name for p in horse_set.hidden_dir.iterdir()) == ["horses", "humans"]


def test_images_are_300_by_300_rgb(horse_set: drawing.SilhouetteDataset) -> None:
    with Image.open(next((horse_set.train_dir / "horses").iterdir())) as image:
        assert image.size == (300, 300) and image.mode == "RGB"


def test_the_same_seed_gives_the_same_bytes(horse_set: drawing.SilhouetteDataset,
                                            tmp_path: Path) -> None:
    recipe = dataclasses.replace(horses.RECIPE, **SMALL)
    again = drawing.make(recipe, tmp_path / "again", seed=0)
    other = drawing.make(recipe, tmp_path / "other", seed=1)
    assert again.train_zip.read_bytes() == horse_set.train_zip.read_bytes()
    assert other.train_zip.read_bytes() != horse_set.train_zip.read_bytes()


def test_training_pairs_share_the_background_and_hidden_images_do_not(
        horse_set: drawing.SilhouetteDataset) -> None:
    """Pairs keep a class from owning a background colour; the hidden split is unpaired."""
    def corner(folder: Path, name: str) -> tuple[int, ...]:
        with Image.open(folder / name) as image:
            return image.getpixel((1, 1))

    train = horse_set.train_dir
    assert corner(train, "horses/horses-000.png") == corner(train, "humans/humans-000.png")
    hidden = horse_set.hidden_dir
    assert corner(hidden, "horses/horses-000.png") != corner(hidden, "humans/humans-000.png")


def test_rock_paper_scissors_has_three_classes_at_150(tmp_path: Path) -> None:
    recipe = dataclasses.replace(hands.RECIPE, **SMALL)
    built = drawing.make(recipe, tmp_path, seed=0)
    with zipfile.ZipFile(built.train_zip) as archive:
        assert {n.split("/")[0] for n in archive.namelist()} == {"paper", "rock", "scissors"}
    with Image.open(next((built.hidden_dir / "rock").iterdir())) as image:
        assert image.size == (150, 150)
