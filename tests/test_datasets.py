"""Fast checks of the synthetic generators: layout, format, reproducibility, and a hidden
split whose seed is its own (never derived from the public training seed)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from grader.exercise import datasets
from grader.exercise.datasets import DATASETS, FaceDataset, build, make_happy_or_sad
from grader.exercise.datasets.faces import GENERATOR_VERSION

SMALL = {"train_per_class": 6, "hidden_per_class": 4}  # keeps the fast tests fast
HIDDEN = 123_456_789  # a hidden seed for tests that need one (the grader's is the secret's)
OLD_PUBLIC_OFFSET = 1_000_003  # the hidden seed used to be the training seed plus this


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _pixel_digests(folder: Path) -> set[str]:
    digests = set()
    for path in folder.rglob("*.png"):
        with Image.open(path) as image:
            digests.add(hashlib.sha256(image.convert("RGBA").tobytes()).hexdigest())
    return digests


@pytest.fixture(scope="module")
def default_dataset(tmp_path_factory: pytest.TempPathFactory) -> FaceDataset:
    return make_happy_or_sad(tmp_path_factory.mktemp("hos") / "data", seed=0,
                             hidden_seed=HIDDEN)


def test_default_layout_and_names(default_dataset: FaceDataset) -> None:
    ds = default_dataset
    assert ds.train_dir == ds.root / "train"
    assert ds.hidden_dir == ds.root / "hidden"
    assert ds.train_zip == ds.root / "happy-or-sad.zip"
    assert (ds.seed, ds.hidden_seed) == (0, HIDDEN)
    for label in ("happy", "sad"):
        names = sorted(p.name for p in (ds.train_dir / label).iterdir())
        expected = sorted(f"{label}{style}-{i:02d}.png" for style in (1, 2) for i in range(20))
        assert names == expected
        assert len(list((ds.hidden_dir / label).glob("*.png"))) == 60
    assert sorted(p.name for p in ds.root.iterdir()) == [
        "dataset.json", "happy-or-sad.zip", "hidden", "train"]


def test_images_are_150px_rgba(default_dataset: FaceDataset) -> None:
    paths = list(default_dataset.root.rglob("*.png"))
    assert len(paths) == 2 * 40 + 2 * 60
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (150, 150)
            assert image.mode == "RGBA"


def test_zip_matches_course_layout(default_dataset: FaceDataset) -> None:
    with zipfile.ZipFile(default_dataset.train_zip) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == sorted(names)
        assert {name.split("/")[0] for name in names} == {"happy", "sad"}
        assert len(names) == 80
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
        for name in names:
            assert archive.read(name) == (default_dataset.train_dir / name).read_bytes()


def test_manifest(default_dataset: FaceDataset) -> None:
    manifest = json.loads((default_dataset.root / "dataset.json").read_text())
    assert manifest["name"] == "happy-or-sad"
    assert manifest["generator"] == GENERATOR_VERSION
    assert manifest["seed"] == 0
    assert "hidden_seed" not in manifest  # as secret as the hidden images
    assert str(HIDDEN) not in (default_dataset.root / "dataset.json").read_text()
    assert manifest["counts"] == {"train": {"happy": 40, "sad": 40},
                                  "hidden": {"happy": 60, "sad": 60}}


def test_hidden_split_never_repeats_a_training_image(default_dataset: FaceDataset) -> None:
    train = _pixel_digests(default_dataset.train_dir)
    hidden = _pixel_digests(default_dataset.hidden_dir)
    assert len(train) == 80 and len(hidden) == 120  # no duplicates within a split either
    assert not train & hidden


def test_training_pairs_differ_only_in_expression(default_dataset: FaceDataset) -> None:
    """happyS-NN and sadS-NN share background and face; the faces' corners show it."""
    for name in ("1-00", "1-13", "2-05"):
        with Image.open(default_dataset.train_dir / "happy" / f"happy{name}.png") as happy, \
                Image.open(default_dataset.train_dir / "sad" / f"sad{name}.png") as sad:
            assert happy.getpixel((0, 0)) == sad.getpixel((0, 0))
            assert happy.getpixel((149, 149)) == sad.getpixel((149, 149))
            assert happy.tobytes() != sad.tobytes()


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = make_happy_or_sad(tmp_path / "a", seed=7, hidden_seed=11, **SMALL)
    second = make_happy_or_sad(tmp_path / "b", seed=7, hidden_seed=11, **SMALL)
    assert _files(first.root) == _files(second.root)


def test_regenerating_in_place_replaces_old_images(tmp_path: Path) -> None:
    make_happy_or_sad(tmp_path / "d", seed=1, train_per_class=8, hidden_per_class=5)
    ds = make_happy_or_sad(tmp_path / "d", seed=1, **SMALL)
    assert len(list(ds.train_dir.rglob("*.png"))) == 12
    assert len(list(ds.hidden_dir.rglob("*.png"))) == 8
    with zipfile.ZipFile(ds.train_zip) as archive:
        assert len(archive.namelist()) == 12


def test_different_seeds_differ(tmp_path: Path) -> None:
    first = _files(make_happy_or_sad(tmp_path / "a", seed=1, **SMALL).train_dir)
    second = _files(make_happy_or_sad(tmp_path / "b", seed=2, **SMALL).train_dir)
    assert first.keys() == second.keys()
    assert all(first[name] != second[name] for name in first)


def test_hidden_seed_is_used(tmp_path: Path) -> None:
    ds = make_happy_or_sad(tmp_path / "a", seed=3, hidden_seed=11, **SMALL)
    other = make_happy_or_sad(tmp_path / "b", seed=3, hidden_seed=12, **SMALL)
    assert ds.hidden_seed == 11
    assert _files(ds.train_dir) == _files(other.train_dir)
    assert _files(ds.hidden_dir) != _files(other.hidden_dir)


def test_registry_builds_and_rejects_unknown_names(tmp_path: Path) -> None:
    assert DATASETS["happy-or-sad"] is make_happy_or_sad
    ds = build("happy-or-sad", tmp_path / "d", seed=4)
    assert isinstance(ds, FaceDataset) and ds.seed == 4
    with pytest.raises(KeyError, match="happy-or-sad"):
        build("horses-or-humans", tmp_path / "x")


def test_rejects_negative_seed(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        make_happy_or_sad(tmp_path / "d", seed=-1, **SMALL)


def test_hidden_loader_labels_follow_flow_from_directory(tmp_path: Path) -> None:
    from grader.exercise.datasets.calibrate import load_hidden

    ds = make_happy_or_sad(tmp_path / "d", seed=5, **SMALL)
    x, y = load_hidden(ds.hidden_dir)
    assert x.shape == (8, 150, 150, 3)
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert y.tolist() == [0] * 4 + [1] * 4  # happy = 0, sad = 1 (alphabetical)


def test_without_a_hidden_seed_the_hidden_split_is_random(tmp_path: Path) -> None:
    """Nothing public draws it: not the default, not the training seed plus the old
    public offset (what a run could once redraw from one training image)."""
    first = make_happy_or_sad(tmp_path / "a", seed=3, **SMALL)
    second = make_happy_or_sad(tmp_path / "b", seed=3, **SMALL)
    old = make_happy_or_sad(tmp_path / "c", seed=3, hidden_seed=3 + OLD_PUBLIC_OFFSET, **SMALL)
    assert _files(first.train_dir) == _files(second.train_dir) == _files(old.train_dir)
    hidden = [set(_files(ds.hidden_dir).values()) for ds in (first, second, old)]
    assert not hidden[0] & hidden[1] and not hidden[0] & hidden[2]
    assert first.hidden_seed != second.hidden_seed


def test_redrawing_the_hidden_split_keeps_the_training_data(tmp_path: Path) -> None:
    ds = make_happy_or_sad(tmp_path / "d", seed=2, hidden_seed=5, **SMALL)
    train, zipped = _files(ds.train_dir), ds.train_zip.read_bytes()
    datasets.redraw_hidden("happy-or-sad", ds.root, 6)
    fresh = make_happy_or_sad(tmp_path / "fresh", seed=2, hidden_seed=6, **SMALL)
    assert _files(ds.train_dir) == train and ds.train_zip.read_bytes() == zipped
    assert _files(ds.hidden_dir) == _files(fresh.hidden_dir)
    assert sorted(p.name for p in ds.root.iterdir()) == [
        "dataset.json", "happy-or-sad.zip", "hidden", "train"]  # nothing left aside


def test_silhouette_sets_take_their_hidden_seed_apart(tmp_path: Path) -> None:
    import dataclasses

    from grader.exercise.datasets import drawing, hands

    recipe = dataclasses.replace(hands.RECIPE, train_per_class=2, validation_per_class=1,
                                 hidden_per_class=2)
    one = drawing.make(recipe, tmp_path / "one", seed=0, hidden_seed=1)
    two = drawing.make(recipe, tmp_path / "two", seed=0, hidden_seed=2)
    public = drawing.make(recipe, tmp_path / "public", seed=0, hidden_seed=0)  # the old way
    assert one.train_zip.read_bytes() == two.train_zip.read_bytes()
    assert one.validation_zip.read_bytes() == two.validation_zip.read_bytes()
    assert _files(one.hidden_dir) != _files(two.hidden_dir) != _files(public.hidden_dir)
    drawing.redraw_hidden(recipe, one.root, 2)
    assert _files(one.hidden_dir) == _files(two.hidden_dir)
    assert one.train_zip.read_bytes() == two.train_zip.read_bytes()


def test_the_registry_knows_each_sets_zip_and_refuses_unknown_names(
        tmp_path: Path, default_dataset: FaceDataset) -> None:
    assert set(datasets.TRAIN_ZIPS) == set(DATASETS) == set(datasets.VERSIONS)
    assert default_dataset.train_zip.name == datasets.TRAIN_ZIPS["happy-or-sad"]
    with pytest.raises(KeyError, match="unknown data set"):
        datasets.redraw_hidden("horses-or-humans", tmp_path / "d", 1)
