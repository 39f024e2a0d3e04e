"""Acceptance: disguised copies are found and flagged; independent solutions are not.

The copies are made here, at test time, from the reference solutions and the sample
submissions (similarity_disguise: every identifier renamed, comments rewritten, numbers
changed, independent cells or functions reordered, dead code inserted, notebook and module
swapped). The class they are planted in is every original plus every copy, compared with
the course's starter template removed: a class in which most solutions are correct
versions of one exercise, as a real one is.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from similarity_disguise import disguise, read_cells
from similarity_fixtures import CORPUS, SAMPLES, corpus_rows, original_name, originals

from grader.similarity.api import SimilarityResult, compare_class
from grader.similarity.compare import Settings

INDEPENDENT = ["ref_happy_or_sad_py", "correct_modern", "correct_course_era", "cells_form"]
# Originals that are one file apart: lesson 3's reference is lesson 4's with two more conv
# blocks, the cells-form sample is the course-era one without its function, and the
# subdirectory-mistake sample is the course-era one with its directory changed and two
# prints (three lines). A copy of one is as much a copy of the other; the tool rightly
# reports the pair itself. (The last pair was left unflagged only while enough of the class
# shared its lines for them to count as the class's common code.)
_TWIN_GROUPS = ({"ref_horse_or_human_150_py", "ref_horse_or_human_validation_py"},
                {"cells_form", "correct_course_era", "subdirectory_mistake"})


def twins(name: str) -> set[str]:
    """The originals one file apart from `name` (itself included)."""
    return next((group for group in _TWIN_GROUPS if name in group), {name})


# Course-era notebooks that differ from the rest of the class by one line or two (the
# mistake they were written to show, or two numbers for two_steps_of_forty): once the
# template and the class's common code are removed little is left, so a copy of one is
# not evidence, and must not be flagged against anybody else either.
THIN = {"ref_happy_or_sad_ipynb", "correct_course_era", "cells_form", "wrong_input_shape",
        "two_steps_of_forty"}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimilarityResult, dict[str, str]]:
    folder = tmp_path_factory.mktemp("planted")
    template = folder / "starter.ipynb"
    from similarity_disguise import write_notebook
    from similarity_fixtures import STAND_IN_TEMPLATE
    write_notebook(template, STAND_IN_TEMPLATE)
    entries, copies = [], {}
    for seed, path in enumerate(originals()):
        name = original_name(path)
        copy = disguise(path, folder, f"copy_{name}", seed=seed)
        entries += [(name, path), (f"copy_{name}", copy)]
        copies[f"copy_{name}"] = name
    return compare_class(entries, templates=[template], against=[], threshold=None), copies


def test_the_copies_are_disguised(planted: tuple[SimilarityResult, dict[str, str]],
                                  tmp_path: Path) -> None:
    """The disguise really happened: different file kind, no original identifier of the
    code's own, different numbers, and still Python wherever the original was."""
    result, copies = planted
    by_name = {d.source.name: d for d in result.submissions}
    for copy, source in copies.items():
        original, disguised = by_name[source].source, by_name[copy].source
        assert Path(original.file).suffix != Path(disguised.file).suffix
        own = {n.id for cell in _parsed(original.cells) for n in ast.walk(cell)
               if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        used = {n.id for cell in _parsed(disguised.cells) for n in ast.walk(cell)
                if isinstance(n, ast.Name)}
        assert own and not own & used, (copy, own & used)
        assert _numbers(original.cells) != _numbers(disguised.cells)


def test_each_copys_top_match_is_its_source_and_is_flagged(
        planted: tuple[SimilarityResult, dict[str, str]]) -> None:
    result, copies = planted
    top = result.top_matches()
    flagged = result.flagged_students()
    checked = 0
    for copy, source in copies.items():
        if source in THIN:
            continue
        pair = top[copy]
        other = pair.b if pair.a == copy else pair.a
        assert other in twins(source), (copy, other, pair)
        assert pair.flagged, (copy, pair)
        assert source in dict(flagged[copy])
        checked += 1
    assert checked == len(copies) - len(THIN) >= 15


def test_thin_originals_are_thin_and_their_copies_accuse_nobody_else(
        planted: tuple[SimilarityResult, dict[str, str]]) -> None:
    result, copies = planted
    by_name = {d.source.name: d for d in result.submissions}
    min_tokens = result.comparison.settings.min_tokens
    for source in THIN:
        masks = by_name[source].masks
        assert masks is not None and masks.weight < 1.5 * min_tokens, source
    flagged = result.flagged_students()
    for copy, source in copies.items():
        if source in THIN:
            allowed = twins(source) | {f"copy_{source}"}
            assert set(dict(flagged.get(copy, []))) <= allowed, (copy, flagged.get(copy))


def test_no_two_originals_are_flagged_except_the_twins(
        planted: tuple[SimilarityResult, dict[str, str]]) -> None:
    result, copies = planted
    for pair in result.flagged_pairs:
        if pair.a not in copies and pair.b not in copies:
            assert pair.b in twins(pair.a) or \
                {pair.a, pair.b} <= {"ref_horse_or_human_py", "ref_horse_or_human_150_py",
                                     "ref_horse_or_human_validation_py"}, pair


def _class(extra: list[tuple[str, Path]] = ()) -> list[tuple[str, Path]]:  # type: ignore[assignment]
    """The sample class: every sample submission and the reference, one student each."""
    entries = [(p.stem, p) for p in sorted(SAMPLES.iterdir()) if p.suffix in (".py", ".ipynb")]
    reference = Path(__file__).resolve().parents[2] / "reference/happy_or_sad/solution.py"
    return entries + [("ref_happy_or_sad_py", reference), *extra]


def test_independent_solutions_are_not_flagged_once_the_template_is_removed(
        stand_in_template: Path) -> None:
    result = compare_class(_class(), templates=[stand_in_template], against=[],
                           threshold=None)
    independent = set(INDEPENDENT)
    between = [p for p in result.pairs if {p.a, p.b} <= independent]
    assert between, "they do share code: the test must see those pairs"
    assert not [p for p in between if p.flagged]
    # the template did its part: every submission lost its handed-out lines
    for document in result.submissions:
        assert document.masks is not None and document.masks.template.any(), \
            document.source.name


def test_without_template_or_class_the_same_solutions_would_be_flagged(
        stand_in_template: Path) -> None:
    """The control: the exercise makes correct solutions alike, and only removing what
    was handed out and what the class shares keeps them apart."""
    four = [e for e in _class() if e[0] in INDEPENDENT]
    raw = compare_class(four, templates=[], against=[], threshold=None,
                        settings=Settings(common_share=1.0))
    assert len([p for p in raw.pairs if p.flagged]) >= 5


@pytest.mark.acceptance
def test_with_the_real_course_templates_independent_solutions_are_not_flagged() -> None:
    templates = corpus_rows("question", "c1w4-assignment")
    assert templates, f"no question or c1w4-assignment rows in {CORPUS}/PROVENANCE.tsv"
    result = compare_class(_class(), templates=templates, against=[], threshold=None)
    assert len(result.comparison.templates) == len(templates)
    between = [p for p in result.pairs if {p.a, p.b} <= set(INDEPENDENT)]
    assert not [p for p in between if p.flagged]


def test_a_copied_public_solution_is_found_in_the_reference_collection(
        tmp_path: Path, stand_in_template: Path) -> None:
    """A student hands in a disguised copy of a file of a reference collection: the match
    names the collection's file, and the reference file is never a student."""
    public = tmp_path / "public"
    public.mkdir()
    source = Path(__file__).resolve().parents[2] / "reference/happy_or_sad_2024/solution.ipynb"
    (public / "someone_c1w4.ipynb").write_bytes(source.read_bytes())
    copy = disguise(source, tmp_path, "mallory", seed=3)
    result = compare_class(_class([("mallory", copy)]), templates=[stand_in_template],
                           against=[public], threshold=None)
    matches = dict(result.flagged_students()["mallory"])
    assert "public/someone_c1w4.ipynb" in matches
    assert "public/someone_c1w4.ipynb" not in result.flagged_students()
    assert result.to_json()["collections"] == [{"name": "public", "files": 1}]


def _parsed(cells: list[str]) -> list[ast.Module]:
    out = []
    for cell in cells:
        try:
            out.append(ast.parse("\n".join(line for line in cell.splitlines()
                                           if not line.lstrip().startswith(("!", "%")))))
        except SyntaxError:
            continue
    return out


def _numbers(cells: list[str]) -> list[str]:
    return re.findall(r"(?<![\w.])\d+(?:\.\d+)?", "\n".join(cells))


def test_the_disguise_keeps_code_that_parses(tmp_path: Path) -> None:
    for seed, path in enumerate(originals()):
        if path.name == "syntax_error.ipynb":
            continue  # does not parse to begin with
        copy = disguise(path, tmp_path, f"c{seed}", seed=seed)
        for cell in read_cells(copy):
            ast.parse("\n".join(line for line in cell.splitlines()
                                if not line.lstrip().startswith(("!", "%"))))
