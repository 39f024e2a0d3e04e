"""Exercise specs are data: loaded, validated, and bad specs refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import exercise
from grader.checks import REGISTRY
from grader.errors import SpecError
from grader.grade import load_exercise

SPEC = Path(exercise.EXERCISES_DIR / "happy_or_sad.toml").read_text()


def test_happy_or_sad_spec(spec: exercise.ExerciseSpec) -> None:
    assert spec.name == "happy-or-sad"
    assert spec.classes == ("happy", "sad")
    assert spec.accuracy_threshold == 0.999 and spec.epoch_limit == 15
    assert spec.max_score == 100
    assert "/tmp/happy-or-sad.zip" in spec.zip_paths
    assert "../tmp2/happy-or-sad.zip" in spec.zip_paths
    assert {d.gdown_id for d in spec.downloads if d.gdown_id} == {
        "1NvV6VhmrfU8JDZNoEbwJxwx_6dhyN5bf"}
    assert all(item.id in REGISTRY for item in spec.rubric)
    assert spec.entry_function == "train_happy_sad_model"


def test_listed_as_available() -> None:
    assert "happy-or-sad" in exercise.available()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.replace('id = "runs"', 'id = "runz"'), "'runz' is not a known check"),
    (lambda s: s.replace("points = 10\n", "ponits = 10\n", 1), "[[rubric]] #1 ponits: unknown key"),
    (lambda s: s + "\n[extra]\nx = 1\n", "[extra]: unknown table; a spec has [exercise], [data]"),
    (lambda s: s.replace("[exercise]", "[exercise", 1), "not valid TOML"),
])
def test_bad_specs_are_refused(tmp_path: Path, edit, message: str) -> None:  # noqa: ANN001
    path = tmp_path / "bad.toml"
    path.write_text(edit(SPEC))
    with pytest.raises(SpecError) as caught:
        load_exercise(path)
    assert message in str(caught.value)


def test_unknown_exercise_lists_installed() -> None:
    with pytest.raises(SpecError, match="installed: .*happy-or-sad"):
        exercise.load("horse-or-zebra")


def test_instructor_data_override(tmp_path: Path) -> None:
    spec = exercise.load("happy-or-sad", train=tmp_path / "t.zip", hidden=tmp_path / "h")
    assert spec.train_source == tmp_path / "t.zip"
    assert spec.hidden_source == tmp_path / "h"
