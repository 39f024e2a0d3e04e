"""Exercise discovery: `grader grade FILE` picks the exercise and course version from the
notebook's code, says why, and refuses (exit 2, candidates listed) when unsure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import exercise
from grader.cli import main
from grader.exercise import detect

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = {
    "happy-or-sad": "happy_or_sad/solution.ipynb",
    "happy-or-sad-2022": "happy_or_sad_2022/solution.ipynb",
    "happy-or-sad-2024": "happy_or_sad_2024/solution.ipynb",
    "horse-or-human": "horse_or_human/solution.py",
    "horse-or-human-validation": "horse_or_human_validation/solution.py",
    "horse-or-human-150": "horse_or_human_150/solution.py",
    "rock-paper-scissors": "rock_paper_scissors/solution.py",
}


def notebook(path: Path, *cells: str) -> Path:
    path.write_text(json.dumps({"cells": [
        {"cell_type": "code", "source": c, "metadata": {}, "outputs": [],
         "execution_count": None, "id": f"c{i}"} for i, c in enumerate(cells)],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_every_installed_exercise_has_a_reference_that_detects_as_it() -> None:
    assert set(REFERENCES) == set(exercise.available())
    for name, reference in REFERENCES.items():
        found = detect.detect(ROOT / "reference" / reference)
        assert found.exercise == name, found.message


@pytest.mark.parametrize(("cells", "version"), [
    (("!gdown --id 1NvV6VhmrfU8JDZNoEbwJxwx_6dhyN5bf",
      "zipfile.ZipFile('./happy-or-sad.zip').extractall('./h-or-s')",
      "def train_happy_sad_model():\n    return history.history['accuracy'][-1]"), "2021"),
    (("!wget https://storage.googleapis.com/x/happy-or-sad.zip -O /tmp/happy-or-sad.zip",
      "model.fit_generator(train_generator)  # /tmp/h-or-s"), "2019–2020"),
])
def test_the_course_version_of_happy_or_sad(tmp_path: Path, cells: tuple[str, ...],
                                            version: str) -> None:
    found = detect.detect(notebook(tmp_path / "n.ipynb", *cells))
    assert (found.exercise, found.version) == ("happy-or-sad", version)
    assert f"course version {version}" in found.message


def test_markdown_does_not_count(tmp_path: Path) -> None:
    path = notebook(tmp_path / "n.ipynb", "print('hello')")
    raw = json.loads(path.read_text())
    raw["cells"].append({"cell_type": "markdown", "source": "happy or sad", "metadata": {},
                         "id": "m"})
    path.write_text(json.dumps(raw))
    assert detect.detect(path).exercise is None


def test_an_unknown_file_lists_every_installed_exercise(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    path = notebook(tmp_path / "mnist.ipynb", "model.fit(x_train, y_train)")
    assert main(["grade", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no installed exercise recognises" in err
    assert all(name in err for name in exercise.available())
    assert not (tmp_path / "out").exists()


def test_a_tie_is_refused_with_the_candidates(tmp_path: Path) -> None:
    spec = exercise.load("horse-or-human")
    twin = exercise.load("horse-or-human")
    twin = type(twin)(**{**vars(twin), "name": "horse-or-human-twin"})
    path = ROOT / "reference" / REFERENCES["horse-or-human"]
    found = detect.detect(path, [spec, twin])
    assert found.exercise is None
    assert found.candidates == ("horse-or-human", "horse-or-human-twin")
    assert "could be any of horse-or-human, horse-or-human-twin" in found.message


def test_an_unreadable_file_is_still_graded_as_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ not json")
    chosen = detect.exercise_for(bad)
    assert chosen.exercise == detect.DEFAULT_EXERCISE and "cannot be read" in chosen.message
