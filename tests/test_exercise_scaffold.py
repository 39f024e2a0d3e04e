"""`grader exercise new NAME --from REFERENCE --like BASE` (issue 23, item 5): one grading
of the reference, and a starting spec whose expected values are what it did.

The expected values come from the course's own spec, written by hand before this command
existed (grader/exercise/specs/happy_or_sad.toml): scaffolded from its reference, the new
spec must expect what the course spec expects."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from grader.classwork.scaffold import valid_name
from grader.cli import main
from grader.exercise import EXERCISES_DIR, load

ROOT = Path(__file__).resolve().parent.parent
COURSE = tomllib.loads((EXERCISES_DIR / "happy_or_sad.toml").read_text())


def params_of(spec: dict, check: str) -> dict:
    return next(item.get("params", {}) for item in spec["rubric"] if item["id"] == check)


@pytest.mark.slow
def test_the_scaffold_of_the_course_reference_expects_what_the_course_spec_expects(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reference = ROOT / "reference" / "happy_or_sad" / "solution.py"

    assert main(["exercise", "new", "my-happy", "--from", str(reference), "--like",
                 "happy-or-sad", "--title", "Our happy or sad", "--out", str(tmp_path)]) == 0

    written = tmp_path / "my_happy.toml"
    spec = tomllib.loads(written.read_text())
    assert spec["reference"]["layers"] == COURSE["reference"]["layers"]
    for check in ("input_shape", "generator_rescale", "generator_target_size",
                  "generator_class_mode"):
        assert params_of(spec, check)["expected"] == params_of(COURSE, check)["expected"]
    assert params_of(spec, "loss")["expected"] == ["binary_crossentropy"]
    output = params_of(spec, "output_layer")
    assert (output["units"], output["activation"]) == (1, "sigmoid")
    assert spec["training"]["epoch_limit"] == COURSE["training"]["epoch_limit"]
    assert "detect" not in spec and spec["exercise"]["name"] == "my-happy"
    loaded = load(written)  # it is a valid spec
    assert loaded.title == "Our happy or sad" and loaded.max_score == 100
    out = capsys.readouterr().out
    assert "[detect] was left out" in out and f"then: grader verify {written}" in out


def test_a_name_an_existing_file_or_a_missing_reference_is_refused_before_grading(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reference = ROOT / "reference" / "happy_or_sad" / "solution.py"
    assert main(["exercise", "new", "My Exercise", "--from", str(reference), "--like",
                 "happy-or-sad", "--out", str(tmp_path)]) == 2
    (tmp_path / "taken.toml").write_text("")
    assert main(["exercise", "new", "taken", "--from", str(reference), "--like",
                 "happy-or-sad", "--out", str(tmp_path)]) == 2
    assert main(["exercise", "new", "fine", "--from", str(tmp_path / "gone.py"), "--like",
                 "happy-or-sad", "--out", str(tmp_path)]) == 2
    out = capsys.readouterr()
    text = out.out + out.err
    assert "'My Exercise' is not an exercise name" in text
    assert "taken.toml exists (--force replaces it)" in text
    assert "no such reference" in text
    assert [valid_name(n) for n in ("cats-or-dogs", "w4", "4w", "a_b", "")] == [
        True, True, False, False, False]
