"""grader.classwork.batch: the cache, regrades, worker deaths and intake problems, with stand-in
grade functions (no TensorFlow), so each behaviour is tested in seconds. The real
submissions go through the batch in test_samples.py and test_batch_resume.py."""

from __future__ import annotations

import hashlib
import os
import re
import signal
from pathlib import Path

from grader.classwork.batch import BatchOptions, grade_batch
from grader.classwork.intake import collect
from grader.exercise import ExerciseSpec
from grader.results import gradebook
from grader.results.layout import GRADEBOOK
from grader.results.result import CheckResult, GradeResult


def _stand_in(path: Path, spec: ExerciseSpec, data: object, options: object) -> GradeResult:
    """A deterministic 'grade' from the file's bytes; each call is logged beside the class
    folder so a test can count how many gradings really ran (they run in other processes)."""
    with open(path.parent.parent / "calls.log", "a") as log:
        log.write(path.name + "\n")
    text = path.read_text()
    if "kill my worker" in text:
        os.kill(os.getpid(), signal.SIGKILL)
    score = float(int(hashlib.sha256(text.encode()).hexdigest(), 16) % 10)
    return GradeResult(submission=path.name, student=path.stem, exercise=spec.name,
                       status="graded", score=score, max_score=10.0,
                       checks=[CheckResult("runs", "Runs", "passed" if score else "failed",
                                           bool(score), score, 10.0, "stand-in")],
                       submission_sha256=hashlib.sha256(text.encode()).hexdigest())


def _class(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "class"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().split() if log.exists() else []


def _run(folder: Path, spec: ExerciseSpec, data: object, out: Path, **options: object):
    with collect(folder) as intake:
        return grade_batch(intake, spec, data, out,  # type: ignore[arg-type]
                           BatchOptions(grade_function=_stand_in, **options))  # type: ignore


STUDENTS = {"ada.py": "print('ada')\n", "bo.py": "print('bo')\n", "cy.py": "print('cy')\n"}


def test_second_run_reuses_every_grade(tmp_path: Path, spec, data) -> None:  # noqa: ANN001
    folder = _class(tmp_path, STUDENTS)
    out = tmp_path / "out"
    first = _run(folder, spec, data, out, jobs=2)
    assert (first.graded, first.reused) == (3, 0)
    assert sorted(_calls(tmp_path)) == ["ada.py", "bo.py", "cy.py"]
    second = _run(folder, spec, data, out, jobs=2)
    assert (second.graded, second.reused) == (0, 3)
    assert len(_calls(tmp_path)) == 3  # nothing ran again
    assert [r.to_json() for r in second.results] == [r.to_json() for r in first.results]
    with gradebook.Gradebook(out / GRADEBOOK) as book:
        assert len(book.history()) == 3


def test_a_changed_file_is_graded_again(tmp_path: Path, spec, data) -> None:  # noqa: ANN001
    folder = _class(tmp_path, STUDENTS)
    out = tmp_path / "out"
    _run(folder, spec, data, out)
    (folder / "bo.py").write_text("print('bo, second try')\n")
    again = _run(folder, spec, data, out)
    assert (again.graded, again.reused) == (1, 2)
    assert _calls(tmp_path).count("bo.py") == 2


def test_regrade_grades_everything_and_keeps_history(tmp_path: Path, spec,
                                                     data) -> None:  # noqa: ANN001
    folder = _class(tmp_path, STUDENTS)
    out = tmp_path / "out"
    first = _run(folder, spec, data, out)
    again = _run(folder, spec, data, out, regrade=True, jobs=2)
    assert again.graded == 3 and again.reused == 0
    assert [r.score for r in again.results] == [r.score for r in first.results]
    with gradebook.Gradebook(out / GRADEBOOK) as book:
        history = book.history()
        assert [h.student for h in history].count("ada") == 2
        assert len(book.latest()) == 3


def test_identical_files_of_two_students_are_graded_for_each(tmp_path: Path, spec,
                                                             data) -> None:  # noqa: ANN001
    folder = _class(tmp_path, {"ada.py": "same\n", "bo.py": "same\n"})
    out = tmp_path / "out"
    _run(folder, spec, data, out)
    again = _run(folder, spec, data, out)
    assert [(r.student, r.submission) for r in again.results] == [("ada", "ada.py"),
                                                                 ("bo", "bo.py")]


def test_a_submission_that_kills_its_worker_is_named_and_the_rest_graded(
        tmp_path: Path, spec, data) -> None:  # noqa: ANN001
    folder = _class(tmp_path, {**STUDENTS, "mallory.py": "# kill my worker\n"})
    out = tmp_path / "out"
    outcome = _run(folder, spec, data, out, jobs=2)
    by_student = {r.student: r for r in outcome.results}
    assert sorted(by_student) == ["ada", "bo", "cy", "mallory"]
    assert by_student["mallory"].status == "error"
    assert "grading process was killed" in (by_student["mallory"].error or "")
    assert all(by_student[s].status == "graded" for s in ("ada", "bo", "cy"))
    # the death is not cached: a re-run tries mallory again, and only mallory
    calls_before = len(_calls(tmp_path))
    again = _run(folder, spec, data, out, jobs=2)
    assert again.reused == 3
    assert _calls(tmp_path)[calls_before:] == ["mallory.py"] * (len(_calls(tmp_path))
                                                                - calls_before)


def test_intake_problems_become_errors_recorded_once(tmp_path: Path, spec,
                                                     data) -> None:  # noqa: ANN001
    folder = _class(tmp_path, {"ada.py": "print(1)\n", "ada.ipynb": "{}"})
    (folder / "bo").mkdir()
    out = tmp_path / "out"
    for _ in range(2):
        outcome = _run(folder, spec, data, out)
    by_student = {r.student: r for r in outcome.results}
    assert by_student["ada"].status == "error"
    assert "ada.ipynb" in (by_student["ada"].error or "")
    assert "ada.py" in (by_student["ada"].error or "")
    assert by_student["bo"].status == "error"
    assert (out / "bo" / "result.json").exists()
    with gradebook.Gradebook(out / GRADEBOOK) as book:
        assert len(book.history()) == 2
    assert _calls(tmp_path) == []


def test_results_csv_has_one_row_per_student_of_this_batch(tmp_path: Path, spec,
                                                           data) -> None:  # noqa: ANN001
    folder = _class(tmp_path, STUDENTS)
    out = tmp_path / "out"
    _run(folder, spec, data, out)
    (folder / "cy.py").unlink()
    _run(folder, spec, data, out)
    rows = (out / "results.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["ada", "bo"]


def test_the_cache_follows_the_data_bytes_not_their_times(tmp_path: Path, spec,
                                                          data) -> None:  # noqa: ANN001
    import shutil

    from grader.classwork.batch import spec_key
    from grader.exercise.datasource import DataPaths
    from grader.grade import GradeOptions

    copy = DataPaths(tmp_path / "train.zip", tmp_path / "hidden")
    shutil.copy(data.train_zip, copy.train_zip)
    shutil.copytree(data.hidden_dir, copy.hidden_dir)
    options = GradeOptions()
    assert spec_key(spec, copy, options) == spec_key(spec, data, options)  # redrawn alike
    first_image = sorted(p for p in copy.hidden_dir.rglob("*.png"))[0]
    first_image.write_bytes(first_image.read_bytes() + b"\0")
    assert spec_key(spec, copy, options) != spec_key(spec, data, options)  # one image swapped


def test_similarity_runs_once_graded_and_marks_csv_and_summary(
        tmp_path: Path, spec, data) -> None:  # noqa: ANN001
    """`grader batch --similarity`: the comparison sees the class the batch graded, writes
    its report beside the grades, and names the pair in results.csv and index.html;
    the scores are the grades' own."""
    from functools import partial

    from grader.cli.batch import _compare_class

    samples = Path(__file__).resolve().parents[1] / "submissions/happy_or_sad"
    original = (samples / "correct_modern.py").read_text()
    folder = _class(tmp_path, {"ada.py": original, "bo.py": original.replace("model", "net"),
                               "cy.py": (samples / "no_callback.py").read_text()})
    out = tmp_path / "out"
    compare = partial(_compare_class, templates=[], against=[], exercise=spec.name)
    outcome = _run(folder, spec, data, out, compare_class=compare)
    assert outcome.similarity is not None and outcome.similarity_error is None
    assert [other for other, _ in outcome.similarity.flagged["ada"]] == ["bo"]
    assert "cy" not in outcome.similarity.flagged
    assert (out / "similarity.json").exists() and (out / "similarity.html").exists()
    rows = {r.split(",")[0]: r for r in
            (out / "results.csv").read_text(encoding="utf-8-sig").splitlines()[1:]}
    assert re.search(r",bo \((?:0\.9\d|1\.00)\),", rows["ada"]), rows["ada"]
    assert re.search(r",ada \((?:0\.9\d|1\.00)\),", rows["bo"]), rows["bo"]
    summary = (out / "index.html").read_text()
    assert 'href="similarity.html"' in summary and "2 flagged as possibly copied" in summary
    assert {r.student: r.score for r in outcome.results} == \
        {r.student: r.score for r in _run(folder, spec, data, tmp_path / "plain").results}
    with gradebook.Gradebook(out / GRADEBOOK) as book:
        kept = book.latest_similarity(spec.name)
    assert kept and kept[0].flagged and {kept[0].a, kept[0].b} == {"ada", "bo"}
    assert [(p.a, p.b, p.flagged) for p in kept] == \
        [(p.a, p.b, p.flagged) for p in outcome.similarity.pairs]


def test_similarity_that_fails_keeps_the_grades(tmp_path: Path, spec, data) -> None:  # noqa: ANN001
    def broken(entries: list[tuple[str, Path]], out_dir: Path) -> object:
        raise OSError("the reference collection /x cannot be read")

    out = tmp_path / "out"
    outcome = _run(_class(tmp_path, STUDENTS), spec, data, out, compare_class=broken)
    assert outcome.similarity is None and outcome.graded == 3
    assert outcome.similarity_error == "the reference collection /x cannot be read"
    assert len((out / "results.csv").read_text().splitlines()) == 4
    assert "similarity.html" not in (out / "index.html").read_text()
    with gradebook.Gradebook(out / GRADEBOOK) as book:
        assert book.latest_similarity(spec.name) == []
