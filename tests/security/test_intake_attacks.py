"""Attacks on what surrounds a grading: the class folder, the names in it, the run folder's
cleanup and the instructor's terminal. Each was found on an earlier version, where it
crashed `grader batch` or `grader grade`, wrote outside --out, merged two students, or
reached the terminal as escape sequences.

Every command runs as the instructor runs it, in a subprocess, with its own TMPDIR: what
it leaves behind is then its own (other graders on the machine share /tmp). Submissions
that are not UTF-8 are recorded as errors without a sandbox, so the intake cases take
seconds; the two that need a real run (deep /tmp, escapes) take 10–20 s each.
"""

from __future__ import annotations

import html.parser
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from grader.classwork.tasks import GRADER_FAILURE_NOTE
from grader.files import remove_tree

SUBMISSIONS = Path(__file__).parent / "submissions"
NOT_UTF8 = b"\xff not UTF-8: recorded as an error before any sandbox\n"


def deep_chain(top: Path, depth: int, leaf: str = "work.py") -> None:
    """`depth` nested folders under `top` with `leaf` at the bottom, made through
    descriptors (the whole path is far longer than PATH_MAX)."""
    descriptor = os.open(top, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("level", dir_fd=descriptor)
            inner = os.open("level", os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        with open(os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor),
                  "wb") as handle:
            handle.write(NOT_UTF8)
    finally:
        os.close(descriptor)


@pytest.fixture
def work(tmp_path: Path) -> Iterator[Path]:
    """tmp_path with a private TMPDIR in it, emptied by the grader's own remover at the
    end (pytest's rmtree cannot remove a chain deeper than the recursion limit)."""
    (tmp_path / "tmp").mkdir()
    yield tmp_path
    remove_tree(tmp_path)


def grader(work: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "TMPDIR": str(work / "tmp"), "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=work, env=env,
                          capture_output=True, timeout=900, check=False)


def left_in_tmp(work: Path) -> list[str]:
    return sorted(p.name for p in (work / "tmp").iterdir())


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [v for k, v in attrs if tag == "a" and k == "href" and v]


def summary_targets(out: Path) -> list[Path]:
    """Where each report link of index.html leads, as a browser resolves it."""
    parser = _Links()
    parser.feed((out / "index.html").read_text())
    return [out / unquote(h) for h in parser.hrefs if h.endswith(".html")]


# --- the class folder ----------------------------------------------------------------------


def hostile_class(work: Path) -> Path:
    """Every name that once crashed or merged, in one folder of a class."""
    folder = work / "class"
    folder.mkdir()
    for name in (b"bob.py", b"bob .py", b"Bob.py", b"...py", b"Jos\xe9.py"):
        Path(os.fsdecode(os.fsencode(folder) + b"/" + name)).write_bytes(NOT_UTF8)
    (folder / "cy").mkdir()
    (folder / "cy" / "work.py").write_bytes(NOT_UTF8)
    (folder / "deep").mkdir()
    deep_chain(folder / "deep", 1200)
    return folder


STUDENTS = ["Bob", "Jos%E9", "bob%20", "bob~2", "cy", "deep"]


def test_a_hostile_class_folder_is_graded_student_by_student(work: Path) -> None:
    folder = hostile_class(work)
    out = work / "grades"
    done = grader(work, "batch", str(folder), "--out", str(out), "--exercise",
                  "happy-or-sad")
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "internal error" not in err  # (idle workers' SIGTERM tracebacks: pool.py's)
    results = {s: json.loads((out / s / "result.json").read_text()) for s in STUDENTS}
    assert {s: r["student"] for s, r in results.items()} == {s: s for s in STUDENTS}
    assert results["bob%20"]["submission"] == "bob .py"  # bob's own file, not merged
    assert results["Jos%E9"]["submission"] == "Jos\\xe9.py"
    assert all(r["status"] == "error" and "not UTF-8" in r["error"]
               for s, r in results.items() if s != "deep")
    assert results["deep"]["error"] == ("the folder deep/ holds no .ipynb or .py file "
                                        "within 32 levels of folders")
    assert "warning: ignored ...py: its name starts with a dot" in err
    assert "warning: Bob, bob differ only in case: graded as Bob, bob~2" in err
    assert "warning: deep/: folders more than 32 levels deep were not searched" in err
    assert sorted(p.name for p in work.iterdir()) == ["class", "grades", "tmp"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == STUDENTS
    rows = (out / "results.csv").read_text(encoding="utf-8-sig").splitlines()
    assert sorted(r.split(",")[0] for r in rows[1:]) == STUDENTS
    reports = {out / s / n for s in STUDENTS for n in ("report.html", "instructor.html")}
    assert set(summary_targets(out)) == reports  # every link leads to its own student
    assert all(report.is_file() for report in reports)
    assert left_in_tmp(work) == []
    again = grader(work, "batch", str(folder), "--out", str(out), "--exercise",
                   "happy-or-sad")
    assert again.returncode == 0, again.stderr.decode()
    assert "graded 0, reused 5 cached, 1 not gradable" in again.stdout.decode()
    shown = grader(work, "gradebook", "show", "--out", str(out))
    assert shown.returncode == 0 and all(s in shown.stdout.decode() for s in STUDENTS)


def test_a_zip_member_1200_folders_deep_is_one_students_error(work: Path) -> None:
    archive = work / "class.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ada/" + "d/" * 1200 + "work.py", NOT_UTF8)
        bundle.writestr("bo/work.py", NOT_UTF8)
        bundle.writestr("x" * 300 + "/work.py", NOT_UTF8)  # a name no file system takes
    out = work / "grades"
    done = grader(work, "batch", str(archive), "--out", str(out), "--exercise",
                  "happy-or-sad")
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert "warning: class.zip: skipped ada/d/d/d/" in err
    assert "more than 32 levels of folders deep" in err and "File name too long" in err
    ada = json.loads((out / "ada" / "result.json").read_text())
    assert ada["status"] == "error" and "within 32 levels of folders" in ada["error"]
    assert json.loads((out / "bo" / "result.json").read_text())["status"] == "error"
    assert left_in_tmp(work) == []  # the unzipped copy is gone too


# --- the run folder ------------------------------------------------------------------------


def _assert_graded_not_failed(result: dict) -> None:
    assert result["status"] in ("graded", "error"), result["status"]
    if result["status"] == "error":
        assert result["error"] and "\n" not in result["error"].strip()
    assert GRADER_FAILURE_NOTE not in result["notes"]
    assert result["score"] <= 10  # at most the `runs` points: it trains nothing


def test_a_run_that_leaves_3000_nested_folders_is_graded_and_removed(
        work: Path, bubblewrap_required: None) -> None:
    out = work / "grades"
    done = grader(work, "grade", str(SUBMISSIONS / "intake_deep_tmp.py"), "--exercise",
                  "happy-or-sad", "--out", str(out))
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads((out / "intake_deep_tmp" / "result.json").read_text())
    assert "deep folders left" in result["stdout_tail"]  # the attack really ran
    _assert_graded_not_failed(result)
    assert result["sandbox"] == "bubblewrap"
    assert left_in_tmp(work) == []  # no grader-run-* (nor anything else) left


def test_a_batch_keeps_the_grade_of_a_run_that_leaves_3000_nested_folders(
        work: Path, bubblewrap_required: None) -> None:
    folder = work / "class"
    folder.mkdir()
    (folder / "intake_deep_tmp.py").write_bytes((SUBMISSIONS / "intake_deep_tmp.py")
                                                .read_bytes())
    out = work / "grades"
    for reused in (0, 1):  # a grader failure is not cached: it would be graded again
        done = grader(work, "batch", str(folder), "--out", str(out), "--exercise",
                      "happy-or-sad", "--quiet")
        assert done.returncode == 0, done.stderr.decode()
        assert f"graded {1 - reused}, reused {reused} cached" in done.stdout.decode()
        assert left_in_tmp(work) == []
    result = json.loads((out / "intake_deep_tmp" / "result.json").read_text())
    assert "deep folders left" in result["stdout_tail"]  # the attack really ran
    _assert_graded_not_failed(result)


# --- the terminal --------------------------------------------------------------------------


def test_escape_sequences_in_an_exception_never_reach_the_terminal(
        work: Path, bubblewrap_required: None) -> None:
    out = work / "grades"
    done = grader(work, "grade", str(SUBMISSIONS / "intake_terminal_escapes.py"),
                  "--exercise", "happy-or-sad", "--out", str(out))
    assert done.returncode == 0, done.stderr.decode()
    printed = done.stdout.decode()
    assert b"\x1b" not in done.stdout + done.stderr
    assert b"\x07" not in done.stdout + done.stderr
    assert b"\x9b" not in done.stdout + done.stderr
    assert "RuntimeError: intake-escapes" in printed  # the message itself is shown
    assert "\\x1b]8;;https://evil.example/\\x1b\\click here" in printed  # OSC 8
    assert "\\x1b]52;c;cm0gLXJmIH4=\\x07" in printed  # OSC 52
    assert "\\x1b[2J\\x1b[1;31mgrader: 100 / 100\\x1b[0m" in printed  # CSI
    assert "[bold]markup[/bold]" in printed  # rich markup shown, not obeyed
    result = json.loads((out / "intake_terminal_escapes" / "result.json").read_text())
    runs = next(c for c in result["checks"] if c["id"] == "runs")
    assert "\x1b]52;c;" in runs["message"]  # the record keeps what was raised, as data
