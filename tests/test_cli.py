"""CLI contract: exit 0 when grading finished, 2 on usage errors; bad input never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.cli import main


def test_exercises_lists_happy_or_sad(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exercises"]) == 0
    assert "happy-or-sad" in capsys.readouterr().out


def test_bad_submission_is_graded_as_error(tmp_path: Path, data: object,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ this is not json")
    out = tmp_path / "out"
    assert main(["grade", str(bad), "--out", str(out), "--json", str(tmp_path / "r.json")]) == 0
    result = json.loads((out / "broken" / "result.json").read_text())
    assert result["status"] == "error"
    assert result["score"] == 0 and result["max_score"] == 100
    assert "not valid notebook JSON" in result["error"]
    assert all(c["status"] == "not_judged" for c in result["checks"])
    assert (out / "broken" / "report.html").exists()
    assert json.loads((tmp_path / "r.json").read_text()) == result
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err


@pytest.mark.parametrize("argv", [
    ["grade", "/nonexistent/file.ipynb"],
    ["grade", "x.ipynb", "--exercise", "no-such-exercise"],
    ["batch", "/nonexistent-folder"],
    ["grade", "x.ipynb", "--hidden", "/nonexistent-hidden"],
    # similarity's inputs are checked before an hour of grading, not after
    ["batch", "submissions", "--similarity", "--against", "/nonexistent-collection"],
    ["batch", "submissions", "--similarity", "--template", "/nonexistent-starter.ipynb"],
    ["batch", "submissions", "--against", "submissions"],
])
def test_usage_errors_exit_2_with_one_line(argv: list[str], data: object,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("grader: ") and err.count("\n") == 1


def test_batch_of_an_empty_folder(tmp_path: Path, data: object,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(tmp_path)]) == 2
    assert "no .ipynb or .py submissions" in capsys.readouterr().err


def test_batch_writes_csv_for_error_results(tmp_path: Path, data: object) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_bytes(b"\xff\xfe not utf-8")
    (folder / "bob.ipynb").write_text("[]")
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out)]) == 0
    rows = (out / "results.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("student,submission,exercise,status,score,max_score,percent")
    assert [r.split(",")[:4] for r in rows[1:]] == [
        ["alice", "alice.py", "happy-or-sad", "error"],
        ["bob", "bob.ipynb", "happy-or-sad", "error"]]


def _fails_on_alice(path: Path, spec, data, options) -> object:  # noqa: ANN001
    """Stands in for grade_file in the batch's worker processes (sent there by name)."""
    from grader.grade import error_result

    if path.stem == "alice":
        raise OSError("disk full")
    return error_result(path, spec, "stand-in grade", 0.0)


def test_a_grader_failure_on_one_submission_does_not_stop_the_batch(
        tmp_path: Path, spec, data) -> None:  # noqa: ANN001
    from grader.classwork import batch
    from grader.classwork.intake import collect

    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("alice", "bob"):
        (folder / f"{name}.py").write_text("print('hi')\n")
    options = batch.BatchOptions(jobs=2, grade_function=_fails_on_alice)
    with collect(folder) as intake:
        results = batch.grade_batch(intake, spec, data, tmp_path / "out", options).results
    assert [(r.student, r.status) for r in results] == [("alice", "error"), ("bob", "error")]
    assert results[0].error == "the grader failed on this submission: OSError: disk full"
    assert (tmp_path / "out" / "alice" / "result.json").exists()
    assert len((tmp_path / "out" / "results.csv").read_text().splitlines()) == 3


def test_grade_writes_each_export_format(tmp_path: Path, data: object) -> None:
    bad = tmp_path / "ada.ipynb"
    bad.write_text("[]")
    paths = {name: tmp_path / f"{name}.json" for name in ("gradescope", "prairielearn",
                                                          "coursera")}
    argv = ["grade", str(bad), "--out", str(tmp_path / "out")]
    for name, path in paths.items():
        argv += [f"--{name}", str(path)]
    assert main(argv) == 0
    gradescope = json.loads(paths["gradescope"].read_text())
    assert gradescope["score"] == 0 and len(gradescope["tests"]) == 13
    assert "Not graded: ada.ipynb: not a Jupyter notebook" in gradescope["output"]
    prairielearn = json.loads(paths["prairielearn"].read_text())
    assert prairielearn["gradable"] is False and prairielearn["score"] == 0.0
    assert json.loads(paths["coursera"].read_text())["fractionalScore"] == 0.0


def test_grade_a_folder_with_one_submission(tmp_path: Path, data: object) -> None:
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "ada.ipynb").write_text("{}")
    out = tmp_path / "out"
    assert main(["grade", str(folder), "--out", str(out)]) == 0
    result = json.loads((out / "ada" / "result.json").read_text())
    assert result["status"] == "error" and "ada.ipynb" in result["error"]


def test_gradebook_show_and_export(tmp_path: Path, data: object,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ada.py").write_bytes(b"\xff not utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["gradebook", "show", "--out", str(out)]) == 0
    assert "ada" in capsys.readouterr().out
    assert main(["gradebook", "show", "--out", str(out), "--student", "ada"]) == 0
    assert "error" in capsys.readouterr().out
    for name in ("gradescope", "prairielearn", "coursera"):
        assert main(["gradebook", "export", "--out", str(out), "--format", name]) == 0
        assert json.loads((out / "exports" / name / "ada.json").read_text())
    assert main(["gradebook", "export", "--out", str(out), "--format", "csv", "-o",
                 str(tmp_path / "grades.csv")]) == 0
    assert (tmp_path / "grades.csv").read_text(encoding="utf-8-sig").startswith("student,")
    assert main(["gradebook", "show", "--out", str(tmp_path / "nothing")]) == 2


# --- odd names: every path a student id reaches stays inside --out -------------------------


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_submission_named_dotdot_writes_inside_out(tmp_path: Path, data: object,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "upload" / "...py"  # stem "..": once wrote DIR/result.json
    bad.parent.mkdir()
    bad.write_bytes(b"\xff not utf-8")
    out = tmp_path / "DIR" / "inner"
    argv = ["grade", str(bad), "--exercise", "happy-or-sad", "--out", str(out)]
    assert main(argv + ["--gradescope", str(tmp_path / "gs.json")]) == 0
    assert _files(tmp_path / "DIR") == ["inner", "inner/%2E%2E", "inner/%2E%2E/instructor.html",
                                        "inner/%2E%2E/report.html", "inner/%2E%2E/result.json"]
    result = json.loads((out / "%2E%2E" / "result.json").read_text())
    assert (result["student"], result["submission"]) == ("%2E%2E", "...py")
    assert f"result: {out / '%2E%2E' / 'result.json'}" in capsys.readouterr().out


def test_a_latin1_file_name_is_graded_and_printed(tmp_path: Path, data: object,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = Path(os.fsdecode(os.fsencode(tmp_path) + b"/Jos\xe9.py"))
    bad.write_bytes(b"\xff not utf-8")
    out = tmp_path / "out"
    assert main(["grade", str(bad), "--exercise", "happy-or-sad", "--out", str(out)]) == 0
    result = json.loads((out / "Jos%E9" / "result.json").read_text())
    assert (result["student"], result["submission"]) == ("Jos%E9", "Jos\\xe9.py")
    printed = capsys.readouterr()
    assert "Jos%E9" in printed.out and "Traceback" not in printed.err


@pytest.mark.parametrize("name", ["results.csv", "gradebook.sqlite-wal", "index.html",
                                  "exports", "Results.CSV.tmp"])
def test_a_student_named_like_an_output_file_gets_a_folder_of_its_own(
        tmp_path: Path, data: object, name: str) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / f"{name}.py").write_bytes(b"\xff not utf-8")
    (folder / "ada.py").write_bytes(b"\xff not utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(folder), "--out", str(out), "--quiet"]) == 0
    assert (out / "index.html").is_file() and (out / "results.csv").is_file()
    escaped = f"%{ord(name[0]):02X}{name[1:]}"
    assert json.loads((out / escaped / "result.json").read_text())["student"] == name
    rows = (out / "results.csv").read_text(encoding="utf-8-sig").splitlines()
    assert sorted(r.split(",")[0] for r in rows[1:]) == sorted(["ada", name])
    assert main(["batch", str(folder), "--out", str(out), "--quiet"]) == 0  # and again


def test_a_report_that_cannot_be_written_is_that_students_problem_only(
        tmp_path: Path, data: object) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("ada", "bo"):
        (folder / f"{name}.py").write_bytes(b"\xff not utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "ada").write_text("a file where ada's folder would go")
    assert main(["batch", str(folder), "--out", str(out), "--quiet"]) == 0
    assert (out / "bo" / "result.json").exists()
    rows = (out / "results.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["ada", "bo"]
