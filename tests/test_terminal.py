"""What the CLI prints is inert: no escape sequence from a submission reaches the terminal,
no rich markup in a student's string is obeyed, and no character ends the command."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from grader.cli import common, progress
from grader.results.result import CheckResult, GradeResult
from grader.terminal import inert

OSC8 = "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\"
OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"
CSI = "\x1b[2J\x1b[31mred\x1b[0m"
HOSTILE = f"{OSC8} {OSC52} {CSI} \u202eevil\x9b1m [bold]b[/bold] [link=https://x]l[/link]"


def _result(student: str = "ada", message: str = HOSTILE) -> GradeResult:
    return GradeResult(submission=f"{student}.py", student=student, exercise="happy-or-sad",
                       status="graded", score=10.0, max_score=100.0,
                       checks=[CheckResult("runs", "Runs", "failed", False, 0.0, 10.0,
                                           message)])


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide tables, so a message is printed on one line and can be searched whole."""
    monkeypatch.setenv("COLUMNS", "400")


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[31mred", "\\x1b[31mred"),
    ("\x1b]52;c;aGk=\x07", "\\x1b]52;c;aGk=\\x07"),
    ("a\rb", "a\\rb"),
    ("\x9b1m", "\\x9b1m"),  # the one-byte CSI of C1
    ("\u202eevil", "\\u202eevil"),  # right-to-left override
    ("Jos\udce9", "Jos\\udce9"),  # a Latin-1 file name: no encoding can print it as is
    ("line\nnext\tcell", "line\nnext\tcell"),
    ("José 字", "José 字"),
])
def test_inert(text: str, shown: str) -> None:
    assert inert(text) == shown


def test_say_prints_escapes_not_controls(capsys: pytest.CaptureFixture[str]) -> None:
    common.say(f"error: {HOSTILE}")
    common.say(f"warning: {HOSTILE}", error=True)
    out, err = capsys.readouterr()
    for text in (out, err):
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
        assert "\\x1b]52;c;cm0gLXJmIH4K\\x07" in text


def test_check_tables_show_markup_and_escapes_as_text(
        capsys: pytest.CaptureFixture[str]) -> None:
    common.print_checks(_result(student="[bold]ada[/bold]"))
    common.print_grades([_result(student="[link=https://x]bo[/link]\x1b[2J")])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "[bold]ada[/bold]: 10 / 100" in out
    assert "[link=https://x]bo[/link]\\x1b[2J" in out
    assert "[bold]b[/bold] [link=https://x]l[/link]" in out
    assert "\\x1b]8;;https://evil.example/\\x1b\\click me" in out


def test_progress_lines_are_inert() -> None:
    stream = io.StringIO()
    lines = progress.Lines(stream)
    lines.started(total=1, to_grade=1)
    lines.finished(_result(student="ada\x1b]52;c;aGk=\x07"), reused=False)
    assert stream.getvalue().splitlines()[1] == "[1/1] graded ada\\x1b]52;c;aGk=\\x07: 10 / 100"


def test_progress_bar_shows_markup_as_text() -> None:
    bar = progress.Bar()
    shown = io.StringIO()
    bar.progress.console.file = shown
    bar.started(total=1, to_grade=1)
    bar.finished(_result(student="[bold red]ada[/bold red]\x1b[2J"), reused=False)
    bar.close()
    assert bar.progress.tasks[0].fields["last"] == \
        "last: [bold red]ada[/bold red]\\x1b[2J: 10 / 100"
    assert "[bold red]ada[/bold red]\\x1b[2J" in shown.getvalue()


def test_a_terminal_that_cannot_encode_a_name_gets_an_escape(
        monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.BytesIO()
    latin1 = io.TextIOWrapper(raw, encoding="latin-1", errors="strict")
    monkeypatch.setattr("sys.stdout", latin1)
    common.say("graded 字 and José")
    common.print_grades([_result(student="字")])
    latin1.flush()
    printed = raw.getvalue().decode("latin-1")
    assert "graded \\u5b57 and José" in printed
    assert "\\u5b57" in printed.split("\n", 1)[1]


def test_gradebook_show_prints_stored_names_as_text(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main
    from grader.results.gradebook import Gradebook

    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        book.record(_result(student="[bold]x[/bold]\x1b]52;c;aGk=\x07"), None)
    assert main(["gradebook", "show", "--out", str(tmp_path)]) == 0
    assert main(["gradebook", "show", "--out", str(tmp_path), "--history"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert out.count("[bold]x[/bold]\\x1b]52;c;aGk=\\x07") == 2
