"""Acceptance: copy detection with the course material given, on real notebooks.

The class is the `student-complete` and `answer` notebooks of ../shared/corpus (16
files) with disguised copies of six of them planted in it; the course material is the
corpus's lesson and exercise notebooks (`lesson`, `question` and `c1w4-assignment` rows
of PROVENANCE.tsv, the course's solution left out: students were not given it), copied
to a temporary folder under their published names (the basename of the `path` column;
a second version of one name goes in a subfolder). Nothing of the corpus is written into
the repository. The numbers these tests pin are in docs/similarity.md.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from similarity_disguise import disguise
from similarity_fixtures import CORPUS, corpus_rows

from grader.similarity.api import SimilarityResult, compare_class

pytestmark = pytest.mark.acceptance

# (source, seed): the sources with the most code of their own once the material is
# removed, and the three the measurement named
SOURCES = [("s_9ten", 1), ("s_satlawa", 2), ("s_kago1988", 3), ("s_maxim_pashkov", 4),
           ("s_ericjujianzou", 5), ("s_tfreyd", 6)]
# measured: which copies the evidence catches (docs/similarity.md, "Course material")
CAUGHT_KEEPING_LITERALS = {"s_satlawa", "s_maxim_pashkov", "s_ericjujianzou", "s_tfreyd"}
CAUGHT_CHANGING_LITERALS = {"s_satlawa", "s_maxim_pashkov"}


def _material(folder: Path) -> tuple[Path, list[Path]]:
    """(material folder, the exercise notebooks alone) under their published names."""
    with (CORPUS / "PROVENANCE.tsv").open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t")
                if r["kind"] in ("lesson", "question", "c1w4-assignment")
                and "Solution" not in r["path"]]
    exercises = []
    for row in rows:
        published = Path(row["path"]).name
        target = folder / published
        if target.exists():
            target = folder / Path(row["file"]).stem / published
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / row["file"], target)
        if row["kind"] != "lesson":
            exercises.append(target)
    return folder, exercises


def _class(folder: Path, change_literals: bool) -> list[tuple[str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    entries = [(p.stem, p) for p in corpus_rows("student-complete", "answer")]
    assert len(entries) == 16
    for source, seed in SOURCES:
        entries.append((f"copy_of_{source}", disguise(
            CORPUS / f"{source}.ipynb", folder, f"copy_of_{source}", seed=seed,
            change_literals=change_literals)))
    return entries


def _true_pairs() -> set[frozenset[str]]:
    return {frozenset((source, f"copy_of_{source}")) for source, _ in SOURCES}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SimilarityResult]:
    root = tmp_path_factory.mktemp("corpus")
    material, exercises = _material(root / "material")
    names = tuple(sorted({p.name for p in material.rglob("*.ipynb")}))
    keeping = _class(root / "keeping", change_literals=False)
    changing = _class(root / "changing", change_literals=True)
    real = keeping[:16]
    return {
        "before": compare_class(real, templates=exercises, against=[]),
        "after": compare_class(real, templates=[], against=[], course_material=material,
                               material_names=names),
        "keeping": compare_class(keeping, templates=[], against=[],
                                 course_material=material, material_names=names),
        "changing": compare_class(changing, templates=[], against=[],
                                  course_material=material, material_names=names),
    }


def test_the_honest_pair_flagged_for_its_lesson_code_is_not_with_the_material(
        runs: dict[str, SimilarityResult]) -> None:
    """The 16 real notebooks alone: with the exercise notebooks removed, s_9ten ~
    s_tfreyd (read side by side: not a copy; the lessons' layer stack written with
    MaxPool2D) is flagged; with the lessons removed too, nothing is, and every notebook
    whose own code is too little to judge says so."""
    before = {frozenset((p.a, p.b)) for p in runs["before"].flagged_pairs}
    assert before == {frozenset(("s_9ten", "s_tfreyd"))}
    after = runs["after"]
    assert after.flagged_pairs == []
    judged = {d.source.name for d in after.submissions} - {
        d.source.name for d in after.too_little()}
    assert not judged, "every one of these is the course's code with small changes"


@pytest.mark.parametrize(("run", "caught"), [("keeping", CAUGHT_KEEPING_LITERALS),
                                              ("changing", CAUGHT_CHANGING_LITERALS)])
def test_with_the_material_no_honest_pair_is_flagged_and_no_copy_passes_silently(
        runs: dict[str, SimilarityResult], run: str, caught: set[str]) -> None:
    result = runs[run]
    assert result.warnings == []
    flagged = {frozenset((p.a, p.b)) for p in result.flagged_pairs}
    assert flagged <= _true_pairs(), "an honest pair (or two copies) is flagged"
    too_little = {d.source.name for d in result.too_little()}
    for source, _ in SOURCES:
        pair = frozenset((source, f"copy_of_{source}"))
        if source in caught:
            assert pair in flagged, f"the copy of {source} is not flagged"
        else:
            # not flagged, and said so: the source's own code is too little to judge
            assert source in too_little, f"the copy of {source} passes silently"


def test_the_evidence_of_a_caught_copy_is_its_own_literals(
        runs: dict[str, SimilarityResult]) -> None:
    pair = next(p for p in runs["keeping"].flagged_pairs
                if {p.a, p.b} == {"s_satlawa", "copy_of_s_satlawa"})
    assert "/home/philipp/downloads/happy-or-sad.zip" in pair.evidence.strings
    assert pair.evidence.describe().startswith("shares 3 of its own string literals")
