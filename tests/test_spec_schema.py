"""Exercise specs are validated whole by pydantic models (grader.exercise.schema): the
nonsense the hand-written loader accepted is one clear line, exit 2 (issue 23, item 4)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.cli import main
from grader.errors import SpecError
from grader.exercise import EXERCISES_DIR, schema
from grader.grade import load_exercise

SPEC = (EXERCISES_DIR / "happy_or_sad.toml").read_text()


def refused(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_exercise(path)
    return str(caught.value)


@pytest.mark.parametrize(("old", "new", "message"), [
    # each of these was accepted before: 'abc' became ('a', 'b', 'c'), 0 and -5 were
    # limits, "false" read as true, "x" raised a bare ValueError
    ('zip_paths = ["/tmp/happy-or-sad.zip", "./happy-or-sad.zip", "../tmp2/happy-or-sad.zip"]',
     'zip_paths = "abc"', "[stage] zip_paths: input should be a valid list (got 'abc')"),
    ("memory_mb = 4096", "memory_mb = 0",
     "[limits] memory_mb: input should be greater than or equal to 64 (got 0)"),
    ("time_seconds = 600", "time_seconds = -5",
     "[limits] time_seconds: input should be greater than 0 (got -5)"),
    ("required = false", 'required = "false"',
     "[entry_point] required: input should be a valid boolean (got 'false')"),
    ("seed = 42", 'seed = "x"', "[exercise] seed: input should be a valid integer (got 'x')"),
    ('classes = ["happy", "sad"]', 'classes = ["happy"]',
     "[data] classes: list should have at least 2 items after validation, not 1 "
     "(got ['happy'])"),
])
def test_nonsense_is_one_line_naming_file_table_key_allowed_and_given(
        tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in SPEC
    assert refused(tmp_path, SPEC.replace(old, new, 1)) == f"bad.toml: {message}"


def test_a_bad_spec_exits_2_with_its_line(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(SPEC.replace("memory_mb = 4096", "memory_mb = 0", 1))
    module = tmp_path / "m.py"
    module.write_text("print(1)\n")

    assert main(["grade", str(module), "--exercise", str(path), "--out",
                 str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "bad.toml: [limits] memory_mb: input should be greater than or equal to 64" \
        in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_every_installed_spec_is_valid_and_the_schema_is_printed(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercises", "--schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "Exercise spec of the TensorFlow course grader"
    assert set(printed["required"]) == {"exercise", "data", "rubric"}
    assert printed["additionalProperties"] is False
    assert main(["exercises"]) == 0


def _mutations() -> st.SearchStrategy[tuple[list[str], Any]]:
    raw = tomllib.loads(SPEC)
    paths = [[table, key] for table, body in raw.items() if isinstance(body, dict)
             for key in body]
    values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                       st.text(max_size=20), st.lists(st.text(max_size=5), max_size=3),
                       st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
    return st.tuples(st.sampled_from(paths + [["rubric"], ["extra"], ["data"]]), values)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutations())
def test_any_value_anywhere_is_accepted_or_one_spec_error(change: tuple[list[str], Any]
                                                          ) -> None:
    where, value = change
    raw = tomllib.loads(SPEC)
    target = raw
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    try:
        schema.validate(raw, Path("fuzzed.toml"))
    except SpecError as exc:
        line = str(exc)
        assert line.startswith("fuzzed.toml: ") and "\n" not in line
