"""The sandbox is the default for commands that grade other people's work (issue 21).

`grader serve` and `grader batch` refuse to start grading when bubblewrap cannot run,
unless --no-sandbox is given: before, `grader serve` graded unsandboxed, silently, unless
--require-sandbox was given, and a submission then ran as a plain process able to read the
hidden images and the course secret. `grader grade` and `grader check` grade one's own work
(a student at their machine, a Gradescope container per submission) and keep the warned
fallback. Bubblewrap is made unavailable as the other tests do: by replacing
`sandbox.bubblewrap_works`. The one real grading (batch --no-sandbox) is of a syntax
error, which the runner rejects before TensorFlow is imported: seconds, not minutes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader import grade
from grader.cli import main
from grader.run import sandbox


@pytest.fixture
def no_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: False)


@pytest.fixture
def class_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "ada.py").write_text("def oops(:\n")
    return folder


def _refusal(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "--no-sandbox" in lines[0] and "grader doctor" in lines[0], err


def test_batch_refuses_without_bubblewrap(no_bubblewrap: None, class_folder: Path,
                                          tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "out"
    assert main(["batch", str(class_folder), "--out", str(out), "--jobs", "1"]) == 2
    _refusal(capsys.readouterr().err)
    assert not out.exists() or not any(out.rglob("result.json"))
    # --require-sandbox is still accepted, and is what happens anyway
    assert main(["batch", str(class_folder), "--out", str(out), "--require-sandbox"]) == 2


def test_batch_grades_unsandboxed_with_no_sandbox(no_bubblewrap: None, class_folder: Path,
                                                  tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "out"
    assert main(["batch", str(class_folder), "--out", str(out), "--jobs", "1",
                 "--quiet", "--no-sandbox"]) == 0
    assert "WITHOUT a sandbox" in capsys.readouterr().err
    assert json.loads((out / "ada" / "result.json").read_text())["sandbox"] == "none"


def test_require_and_no_sandbox_together_are_refused(class_folder: Path,
                                                     tmp_path: Path) -> None:
    assert main(["batch", str(class_folder), "--out", str(tmp_path / "o"),
                 "--require-sandbox", "--no-sandbox"]) == 2
    assert main(["serve", "--dir", str(tmp_path), "--require-sandbox", "--no-sandbox"]) == 2


def _serve_records(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replaces the server: records the grading options `grader serve` would grade with."""
    from grader.service import server

    seen: list[Any] = []
    monkeypatch.setattr(server, "serve", lambda *args, **_: seen.append(args[6]) or 0)
    return seen


def test_serve_refuses_without_bubblewrap(no_bubblewrap: None, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: Any) -> None:
    seen = _serve_records(monkeypatch)
    assert main(["serve", "--dir", str(tmp_path)]) == 2
    _refusal(capsys.readouterr().err)
    assert main(["serve", "--dir", str(tmp_path), "--require-sandbox"]) == 2
    assert seen == []  # never started
    assert main(["serve", "--dir", str(tmp_path), "--no-sandbox"]) == 0
    assert [options.no_sandbox for options in seen] == [True]
    assert grade.sandbox_in_use(seen[0]) is False


def test_serve_grades_sandboxed_by_default(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: True)
    seen = _serve_records(monkeypatch)
    assert main(["serve", "--dir", str(tmp_path)]) == 0
    (options,) = seen
    assert options.require_sandbox and not options.no_sandbox
    # the workers rebuild the options from JSON: the requirement survives the trip
    from dataclasses import asdict

    from grader.service.workers import options_from_json

    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: False)
    with pytest.raises(grade.SandboxRequired):
        grade.sandbox_in_use(options_from_json(json.dumps(asdict(options))))
    with pytest.raises(grade.SandboxRequired):
        grade.sandbox_in_use(options_from_json("{}"))


def test_grade_of_ones_own_work_falls_back_with_a_warning(
        no_bubblewrap: None, tmp_path: Path, capsys: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The grading itself is replaced (the fallback inside grade_file is
    test_the_fallback_is_recorded_and_require_sandbox_refuses): this is about the command's
    choice of options and its warning."""
    asked: list[grade.GradeOptions] = []

    def record(path: Path, spec: Any, data: Any, options: grade.GradeOptions) -> Any:
        asked.append(options)
        return grade.error_result(path, spec, "not graded here", 0.0)

    monkeypatch.setattr(grade, "grade_file", record)
    mine = tmp_path / "mine.py"
    mine.write_text("def oops(:\n")
    out = tmp_path / "out"
    assert main(["grade", str(mine), "--exercise", "happy-or-sad", "--out", str(out)]) == 0
    assert "WITHOUT a sandbox" in capsys.readouterr().err
    assert [options.require_sandbox for options in asked] == [False]
    assert main(["grade", str(mine), "--exercise", "happy-or-sad", "--out", str(out),
                 "--require-sandbox"]) == 2
    _refusal(capsys.readouterr().err)
    assert len(asked) == 1  # refused before grading


@pytest.mark.parametrize(("options", "works", "expected"), [
    (grade.GradeOptions(), True, True),
    (grade.GradeOptions(), False, grade.SandboxRequired),
    (grade.GradeOptions(no_sandbox=True), True, False),  # asked for: even where it works
    (grade.GradeOptions(no_sandbox=True), False, False),
    (grade.GradeOptions(require_sandbox=False), False, False),  # grade/check: fallback
    (grade.GradeOptions(require_sandbox=False), True, True),
])
def test_the_sandbox_policy(options: grade.GradeOptions, works: bool, expected: object,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "bubblewrap_works", lambda: works)
    if expected is grade.SandboxRequired:
        with pytest.raises(grade.SandboxRequired, match="--no-sandbox"):
            grade.sandbox_in_use(options)
    else:
        assert grade.sandbox_in_use(options) is expected


def test_doctor_says_what_a_missing_bubblewrap_means_for_each_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.cli import doctor

    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    (line,) = [x for x in doctor._isolation() if x.startswith("bubblewrap:")]

    assert "grader batch, serve and verify refuse to grade" in line
    assert "grade and check fall back with a warning" in line
