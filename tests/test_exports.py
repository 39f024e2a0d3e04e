"""Exports: Gradescope, PrairieLearn, Coursera payloads, feedback text and results.csv."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from grader.results import exports
from grader.results.result import CheckResult, GradeResult

HIDDEN_MESSAGE = "hidden accuracy 0.8125 on 80 unseen images"
LOSS_HINT = "two classes and one sigmoid output call for loss='binary_crossentropy'"
RESCALE_HINT = "pass rescale=1/255 to ImageDataGenerator"


def checks() -> list[CheckResult]:
    return [
        CheckResult("runs", "The submission runs to the end", "passed", True, 10.0, 10.0,
                    "ran 6 of 6 code cell(s) without error", "never shown when passed"),
        CheckResult("loss", "Loss: binary cross-entropy", "failed", False, 0.0, 5.0,
                    "loss is 'mse', expected 'binary_crossentropy'", LOSS_HINT),
        CheckResult("generator_rescale", "Images are rescaled to [0, 1]", "failed", False,
                    0.0, 5.0, "no rescale found", RESCALE_HINT),
        CheckResult("output_layer", "Output: one sigmoid unit", "partial", False, 5.0, 10.0,
                    "Dense(2, softmax) works but is not the expected head"),
        CheckResult("hidden_accuracy", "Accuracy on the hidden images", "partial", False,
                    12.5, 20.0, HIDDEN_MESSAGE),
    ]


def graded(**fields: Any) -> GradeResult:
    defaults: dict[str, Any] = dict(
        submission="ada.ipynb", student="ada", exercise="happy-or-sad", status="graded",
        score=27.5, max_score=50.0, checks=checks(),
        metrics={"hidden_accuracy": 0.8125, "epochs_run": 7},
        timings={"total": 12.6}, submission_sha256="a" * 64, grader_version="0.1.0",
        exercise_version="1.0")
    return GradeResult(**{**defaults, **fields})


def all_passed(**fields: Any) -> GradeResult:
    passing = [CheckResult(c.id, c.title, "passed", True, c.max_score, c.max_score,
                           "ok", c.hint) for c in checks()]
    return graded(checks=passing, score=50.0, **fields)


def error_result(**fields: Any) -> GradeResult:
    defaults: dict[str, Any] = dict(status="error", score=0.0, checks=[],
                                    error="the notebook is not valid JSON")
    return graded(**{**defaults, **fields})


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- verdict and feedback text -------------------------------------------------------------


def test_verdict_all_passed() -> None:
    assert exports.verdict(all_passed()) == "50 / 50: every check passed"


def test_verdict_some_failed_names_them_in_order() -> None:
    assert exports.verdict(graded()) == (
        "27.5 / 50: 4 check(s) to fix: Loss: binary cross-entropy; "
        "Images are rescaled to [0, 1]; Output: one sigmoid unit; "
        "Accuracy on the hidden images")


def test_verdict_not_judged_is_not_a_failure() -> None:
    result = all_passed()
    result.checks.append(CheckResult("callback_stop", "Callback stops training", "not_judged",
                                     None, 0.0, 10.0, "not judged: no model"))
    assert exports.verdict(result) == "50 / 50: every check passed"


def test_verdict_timeout() -> None:
    result = graded(status="timeout", score=0.0, checks=[], error="ran longer than 600 s")
    assert exports.verdict(result) == (
        "0 / 50: the run was stopped at the time limit (ran longer than 600 s)")
    result.error = None
    assert exports.verdict(result) == "0 / 50: the run was stopped at the time limit (timeout)"


def test_verdict_error() -> None:
    assert exports.verdict(error_result()) == "Not graded: the notebook is not valid JSON"


def test_feedback_text_exact() -> None:
    result = graded(compat_notes=["tf.keras.optimizers.RMSprop(lr=...) read as learning_rate"])
    assert exports.feedback_text(result) == "\n".join([
        "27.5 / 50: 4 check(s) to fix: Loss: binary cross-entropy; "
        "Images are rescaled to [0, 1]; Output: one sigmoid unit; "
        "Accuracy on the hidden images",
        "",
        "[passed] The submission runs to the end (10/10): ran 6 of 6 code cell(s) without error",
        "[failed] Loss: binary cross-entropy (0/5): loss is 'mse', expected "
        f"'binary_crossentropy' Hint: {LOSS_HINT}",
        f"[failed] Images are rescaled to [0, 1] (0/5): no rescale found Hint: {RESCALE_HINT}",
        "[partly passed] Output: one sigmoid unit (5/10): Dense(2, softmax) works but is not "
        "the expected head",
        f"[partly passed] Accuracy on the hidden images (12.5/20): {HIDDEN_MESSAGE}",
        "",
        "Ran with compatibility for older TensorFlow code:",
        "- tf.keras.optimizers.RMSprop(lr=...) read as learning_rate",
    ])


def test_feedback_names_each_failed_check_and_its_hint() -> None:
    text = exports.feedback_text(graded(), hide_hidden=True)
    for check in checks():
        if check.passed is False and check.id not in exports.HIDDEN_CHECKS:
            assert f"] {check.title} (" in text
            if check.hint:
                assert f"Hint: {check.hint}" in text
    assert "never shown when passed" not in text


def test_hide_hidden_drops_the_hidden_accuracy_line() -> None:
    shown = exports.feedback_text(graded()).splitlines()
    hidden = exports.feedback_text(graded(), hide_hidden=True).splitlines()
    dropped = [line for line in shown if line not in hidden]
    assert dropped[1:] == [f"[partly passed] Accuracy on the hidden images (12.5/20): "
                           f"{HIDDEN_MESSAGE}"]
    # the verdict line changes too: it no longer names the hidden check among those to fix
    assert "Accuracy on the hidden images" in shown[0]
    assert "Accuracy on the hidden images" not in hidden[0]
    assert not any(HIDDEN_MESSAGE in line for line in hidden)
    assert len(hidden) == len(shown) - 1


# --- Gradescope ----------------------------------------------------------------------------


def test_gradescope_fields_and_types() -> None:
    payload = exports.gradescope(graded())
    assert json.loads(json.dumps(payload)) == payload
    assert is_number(payload["score"]) and payload["score"] == 27.5
    assert isinstance(payload["execution_time"], int)
    assert payload["execution_time"] == 13
    assert isinstance(payload["output"], str)
    assert payload["output"] == exports.feedback_text(graded(), hide_hidden=True)
    assert payload["visibility"] in {"hidden", "after_due_date", "after_published", "visible"}
    assert payload["stdout_visibility"] in {"hidden", "after_due_date", "after_published",
                                            "visible"}
    assert isinstance(payload["tests"], list) and len(payload["tests"]) == 5
    for test in payload["tests"]:
        assert isinstance(test, dict)
        assert isinstance(test["name"], str) and test["name"]
        assert is_number(test["score"]) and is_number(test["max_score"])
        assert isinstance(test["output"], str)
        assert test["visibility"] in {"hidden", "after_due_date", "after_published",
                                      "visible"}


def test_gradescope_tests_follow_the_checks() -> None:
    tests = exports.gradescope(graded())["tests"]
    assert [(t["name"], t["score"], t["max_score"], t["visibility"]) for t in tests] == [
        ("The submission runs to the end", 10.0, 10.0, "visible"),
        ("Loss: binary cross-entropy", 0.0, 5.0, "visible"),
        ("Images are rescaled to [0, 1]", 0.0, 5.0, "visible"),
        ("Output: one sigmoid unit", 5.0, 10.0, "visible"),
        ("Accuracy on the hidden images", 12.5, 20.0, "after_published"),
    ]
    assert tests[0]["output"] == "ran 6 of 6 code cell(s) without error"
    assert tests[1]["output"] == f"loss is 'mse', expected 'binary_crossentropy'\nHint: {LOSS_HINT}"
    assert [t["status"] for t in tests] == ["passed", "failed", "failed", "failed", "failed"]


def test_gradescope_score_is_the_sum_of_test_scores() -> None:
    for result in (graded(), all_passed(), error_result()):
        payload = exports.gradescope(result)
        assert sum(t["score"] for t in payload["tests"]) == payload["score"] == result.score


def test_gradescope_execution_time_without_timings() -> None:
    payload = exports.gradescope(graded(timings={}))
    assert payload["execution_time"] == 0 and isinstance(payload["execution_time"], int)


def test_gradescope_output_hides_the_hidden_message() -> None:
    payload = exports.gradescope(graded())
    assert HIDDEN_MESSAGE not in payload["output"]
    (hidden,) = [t for t in payload["tests"] if t["visibility"] != "visible"]
    assert hidden["visibility"] == "after_published"
    assert hidden["output"] == HIDDEN_MESSAGE


def test_gradescope_not_applicable_check_is_not_failed() -> None:
    result = all_passed()
    result.checks.append(CheckResult("returns_accuracy", "train() returns the accuracy",
                                     "not_applicable", None, 0.0, 0.0,
                                     "this exercise has no graded function"))
    tests = exports.gradescope(result)["tests"]
    # a 0/0 check has nothing to earn or show: left out, rather than shown as failed
    assert "returns_accuracy" not in [t["tags"][0] for t in tests]
    assert all(t["status"] == "passed" for t in tests)


# --- PrairieLearn --------------------------------------------------------------------------


def test_prairielearn_fields_and_types() -> None:
    payload = exports.prairielearn(graded())
    assert json.loads(json.dumps(payload)) == payload
    assert payload["gradable"] is True
    assert isinstance(payload["score"], float) and payload["score"] == 0.55
    assert 0.0 <= payload["score"] <= 1.0
    assert isinstance(payload["message"], str)
    assert payload["message"] == exports.verdict(graded())
    assert isinstance(payload["output"], str) and HIDDEN_MESSAGE not in payload["output"]
    assert [(t["name"], t["points"], t["max_points"]) for t in payload["tests"]] == [
        ("The submission runs to the end", 10.0, 10.0),
        ("Loss: binary cross-entropy", 0.0, 5.0),
        ("Images are rescaled to [0, 1]", 0.0, 5.0),
        ("Output: one sigmoid unit", 5.0, 10.0),
        ("Accuracy on the hidden images", 12.5, 20.0),
    ]
    for test in payload["tests"]:
        assert isinstance(test["name"], str)
        assert is_number(test["points"]) and is_number(test["max_points"])
        assert test["points"] <= test["max_points"]
    assert payload["tests"][1]["output"] == LOSS_HINT
    assert payload["tests"][0]["output"] == ""


@pytest.mark.parametrize(("status", "gradable"), [("graded", True), ("timeout", True),
                                                  ("error", False)])
def test_prairielearn_gradable_false_only_for_error(status: str, gradable: bool) -> None:
    result = graded(status=status, error=None if status == "graded" else "stopped")
    assert exports.prairielearn(result)["gradable"] is gradable


def test_prairielearn_all_passed_scores_one() -> None:
    payload = exports.prairielearn(all_passed())
    assert payload["score"] == 1.0 and isinstance(payload["score"], float)


# --- Coursera ------------------------------------------------------------------------------


def test_coursera_has_exactly_two_keys() -> None:
    payload = exports.coursera(graded())
    assert set(payload) == {"fractionalScore", "feedback"}
    assert payload["fractionalScore"] == 0.55
    assert isinstance(payload["feedback"], str)
    assert payload["feedback"] == exports.feedback_text(graded(), hide_hidden=True)
    assert HIDDEN_MESSAGE not in payload["feedback"]
    assert exports.coursera(error_result())["fractionalScore"] == 0.0


def test_formats_registry() -> None:
    assert list(exports.FORMATS) == ["gradescope", "prairielearn", "coursera"]
    assert exports.FORMATS["gradescope"] is exports.gradescope
    assert exports.FORMATS["prairielearn"] is exports.prairielearn
    assert exports.FORMATS["coursera"] is exports.coursera


# --- fraction ------------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "max_score", "expected"), [
    (27.5, 50.0, 0.55), (0.0, 0.0, 0.0), (5.0, 0.0, 0.0), (60.0, 50.0, 1.0),
    (-3.0, 50.0, 0.0), (1.0, 3.0, 0.333333), (50.0, 50.0, 1.0)])
def test_fraction(score: float, max_score: float, expected: float) -> None:
    value = exports.fraction(graded(score=score, max_score=max_score))
    assert value == expected and isinstance(value, float)


def test_max_score_zero_in_every_format() -> None:
    result = graded(score=0.0, max_score=0.0, checks=[])
    assert exports.prairielearn(result)["score"] == 0.0
    assert exports.coursera(result)["fractionalScore"] == 0.0


# --- write_json ----------------------------------------------------------------------------


def test_write_json_is_valid_and_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out" / "results.json"
    payload = exports.gradescope(graded())
    exports.write_json(payload, target)
    assert json.loads(target.read_text()) == payload
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.json"]
    exports.write_json({"fractionalScore": 1.0, "feedback": "ok"}, target)
    assert json.loads(target.read_text()) == {"fractionalScore": 1.0, "feedback": "ok"}
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.json"]


# --- write_csv -----------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def test_csv_header_rows_sorted_and_check_columns_in_rubric_order(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    results = [graded(student="cy", submission="cy.ipynb"),
               all_passed(student="ada"),
               error_result(student="bo", submission="bo.py")]
    exports.write_csv(results, target)
    rows = read_csv(target)
    assert rows[0][:10] == ["student", "submission", "exercise", "status", "score",
                            "max_score", "percent", "hidden_accuracy_measured", "review",
                            "similar_to"]
    assert rows[0][10:-1] == [c.id for c in checks()]
    assert rows[0][-1] == "error"
    assert [r[0] for r in rows[1:]] == ["ada", "bo", "cy"]
    assert rows[1][:10] == ["ada", "ada.ipynb", "happy-or-sad", "graded", "50.0", "50.0",
                            "100.0", "0.8125", "", ""]
    assert rows[1][10:] == ["10.0", "5.0", "5.0", "10.0", "20.0", ""]
    assert rows[2] == ["bo", "bo.py", "happy-or-sad", "error", "0.0", "50.0", "0.0",
                       "0.8125", "", "", "", "", "", "", "",
                       "the notebook is not valid JSON"]
    assert rows[3][4:7] == ["27.5", "50.0", "55.0"]
    assert rows[3][10:] == ["10.0", "0.0", "0.0", "5.0", "12.5", ""]
    assert not (tmp_path / "results.csv.tmp").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]


def test_csv_union_of_check_columns(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    extra = graded(student="bo", checks=[CheckResult("bonus", "Bonus", "passed", True, 1.0,
                                                     1.0, "ok")])
    exports.write_csv([graded(), extra], target)
    header, ada, bo = read_csv(target)
    assert header[10:-1] == [c.id for c in checks()] + ["bonus"]
    assert ada[-2] == "" and bo[-2] == "1.0"
    assert bo[10:-2] == ["", "", "", "", ""]


def test_csv_review_and_similar_to_columns(tmp_path: Path) -> None:
    """Why a grade needs a person, and whom a submission resembles: one cell each, in
    the student's row only, and a student-chosen name cannot become a formula."""
    target = tmp_path / "results.csv"
    flagged = graded(student="ada")
    flagged.review = ["callback_stop: the run's account of its epochs is not corroborated",
                      "two more"]
    exports.write_csv([flagged, graded(student="bo")], target,
                      {"ada": [("=bo()", 0.934), ("cy", 0.8)]})
    header, ada, bo = read_csv(target)
    ada_row, bo_row = dict(zip(header, ada, strict=True)), dict(zip(header, bo, strict=True))
    assert ada_row["review"] == ("callback_stop: the run's account of its epochs is not "
                                 "corroborated; two more")
    assert ada_row["similar_to"] == "'=bo() (0.93); cy (0.80)"
    assert bo_row["review"] == bo_row["similar_to"] == ""


def test_csv_max_score_zero_gives_zero_percent(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    exports.write_csv([graded(score=0.0, max_score=0.0, checks=[], metrics={})], target)
    header, row = read_csv(target)
    assert dict(zip(header, row, strict=True))["percent"] == "0.0"
    assert dict(zip(header, row, strict=True))["hidden_accuracy_measured"] == ""


@pytest.mark.parametrize("name", ["=cmd()", "+1", "@x", "-2", "\tx", "\r=1"])
def test_csv_formula_injection_is_neutralised(tmp_path: Path, name: str) -> None:
    target = tmp_path / "results.csv"
    exports.write_csv([error_result(student=name, submission=name, error=name)], target)
    _, row = read_csv(target)
    assert (row[0], row[1], row[-1]) == ("'" + name, "'" + name, "'" + name)


def test_csv_safe_names_are_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    exports.write_csv([graded(student="ada", submission="a=b.ipynb")], target)
    _, row = read_csv(target)
    assert (row[0], row[1], row[-1]) == ("ada", "a=b.ipynb", "")


def test_csv_round_trips_commas_quotes_and_newlines(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    names = ['Lovelace, Ada', 'Bo "the coder" Jones', "Cy\nMultiline", "Zoë Ünal"]
    exports.write_csv([graded(student=n, submission=f"{n}.ipynb",
                              error='said "no", twice') for n in names], target)
    rows = read_csv(target)
    assert len(rows) == 1 + len(names)
    assert [r[0] for r in rows[1:]] == sorted(names)
    assert [r[1] for r in rows[1:]] == [f"{n}.ipynb" for n in sorted(names)]
    assert all(r[-1] == 'said "no", twice' for r in rows[1:])
    assert all(len(r) == len(rows[0]) for r in rows)


def test_csv_column_names_are_unique(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    exports.write_csv([graded()], target)
    header = read_csv(target)[0]
    assert len(header) == len(set(header))


def test_csv_starts_with_a_utf8_bom_so_excel_shows_accents(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    exports.write_csv([graded(student="José", submission="José.ipynb")], target)
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfstudent,")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert "José" in data.decode("utf-8")
    assert read_csv(target)[1][:2] == ["José", "José.ipynb"]


def test_csv_cells_from_names_that_are_not_utf8_are_written(tmp_path: Path) -> None:
    target = tmp_path / "results.csv"
    latin1 = "Jos\udce9.py"  # a Latin-1 file name, as Linux hands it to Python
    exports.write_csv([error_result(student="Jos%E9", submission=latin1,
                                    error=f"{latin1}: not UTF-8 text (byte 0)")], target)
    row = read_csv(target)[1]
    assert (row[0], row[1], row[-1]) == ("Jos%E9", "Jos\\xe9.py",
                                         "Jos\\xe9.py: not UTF-8 text (byte 0)")


@pytest.mark.parametrize("name", ["%2E%2E", "bob%20", "bob~2", "-x", "@x", "+x",
                                  "\x1b]52;c;aGk=\x07", "[bold]x[/bold]"])
def test_csv_keeps_every_odd_id_on_its_own_row(tmp_path: Path, name: str) -> None:
    target = tmp_path / "results.csv"
    exports.write_csv([graded(student="bob"), graded(student=name)], target)
    rows = read_csv(target)
    assert len(rows) == 3
    assert {r[0].removeprefix("'") for r in rows[1:]} == {"bob", name}


def test_a_student_id_cannot_collide_with_the_csv_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "results.csv.tmp").mkdir()  # a student named results.csv.tmp, say
    exports.write_csv([graded()], tmp_path / "results.csv")
    exports.write_json({"a": 1}, tmp_path / "ada.json")
    assert read_csv(tmp_path / "results.csv")[1][0] == "ada"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ada.json", "results.csv",
                                                          "results.csv.tmp"]
