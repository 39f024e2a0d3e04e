"""Every course notebook of ../shared/corpus graded as an instructor would grade it, with its
exercise detected (`make acceptance`; third-party notebooks, copied to a temporary folder,
never into the repository).

What is asserted comes from the notebooks themselves (their PROVENANCE.tsv row and their
code), not from the grader's output: each gets the exercise, status and verdict of every
check that tests/corpus_expected.toml says — labels written from each notebook's code and
PROVENANCE row, check by check as a teaching assistant would, before the grader was run
on them —; each one is graded to the end (none is an error, none crashes the grader), and
none is sent to review for the trust line — none of them
does anything it names (frame or module introspection, a cell magic that runs hidden
code, its own 'accuracy', training outside the graded fit, images decoded before the
fit), so an honest class does not land on the instructor's desk for the grader's doubts.

One review is the notebooks' own: those that train one or two steps an epoch
(PROVENANCE: steps_per_epoch=1 or 2) record an epoch's accuracy averaged while the
weights move, and their saved model may measure well below it, or collapse to chance
after its last step. That is for a person to look at, and the only reason allowed.
"""

from __future__ import annotations

import csv
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from two_at_a_time import run_two_at_a_time
from warm_compare import comparable

from grader.exercise import datasource, detect
from grader.grade import GradeOptions, grade_file, load_exercise
from grader.results.result import GradeResult

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
EXPECTED = tomllib.loads((Path(__file__).parent / "corpus_expected.toml").read_text())[
    "notebooks"]


def _notebooks() -> list[Path]:
    if not CORPUS.is_dir():
        pytest.fail(f"the course notebooks are not here ({CORPUS} is absent; it sits beside "
                    "the checkout)")
    return sorted(CORPUS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, GradeResult]:
    folder = tmp_path_factory.mktemp("corpus")
    jobs = {}
    for original in _notebooks():
        copy = folder / original.name
        shutil.copyfile(original, copy)
        detected = detect.exercise_for(copy)
        assert detected.exercise, detected.message
        spec = load_exercise(detected.exercise)
        data = datasource.resolve(spec)
        jobs[original.stem] = (lambda c=copy, s=spec, d=data:
                               grade_file(c, s, d, GradeOptions(require_sandbox=True)))
    return run_two_at_a_time(jobs)


def test_every_course_notebook_is_graded_to_the_end(graded: dict[str, GradeResult]) -> None:
    assert set(graded) == {p.stem for p in _notebooks()}
    for name, result in graded.items():
        assert result.status in ("graded", "timeout"), (name, result.status, result.error)


def test_the_expected_outcomes_name_every_course_notebook_and_check() -> None:
    assert set(EXPECTED) == {p.name for p in _notebooks()}
    for name, expected in EXPECTED.items():
        rubric = [item.id for item in load_exercise(expected["exercise"]).rubric]
        assert sorted(expected["checks"]) == sorted(rubric), name


def disagreements(graded: dict[str, GradeResult]) -> tuple[list[str], int]:
    """Each verdict of the grader that is not one the labels allow, and how many verdicts
    were compared (the exercise, the status and every check of every notebook)."""
    found, compared = [], 0
    for name, expected in sorted(EXPECTED.items()):
        result = graded[Path(name).stem]
        said = {"exercise": (result.exercise, ""), "status": (result.status, result.error or "")}
        said |= {c.id: (c.status, c.message) for c in result.checks}
        wanted = {"exercise": expected["exercise"], "status": expected["status"],
                  **expected["checks"]}
        for key, allowed in wanted.items():
            compared += 1
            allowed = [allowed] if isinstance(allowed, str) else allowed
            status, message = said.get(key, ("absent", ""))
            if status not in allowed:
                found.append(f"{name} {key}: {status}, expected {' or '.join(allowed)} "
                             f"({message[:160]})")
    return found, compared


def test_each_course_notebook_gets_the_verdicts_a_teaching_assistant_expects(
        graded: dict[str, GradeResult]) -> None:
    found, compared = disagreements(graded)
    print(f"\ncorpus: {compared - len(found)} of {compared} verdicts as labelled")
    assert found == [], "\n".join(found)


# the recorded accuracy against the saved model's (grader.evidence.training): a disagreement
# of degree, or a collapse after training the kernel saw
MEASURED_AGAINST_RECORDED = re.compile(r"the saved model (measures|classifies)")


def _few_steps() -> set[str]:
    """Notebooks that train one or two steps an epoch, by their PROVENANCE.tsv row."""
    with open(CORPUS / "PROVENANCE.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return {Path(row["file"]).stem for row in rows
            if re.search(r"steps_per_epoch=[12];", row.get("tf-api notes") or "")}


def test_no_course_notebook_is_sent_to_review_for_the_trust_line(
        graded: dict[str, GradeResult]) -> None:
    few_steps = {Path(name).stem for name, e in EXPECTED.items() if e.get("review")}
    # the labels' reviews are PROVENANCE's few-steps notebooks (those that train)
    assert few_steps and few_steps <= _few_steps()
    flagged = {name: [reason for reason in result.review
                      if not (name in few_steps and MEASURED_AGAINST_RECORDED.search(reason))]
               for name, result in graded.items()}
    assert {name: reasons for name, reasons in flagged.items() if reasons} == {}


COMPARED_COLD = 10  # the first ten notebooks by name: every course year and exercise


def test_ten_course_notebooks_get_the_same_result_warm_and_cold(
        graded: dict[str, GradeResult], tmp_path: Path) -> None:
    """The warm gradings above against cold ones (`--cold`): the same result.json apart
    from what measures time (tests/warm_compare.py)."""
    jobs = {}
    for original in _notebooks()[:COMPARED_COLD]:
        copy = tmp_path / original.name
        shutil.copyfile(original, copy)
        spec = load_exercise(detect.exercise_for(copy).exercise or "")
        data = datasource.resolve(spec)
        jobs[original.stem] = (lambda c=copy, s=spec, d=data: grade_file(
            c, s, d, GradeOptions(require_sandbox=True, cold=True)))
    cold = run_two_at_a_time(jobs)
    for name, result in cold.items():
        assert result.details["run_start"] == "cold"
        assert graded[name].details["run_start"] == "warm", name
        assert comparable(result) == comparable(graded[name]), name

