"""grader.results.gradebook: recording gradings in SQLite, the cache, latest grades and history."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.results import gradebook
from grader.results.gradebook import Gradebook, GradebookError, cache_key
from grader.results.layout import GRADEBOOK
from grader.results.result import CheckResult, GradeResult


def checks(loss_passed: bool = False) -> list[CheckResult]:
    return [
        CheckResult("runs", "The submission runs to the end", "passed", True, 10.0, 10.0,
                    "ran 6 of 6 code cell(s) without error"),
        CheckResult("loss", "Loss: binary cross-entropy",
                    "passed" if loss_passed else "failed", loss_passed,
                    5.0 if loss_passed else 0.0, 5.0,
                    "loss is 'mse', expected 'binary_crossentropy'",
                    "use loss='binary_crossentropy'"),
        CheckResult("hidden_accuracy", "Accuracy on the hidden images", "partial", False,
                    12.5, 20.0, "hidden accuracy 0.8125"),
    ]


def graded(**fields: Any) -> GradeResult:
    defaults: dict[str, Any] = dict(
        submission="ada.ipynb", student="ada", exercise="happy-or-sad", status="graded",
        score=22.5, max_score=35.0, checks=checks(),
        metrics={"hidden_accuracy": 0.8125, "epochs_run": 7},
        timings={"total": 12.75}, submission_sha256="a" * 64, grader_version="0.1.0",
        exercise_version="1.0", stdout_tail="Epoch 1/15\n", details={"layers": []})
    return GradeResult(**{**defaults, **fields})


KEY = cache_key("a" * 64, "spec-1", "0.1.0")


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Gradebook]:
    with Gradebook(tmp_path / "out" / GRADEBOOK) as opened:
        yield opened


def test_record_then_cached_returns_an_equal_result(book: Gradebook) -> None:
    result = graded()
    book.record(result, KEY)
    found = book.cached("ada", KEY)
    assert found is not None
    assert found.to_json() == result.to_json()
    assert found == result


def test_cached_miss_for_unknown_key(book: Gradebook) -> None:
    book.record(graded(), KEY)
    assert book.cached("ada", cache_key("b" * 64, "spec-1", "0.1.0")) is None


def test_identical_files_from_two_students_do_not_share_a_grade(book: Gradebook) -> None:
    book.record(graded(student="ada"), KEY)
    assert book.cached("bo", KEY) is None
    book.record(graded(student="bo", submission="bo.ipynb", score=10.0), KEY)
    ada, bo = book.cached("ada", KEY), book.cached("bo", KEY)
    assert ada is not None and bo is not None
    assert (ada.student, ada.score) == ("ada", 22.5)
    assert (bo.student, bo.submission, bo.score) == ("bo", "bo.ipynb", 10.0)


def test_cached_returns_the_most_recent_grading_with_that_key(book: Gradebook) -> None:
    book.record(graded(score=1.0), KEY)
    book.record(graded(score=2.0), KEY)
    found = book.cached("ada", KEY)
    assert found is not None and found.score == 2.0


def test_grading_recorded_without_key_is_never_a_cache_hit(book: Gradebook) -> None:
    book.record(graded(status="error", score=0.0, checks=[], error="boom"), None)
    assert book.cached("ada", KEY) is None
    assert book.cached("ada", "") is None
    assert book.cached("ada", "None") is None
    (row,) = book.history("ada")
    assert row.cache_key is None
    assert row.status == "error"


def test_latest_is_the_most_recent_grading_and_history_keeps_both(book: Gradebook) -> None:
    first = book.record(graded(score=5.0), KEY)
    second = book.record(graded(score=30.0, checks=checks(loss_passed=True)), None)
    assert second > first
    (latest,) = book.latest()
    assert latest.score == 30.0
    assert latest.checks[1].passed is True
    rows = book.history()
    assert [(r.id, r.student, r.exercise, r.score, r.max_score, r.status) for r in rows] == [
        (first, "ada", "happy-or-sad", 5.0, 35.0, "graded"),
        (second, "ada", "happy-or-sad", 30.0, 35.0, "graded"),
    ]
    assert [r.cache_key for r in rows] == [KEY, None]
    assert [r.grader_version for r in rows] == ["0.1.0", "0.1.0"]
    assert [r.submission_sha256 for r in rows] == ["a" * 64, "a" * 64]
    assert all(len(r.graded_at) == 20 and r.graded_at.endswith("Z") for r in rows)


def test_latest_filters_by_exercise_and_students(book: Gradebook) -> None:
    book.record(graded(student="cy", score=3.0), KEY)
    book.record(graded(student="ada", score=1.0), KEY)
    book.record(graded(student="bo", score=2.0), KEY)
    book.record(graded(student="ada", exercise="other", score=9.0), KEY)
    book.record(graded(student="ada", score=4.0), KEY)
    everything = [(r.student, r.exercise, r.score) for r in book.latest()]
    assert everything == [("ada", "happy-or-sad", 4.0), ("ada", "other", 9.0),
                          ("bo", "happy-or-sad", 2.0), ("cy", "happy-or-sad", 3.0)]
    assert [(r.student, r.score) for r in book.latest("happy-or-sad")] == [
        ("ada", 4.0), ("bo", 2.0), ("cy", 3.0)]
    assert [(r.student, r.score) for r in book.latest("happy-or-sad", ["cy", "ada"])] == [
        ("ada", 4.0), ("cy", 3.0)]
    assert [(r.student, r.exercise) for r in book.latest(None, ["ada"])] == [
        ("ada", "happy-or-sad"), ("ada", "other")]
    assert book.latest("happy-or-sad", []) == []
    assert book.latest("no-such-exercise") == []


def test_history_of_one_student(book: Gradebook) -> None:
    book.record(graded(student="ada", score=1.0), KEY)
    book.record(graded(student="bo", score=2.0), KEY)
    book.record(graded(student="ada", score=3.0), KEY)
    assert [(r.student, r.score) for r in book.history("ada")] == [("ada", 1.0), ("ada", 3.0)]
    assert [r.student for r in book.history()] == ["ada", "bo", "ada"]
    assert book.history("nobody") == []


def test_check_rows_match_the_checks(book: Gradebook) -> None:
    result = graded()
    grading_id = book.record(result, KEY)
    assert book.checks_of(grading_id) == [
        ("runs", "passed", 10.0, 10.0),
        ("loss", "failed", 0.0, 5.0),
        ("hidden_accuracy", "partial", 12.5, 20.0),
    ]
    other = book.record(graded(checks=checks(loss_passed=True)), KEY)
    assert book.checks_of(other)[1] == ("loss", "passed", 5.0, 5.0)
    assert book.checks_of(grading_id)[1] == ("loss", "failed", 0.0, 5.0)
    assert book.checks_of(9999) == []


def test_check_rows_and_seconds_stored_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / GRADEBOOK
    with Gradebook(path) as book:
        grading_id = book.record(graded(), KEY)
    db = sqlite3.connect(path)
    try:
        row = db.execute("SELECT student, submission, seconds, score, max_score, error, "
                         "exercise_version FROM gradings WHERE id = ?",
                         (grading_id,)).fetchone()
        messages = [m for (m,) in db.execute(
            "SELECT message FROM check_results WHERE grading_id = ? ORDER BY rowid",
            (grading_id,))]
    finally:
        db.close()
    assert row == ("ada", "ada.ipynb", 12.75, 22.5, 35.0, None, "1.0")
    assert messages == [c.message for c in checks()]


def test_reopening_the_file_sees_the_data(tmp_path: Path) -> None:
    path = tmp_path / "out" / GRADEBOOK
    with Gradebook(path) as book:
        grading_id = book.record(graded(), KEY)
    with Gradebook(path) as again:
        found = again.cached("ada", KEY)
        assert found is not None and found.to_json() == graded().to_json()
        assert [r.id for r in again.history()] == [grading_id]
        assert len(again.checks_of(grading_id)) == 3
        second = again.record(graded(score=1.0), KEY)
        assert second == grading_id + 1


def test_opened_context_manager_uses_the_file_name(tmp_path: Path) -> None:
    with gradebook.opened(tmp_path / "out") as book:
        book.record(graded(), KEY)
    assert (tmp_path / "out" / "gradebook.sqlite").is_file()
    with gradebook.opened(tmp_path / "out") as book:
        assert [r.student for r in book.latest()] == ["ada"]


def test_file_that_is_not_sqlite_is_a_gradebook_error(tmp_path: Path) -> None:
    path = tmp_path / GRADEBOOK
    path.write_text("student,score\nada,10\n" * 20)
    with pytest.raises(GradebookError, match="not a usable gradebook"):
        Gradebook(path)
    assert path.read_text() == "student,score\nada,10\n" * 20


def test_other_schema_version_is_a_gradebook_error(tmp_path: Path) -> None:
    path = tmp_path / GRADEBOOK
    with Gradebook(path) as book:
        book.record(graded(), KEY)
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    db.close()
    with pytest.raises(GradebookError) as caught:
        Gradebook(path)
    assert str(caught.value) == (f"{path}: gradebook schema 2 is not 1; "
                                 "use a new output folder")


def test_non_numeric_schema_version_is_a_gradebook_error(tmp_path: Path) -> None:
    path = tmp_path / GRADEBOOK
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '2.0')")
    db.close()
    with pytest.raises(GradebookError):
        Gradebook(path)


def test_other_schema_version_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / GRADEBOOK
    db = sqlite3.connect(path)
    with db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '2')")
    db.close()
    with pytest.raises(GradebookError):
        Gradebook(path)
    db = sqlite3.connect(path)
    try:
        tables = [n for (n,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()
    assert (tables, mode) == (["meta"], "delete")


def test_new_gradebook_records_its_schema_version(tmp_path: Path) -> None:
    path = tmp_path / GRADEBOOK
    Gradebook(path).close()
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchall() == [
            (str(gradebook.SCHEMA_VERSION),)]
    finally:
        db.close()


def test_cache_key_changes_when_any_part_changes() -> None:
    base = cache_key("a" * 64, "spec-1", "0.1.0")
    assert base == cache_key("a" * 64, "spec-1", "0.1.0")
    assert len(base) == 64 and int(base, 16) >= 0
    variants = {cache_key("b" * 64, "spec-1", "0.1.0"),
                cache_key("a" * 64, "spec-2", "0.1.0"),
                cache_key("a" * 64, "spec-1", "0.1.1")}
    assert len(variants) == 3
    assert base not in variants
    # the parts are separated, so moving text between them changes the key
    assert cache_key("ab", "c", "d") != cache_key("a", "bc", "d")


def _open_at_once(path: str, barrier: Any, outcomes: Any) -> None:
    barrier.wait()
    try:
        with Gradebook(Path(path)) as book:
            book.history()
        outcomes.put("ok")
    except Exception as exc:  # noqa: BLE001 - the test reports it
        outcomes.put(repr(exc)[:200])


@pytest.mark.timeout(300)
def test_processes_opening_a_new_gradebook_at_once_all_get_it(tmp_path: Path) -> None:
    """A batch creating its gradebook while `grader gradebook show` (or a test) opens it:
    before, one of them failed one time in two ("UNIQUE constraint failed: meta.key",
    "table check_results already exists")."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    outcomes: list[str] = []
    for round_ in range(10):
        path = str(tmp_path / f"{round_}.sqlite")
        barrier, queue = context.Barrier(4), context.Queue()
        processes = [context.Process(target=_open_at_once, args=(path, barrier, queue))
                     for _ in range(4)]
        for process in processes:
            process.start()
        outcomes += [queue.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(60)
    assert outcomes == ["ok"] * 40, [o for o in outcomes if o != "ok"][:3]
