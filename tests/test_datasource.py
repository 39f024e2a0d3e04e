"""An instructor's own data: a training folder or zip and a hidden folder, checked up front."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from grader import exercise
from grader.exercise import datasets, datasource


def _class_folders(root: Path, classes: tuple[str, ...] = ("happy", "sad")) -> Path:
    for cls in classes:
        (root / cls).mkdir(parents=True)
        for index in range(2):
            Image.new("RGBA", (150, 150), (index * 90, 10, 10, 255)).save(
                root / cls / f"{cls}{index}.png")
    return root


def test_training_folder_is_zipped_in_the_course_layout(tmp_path: Path) -> None:
    spec = exercise.load("happy-or-sad", train=_class_folders(tmp_path / "train"),
                         hidden=_class_folders(tmp_path / "hidden"))
    data = datasource.resolve(spec, tmp_path / "data")
    with zipfile.ZipFile(data.train_zip) as archive:
        assert sorted(archive.namelist()) == ["happy/happy0.png", "happy/happy1.png",
                                              "sad/sad0.png", "sad/sad1.png"]
    assert data.hidden_dir == tmp_path / "hidden"


def test_training_zip_is_used_as_given(tmp_path: Path) -> None:
    folder = _class_folders(tmp_path / "train")
    course_zip = tmp_path / "happy-or-sad.zip"
    with zipfile.ZipFile(course_zip, "w") as archive:
        for file in sorted(folder.rglob("*.png")):
            archive.write(file, file.relative_to(folder).as_posix())
    spec = exercise.load("happy-or-sad", train=course_zip,
                         hidden=_class_folders(tmp_path / "hidden"))
    assert datasource.resolve(spec, tmp_path / "data").train_zip == course_zip


@pytest.mark.parametrize(("make_train", "make_hidden", "message"), [
    (lambda p: _class_folders(p / "t", ("happy",)), lambda p: _class_folders(p / "h"),
     "training folder .* has no sad folder"),
    (lambda p: _class_folders(p / "t"), lambda p: _class_folders(p / "h", ("sad",)),
     "hidden split .* has no happy folder"),
    (lambda p: _class_folders(p / "t"), lambda p: p / "missing", "is not a folder"),
    (lambda p: (p / "notzip.zip").write_text("x") and p / "notzip.zip",
     lambda p: _class_folders(p / "h"), "neither a folder nor a zip"),
])
def test_unusable_instructor_data_is_one_clear_error(tmp_path: Path, make_train, make_hidden,  # noqa: ANN001
                                                     message: str) -> None:
    spec = exercise.load("happy-or-sad", train=make_train(tmp_path),
                         hidden=make_hidden(tmp_path))
    with pytest.raises(datasource.DataError, match=message):
        datasource.resolve(spec, tmp_path / "data")


def test_a_cached_set_drawn_by_another_generator_version_is_redrawn(tmp_path: Path) -> None:
    stale = tmp_path / "data" / "happy-or-sad"
    stale.mkdir(parents=True)
    (stale / "dataset.json").write_text('{"generator": "faces-0.1"}')
    (stale / "stale-marker").write_text("x")
    data = datasource.resolve(exercise.load("happy-or-sad"), tmp_path / "data")
    assert not (stale / "stale-marker").exists()
    assert '"generator": "' + datasets.VERSIONS["happy-or-sad"] in \
        (stale / "dataset.json").read_text()
    assert data.train_zip.exists() and (data.hidden_dir / "happy").is_dir()
