"""Control characters from a run never reach a report raw (issue 19, B).

A run chooses much of what a report shows: its output, its error messages, its callback's
and layers' names, the folder it read, the notes of its trace. Autoescape keeps that text
from being markup, but leaves ESC, BEL, NUL, CSI (U+009B) and a lone CR alone, and those
act on whoever reads the page with a terminal tool. The reports environment writes every
value out through grader.terminal.inert (one `finalize` hook), so each one is shown as
its Python escape — ESC as the four characters `\\x1b` — and the text around it stays.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from grader import reports
from grader.results.layout import OutputLayout
from grader.results.result import CheckResult, GradeResult

# ESC [31m (a colour), BEL, CSI (U+009B, C1) 2J (clear the screen), NUL, a lone CR
ESC, BEL, CSI, NUL, CR = "\x1b", "\x07", "\x9b", "\x00", "\r"
HOSTILE = f"{ESC}[31mred{BEL} {CSI}2Jclear{NUL} over{CR}written"
# …as each one is shown: its escape in Python's own notation, what `inert` writes
SHOWN = "\\x1b[31mred\\x07 \\x9b2Jclear\\x00 over\\rwritten"
# every C0 control but newline and tab, DEL, and every C1 control: none may be raw
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def hostile_result(student: str = "eve") -> GradeResult:
    """A result whose every field that came from a run holds control characters."""
    text = HOSTILE
    check = CheckResult("loss", "Loss: binary cross-entropy", "failed", False, 0.0, 5.0,
                        f"loss is '{text}'", f"hint {text}", found=f"found {text}",
                        expected="binary_crossentropy", trust="review",
                        evidence=f"evidence {text}")
    stop = CheckResult("callback_stop", "The callback stops training", "not_trusted", False,
                       0.0, 10.0, f"not trusted: {text}", trust="not_trusted",
                       evidence=f"the run changed fits.0.{text}")
    details: dict[str, Any] = {
        "exercise_title": f"Happy or sad {text}", "classes": ["happy", f"sad {text}"],
        "layers": [{"cls": f"Dense{text}", "name": f"layer {text}",
                    "output_shape": [None, 1], "params": 3, "activation": f"act {text}"}],
        "input_shape": [150, 150, 3],
        "epochs": [{"epoch": 1, "accuracy": 0.5, f"log {text}": 0.25},
                   {"epoch": 2, "accuracy": 1.0, f"log {text}": 0.125}],
        "flow": {"id": 0, "generator_id": 0, "directory": f"/tmp/{text}",
                 "target_size": [150, 150], "batch_size": 10, "class_mode": "binary",
                 "images_found": 80, "class_indices": {f"happy {text}": 0, "sad": 1},
                 "error": None},
        "generator": {"id": 0, "rescale": 1 / 255,
                      "kwargs": {"rescale": 1 / 255, f"arg {text}": f"value {text}"}},
        "compile": {"loss": f"loss {text}", "optimizer": f"Adam {text}",
                    "learning_rate": 0.001, "metrics": [f"metric {text}"]},
        "callback_tests": [{"callback": f"myCallback {text}", "sequence": 0,
                            "stopped_at": None, "error": f"KeyError {text}"}],
        "execution": {"kind": "module", "ran_to_end": False,
                      "error_name": f"Error {text}", "error_value": f"value {text}"},
        "hidden_confusion": [[50, 10], [5, 55]],
        "hidden_misclassified": [f"happy/{text}.png"],
        "evaluated_at": {"size": [150, 150], f"key {text}": f"at {text}"},
        "limits": {"time_seconds": 600, "memory": f"4096 MB {text}"},
    }
    return GradeResult(
        submission=f"eve {text}.py", student=student, exercise="happy-or-sad",
        status="graded", score=0.0, max_score=15.0, checks=[check, stop],
        metrics={"hidden_accuracy": 0.875, "epochs_run": 2, "epochs_limit": 15,
                 "accuracy_threshold": 0.999, "stop_epoch": None,
                 "stopped_by_callback": f"myCallback {text}", "optimizer": f"Adam {text}"},
        compat_notes=[f"shim {text}"], notes=[f"trace: {text}"], error=f"run error {text}",
        stdout_tail=f"Epoch 1/15\n{text}\n\tindented\n", stderr_tail=f"Traceback\n{text}\n",
        timings={"total": 1.0}, sandbox=f"bubblewrap {text}",
        submission_sha256="ab" * 32, grader_version="0.1.0", exercise_version="1.0",
        review=[f"review {text}"], details=details)


def assert_inert(html: str) -> None:
    """No raw control character but newline and tab; the hostile text is still there, each
    control shown as its escape, the words around it intact."""
    assert RAW_CONTROL.findall(html) == []
    assert SHOWN in html


def test_both_views_written_hold_no_raw_control_character(tmp_path: Path) -> None:
    layout = OutputLayout(tmp_path)
    reports.write_submission(hostile_result(), layout)

    for path in (layout.student_report("eve"), layout.instructor_report("eve")):
        data = path.read_bytes()
        for raw in (ESC, BEL, CSI, NUL, CR):
            assert raw.encode("utf-8") not in data, (path.name, raw)
        html = data.decode("utf-8")
        assert_inert(html)
        assert "\\x1b[31mred" in html and "written" in html


def test_every_field_a_run_chose_is_shown_inert(tmp_path: Path) -> None:
    """Each field on its own: the escape shows up where the field is shown (a field the
    view does not show at all cannot leak either)."""
    instructor = reports.render(hostile_result(), "instructor")
    student = reports.render(hostile_result(), "student")
    for html in (instructor, student):
        assert_inert(html)
    # the same escape in the output tails, the layer table, the epoch table's columns…
    for shown in (f"Epoch 1/15\n{SHOWN}\n\tindented", f"Dense{SHOWN}", f"log {SHOWN}",
                  f"loss is &#39;{SHOWN}&#39;", f"run error {SHOWN}", f"shim {SHOWN}"):
        assert shown in instructor, shown
    # …and in what only the instructor sees
    for shown in (f"review {SHOWN}", f"myCallback {SHOWN}", f"KeyError {SHOWN}",
                  f"Error {SHOWN}", f"happy/{SHOWN}.png", f"evidence {SHOWN}"):
        assert shown in instructor, shown


def test_a_student_id_with_control_characters_is_shown_inert() -> None:
    html = reports.render(hostile_result(student=f"{ESC}]0;title{BEL}eve"), "instructor")
    assert RAW_CONTROL.findall(html) == []
    assert "\\x1b]0;title\\x07eve" in html


def test_the_class_summary_holds_no_raw_control_character(tmp_path: Path) -> None:
    layout = OutputLayout(tmp_path)
    path = reports.write_summary([hostile_result(), hostile_result("bob")], layout)
    html = path.read_bytes().decode("utf-8")
    assert_inert(html)
    assert f"eve {SHOWN}.py" in html and f"run error {SHOWN}" in html


def test_markup_and_numbers_are_written_as_before() -> None:
    """The hook changes only control characters: a macro's markup stays markup (the
    charts are drawn), numbers are formatted by the template, newlines and tabs stay."""
    html = reports.render(hostile_result(), "student")
    assert "<svg" in html and "<polyline" in html
    assert "0.2500" in html and "0 / 15" in html
    assert "\n\tindented" in html
