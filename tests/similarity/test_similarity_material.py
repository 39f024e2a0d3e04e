"""Copy detection that knows the course material (issue 20): `--course-material DIR`,
the shared own literals and hyperparameters, and "too little own code to judge".

The class and its lesson are written here (similarity_lesson.py): no course file is read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from similarity_disguise import write_notebook
from similarity_fixtures import REPO
from similarity_lesson import (
    EXERCISE_NAME,
    LESSON,
    LESSON_NAME,
    write_class,
    write_material,
)

from grader.cli import main as grader_main
from grader.errors import SpecError
from grader.grade import load_exercise
from grader.similarity.api import SimilarityResult, compare_source
from grader.similarity.evidence import traits
from grader.similarity.lexer import literals
from grader.similarity.result import TOO_LITTLE

NAMES = (LESSON_NAME, EXERCISE_NAME)


@pytest.fixture(scope="module")
def lesson_class(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(class folder, course material folder), written once for the module."""
    root = tmp_path_factory.mktemp("lesson")
    return write_class(root / "class"), write_material(root / "material")


@pytest.fixture(scope="module")
def without_material(lesson_class: tuple[Path, Path]) -> SimilarityResult:
    """The instructor gives only the exercise notebook as a template (the old way)."""
    source, material = lesson_class
    return compare_source(source, templates=[material / EXERCISE_NAME])


@pytest.fixture(scope="module")
def with_material(lesson_class: tuple[Path, Path]) -> SimilarityResult:
    source, material = lesson_class
    return compare_source(source, course_material=material, material_names=NAMES)


def _pair(result: SimilarityResult, a: str, b: str):  # noqa: ANN202
    return next(p for p in result.pairs if {p.a, p.b} == {a, b})


def test_lesson_code_two_honest_students_paste_flags_them_without_the_material(
        without_material: SimilarityResult) -> None:
    """(a) ann and ben each wrote their own callback; what they share is the lesson's model
    and prediction cell, which only the two of them pasted. With the exercise notebook
    alone as template, that looks like a copy."""
    assert ("ben" in dict(without_material.flagged_students().get("ann", [])))


def test_with_the_course_material_the_honest_pair_is_not_flagged(
        with_material: SimilarityResult) -> None:
    """(b) The lesson removed like a template, ann's and ben's own code (two different
    callbacks) is what is compared; nobody honest is flagged."""
    flagged = with_material.flagged_students()
    assert "ann" not in flagged and "ben" not in flagged
    assert set(flagged) == {"carol", "dave"}
    data = with_material.to_json()
    assert sorted(data["course_material"]) == sorted(NAMES)
    assert data["warnings"] == []


def test_a_disguised_copy_with_little_own_code_is_flagged_by_its_literals(
        with_material: SimilarityResult) -> None:
    """(c) carol's own work is the lesson with her hyperparameters and one message: a
    handful of tokens, so the token share cannot flag dave's disguised copy (renamed,
    reformatted, reordered, dead code, notebook -> module), but her path, her message
    and her numbers in their order survive it, and nobody else has them."""
    pair = _pair(with_material, "carol", "dave")
    assert pair.flagged
    assert pair.score < with_material.comparison.settings.threshold  # not by tokens
    assert "carol-data/happy-or-sad" in pair.evidence.strings
    assert "carol: my own settings for the happy-or-sad images" in pair.evidence.strings
    # 24 filters, 384 units, learning rate 0.0007: her values, in the lesson's order
    assert {"24", "384", "0.0007"} <= set(pair.evidence.sequence)
    text = pair.evidence.describe()
    assert text.startswith("shares 2 of its own string literals and the hyperparameter "
                           "sequence 24, ")
    assert with_material.flagged_students()["carol"] == [("dave", pair.score)]


def test_evidence_never_uses_what_the_course_material_holds(
        with_material: SimilarityResult) -> None:
    """The lesson's messages and hyperparameters, which ann and ben both kept, are not
    evidence against them."""
    pair = _pair(with_material, "ann", "ben")
    assert not pair.flagged
    assert " is a human" not in pair.evidence.strings
    assert pair.evidence.points == 0


def test_a_submission_that_is_all_course_material_is_too_little_to_judge(
        lesson_class: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """(d) erin handed in the lesson: she is not flagged, and the JSON, the page and the
    terminal say that nothing of hers could be judged, never a silent pass. The spec's
    names the folder lacks are one warning line."""
    source, material = lesson_class
    out = tmp_path / "out"
    code = grader_main(["similarity", str(source), "--exercise", "happy-or-sad", "--out",
                        str(out), "--course-material", str(material)])
    assert code == 0
    captured = capsys.readouterr()
    data = json.loads((out / "similarity.json").read_text(encoding="utf-8"))
    erin = next(s for s in data["submissions"] if s["student"] == "erin")
    assert erin["judgement"] == TOO_LITTLE and not erin["flagged"]
    assert erin["own_tokens"] == 0
    ann = next(s for s in data["submissions"] if s["student"] == "ann")
    assert ann["judgement"] is None
    assert data["summary"]["too_little_own_code"] == 2  # erin, and carol (see above)
    assert f"erin: {TOO_LITTLE}" in captured.out
    page = (out / "similarity.html").read_text(encoding="utf-8")
    assert page.count(f"<strong>{TOO_LITTLE}</strong>") == 2
    lacks = [line for line in captured.err.splitlines() if "lacks" in line]
    assert len(lacks) == 1 and "C1W4_Assignment.ipynb" in lacks[0]
    assert LESSON_NAME not in lacks[0] and EXERCISE_NAME not in lacks[0]
    assert "shares 2 of its own string literals" in captured.out  # carol ~ dave


def test_a_missing_material_folder_is_a_usage_error(
        lesson_class: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    source, _ = lesson_class
    code = grader_main(["similarity", str(source), "--out", str(tmp_path / "out"),
                        "--course-material", str(tmp_path / "nowhere")])
    assert code == 2
    assert "no such folder" in capsys.readouterr().err


def test_the_exercise_specs_name_the_course_files_by_their_published_names() -> None:
    """Names as PROVENANCE.tsv's `path` column gives them (the lmoroney/dlaicourse
    lessons and question, the tensorflow-1-public assignments), inherited by the later
    course versions."""
    for name in ("happy-or-sad", "happy-or-sad-2022", "happy-or-sad-2024"):
        material = load_exercise(name).similarity_material
        assert {LESSON_NAME, EXERCISE_NAME, "C1_W4_Assignment.ipynb",
                "C1W4_Assignment.ipynb"} <= set(material)
    assert LESSON_NAME in load_exercise("horse-or-human-150").similarity_material


@pytest.mark.parametrize("value", ['"Lesson 2.ipynb"', '["lessons/Lesson 2.ipynb"]', "[3]",
                                   '[""]'])
def test_course_material_must_be_a_list_of_file_names(tmp_path: Path, value: str) -> None:
    spec_text = (REPO / "grader" / "exercise" / "specs" / "happy_or_sad.toml").read_text(
        encoding="utf-8")
    start = spec_text.index("course_material = [")
    end = spec_text.index("]\n", start) + 2
    path = tmp_path / "bad.toml"
    path.write_text(spec_text[:start] + f"course_material = {value}\n" + spec_text[end:],
                    encoding="utf-8")
    with pytest.raises(SpecError, match="course_material"):
        load_exercise(path)


def test_batch_takes_course_material_only_with_similarity(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = grader_main(["batch", str(tmp_path), "--out", str(tmp_path / "out"),
                        "--course-material", str(tmp_path)])
    assert code == 2
    assert "--course-material need --similarity" in capsys.readouterr().err


def test_batch_passes_the_material_and_the_spec_names_to_the_comparison(
        tmp_path: Path) -> None:
    from grader.cli.batch import _similarity

    spec = load_exercise("happy-or-sad")
    args = argparse.Namespace(similarity=True, template=[], against=[],
                              course_material=tmp_path)
    compare = _similarity(args, spec)
    assert compare.keywords["course_material"] == tmp_path
    assert compare.keywords["material_names"] == spec.similarity_material


def test_another_course_version_of_one_name_sits_in_a_subfolder(tmp_path: Path) -> None:
    """Two versions of C1W4_Assignment.ipynb cannot share a folder: any .ipynb or .py
    under DIR counts, and a name is present when a file anywhere under DIR has it."""
    from grader.similarity.material import find_course_material

    (tmp_path / "2022").mkdir()
    write_notebook(tmp_path / "2022" / "C1W4_Assignment.ipynb", LESSON)
    (tmp_path / "notes.txt").write_text("not code", encoding="utf-8")
    found = find_course_material(tmp_path, ("c1w4_assignment.ipynb", LESSON_NAME))
    assert [p.relative_to(tmp_path).as_posix() for p in found.files] == [
        "2022/C1W4_Assignment.ipynb"]
    assert found.missing == (LESSON_NAME,)
    assert found.warning() is not None and LESSON_NAME in found.warning()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(), max_size=4))
def test_traits_never_raise_on_any_text(cells: list[str]) -> None:
    """What a student hands in is arbitrary text: unterminated strings, stray quotes,
    binary junk; the extractor reads it all and never raises."""
    found = traits(cells)
    assert all(isinstance(s, str) and s for s in found.strings)
    assert all(n not in ("0", "1") for n in found.numbers)


_CODE_BITS = st.sampled_from(["'", '"', "'''", '"""', "#", "\n", "\\", "1e", "0x", "1_0",
                              ".5", "f'{x}'", "b''", "rb'", "(", ")", " ", "x = 16",
                              "print('hi there')", "# a comment of words\n", "1j"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_CODE_BITS, max_size=30).map("".join))
def test_literals_never_raise_on_code_like_text(source: str) -> None:
    for kind, text in literals(source):
        assert kind in ("comment", "string", "number") and text


@pytest.mark.parametrize(("written", "same_as"), [("16.0", "16"), ("1.6e1", "16"),
                                                 ("1e-3", "0.001"), ("1_000", "1000")])
def test_a_hyperparameter_is_its_value_however_written(written: str, same_as: str) -> None:
    assert traits([f"f({written}, 7, 9, 11)"]).numbers == traits(
        [f"f({same_as}, 7, 9, 11)"]).numbers
