"""Staging the other exercises' data: a second (validation) zip where the lessons expect
it, each download address served by its own file, and stand-ins for private helpers."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from grader import exercise, submission
from grader.exercise.datasource import DataPaths
from grader.run import stage


def course_zip(path: Path, classes: tuple[str, ...], marker: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for cls in classes:
            archive.writestr(f"{cls}/{marker}-{cls}.png", b"png")
    return path


def prepared(tmp_path: Path, name: str) -> tuple[Path, dict]:
    spec = exercise.load(name)
    code = tmp_path / "ada.py"
    code.write_text("print('hi')\n")
    data = DataPaths(course_zip(tmp_path / "train.zip", spec.classes, "train"),
                     tmp_path / "hidden",
                     course_zip(tmp_path / "valid.zip", spec.classes, "valid"))
    run = tmp_path / "run"
    stage.prepare(run, submission.load(code), spec, data, in_sandbox=True)
    return run, json.loads((run / "config.json").read_text())


def test_lesson_3_finds_both_zips_and_their_folders(tmp_path: Path) -> None:
    run, config = prepared(tmp_path, "horse-or-human-validation")
    assert (run / "tmp" / "horse-or-human" / "horses" / "train-horses.png").is_file()
    assert (run / "tmp" / "validation-horse-or-human" / "humans" / "valid-humans.png").is_file()
    with zipfile.ZipFile(run / "tmp" / "validation-horse-or-human.zip") as archive:
        assert "horses/valid-horses.png" in archive.namelist()
    urls = config["downloads"]["urls"]
    valid = urls["https://storage.googleapis.com/learning-datasets/"
                 "validation-horse-or-human.zip"]
    train = urls["https://storage.googleapis.com/learning-datasets/horse-or-human.zip"]
    assert valid.endswith("/downloads/validation-horse-or-human.zip")
    assert train.endswith("/downloads/horse-or-human.zip")
    assert config["long_epochs"] == "one_pass"


def test_happy_or_sad_is_staged_as_before(tmp_path: Path) -> None:
    run, config = prepared(tmp_path, "happy-or-sad")
    assert (run / "tmp2" / "happy-or-sad.zip").is_file()
    assert (run / "work" / "data" / "happy" / "train-happy.png").is_file()
    assert set(config["downloads"]["gdown_ids"].values()) == {
        "/grader/run/downloads/happy-or-sad.zip"}
    assert config["long_epochs"] == "repeat"
    assert not (run / "work" / "unittests.py").exists()


def test_the_2024_notebook_gets_a_unittests_stand_in(tmp_path: Path) -> None:
    run, _ = prepared(tmp_path, "happy-or-sad-2024")
    namespace: dict = {}
    exec((run / "work" / "unittests.py").read_text(), namespace)  # noqa: S102 - our own file
    assert callable(namespace["__getattr__"]("test_train_data"))
