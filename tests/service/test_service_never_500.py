"""Never a 500 from a malformed upload (issue 21), on SQLite and on PostgreSQL, through the
API and through the browser's form: the notebooks that answered 500 (a 5,000-digit number,
a code cell whose `source` is `[1, 2]` or `[null]`) and a file name with a NUL byte, then
Hypothesis over notebook JSON (random cells, sources of every JSON type, huge numbers,
deep nesting, lone surrogates, random metadata): the answer is 202 or a 4xx with a one-line
reason, never a 5xx. What the service accepts, the runner's own reading of a notebook
(nbformat.reads and validate, as grader.runner.execute does) takes too; and what it
refuses, the grader's loading of the file (grader.submission.load) refuses with the same
words: one place decides what a valid notebook is."""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_fixtures import Course, as_student, client, csrf_of
from sqlalchemy import select, text

from grader.service import db, queue
from grader.submission import SubmissionError, load

CODE = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
        "source": "x = 1"}
HUGE = "9" * 5000  # past Python's 4,300-digit int-string limit


def notebook(*cells: dict[str, Any], **top: Any) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": list(cells), **top}).encode()


def with_huge(data: bytes) -> bytes:
    """A notebook with the number HUGE where it says "@HUGE@" (json.dumps cannot write it:
    Python refuses to turn so long an int into text)."""
    return data.replace(b'"@HUGE@"', HUGE.encode())


MALFORMED = {
    "huge execution_count": with_huge(notebook({**CODE, "execution_count": "@HUGE@"})),
    "huge number in metadata": with_huge(notebook(CODE, metadata={"n": "@HUGE@"})),
    "source [1, 2]": notebook({**CODE, "source": [1, 2]}),
    "source [null]": notebook({**CODE, "source": [None]}),
    "source a number": notebook({**CODE, "source": 5}),
    "source an object": notebook({**CODE, "source": {"a": "b"}}),
    "outputs not a list": notebook({**CODE, "outputs": {"x": 1}}),
    "output text [1]": notebook({**CODE, "outputs": [
        {"output_type": "stream", "name": "stdout", "text": [1]}]}),
    "cells an object": notebook(cells={"0": CODE}),
    "nbformat '4'": notebook(CODE, nbformat="4"),
    "a cell a string": notebook(CODE, "cell"),
    "an unknown cell type": notebook(CODE, {**CODE, "cell_type": "weird"}),
    "deep metadata": notebook(CODE).replace(b'"metadata": {}', b'"metadata": {"a": '
                                            + b"[" * 5000 + b"]" * 5000 + b"}", 1),
    "lone surrogate in code": notebook(CODE).replace(b'"x = 1"', b'"x = \'\\ud800\'"'),
}


def api_upload(api: Any, course: Course, data: bytes, name: str = "nb.ipynb") -> Any:
    return api.post("/api/v1/submissions", headers=course.headers("ada"),
                    files={"file": (name, data)})


def form_upload(browser: Any, data: bytes, name: str = "nb.ipynb") -> Any:
    return browser.post("/me/submissions", data={"csrf": csrf_of(browser.get("/me").text)},
                        files={"file": (name, data)}, follow_redirects=False)


def one_line_reason(answer: Any) -> str:
    detail = str(answer.json()["detail"])
    assert detail and "\n" not in detail and len(detail) < 300, detail
    return detail


def test_each_malformed_notebook_is_422_with_the_graders_own_reason(
        course: Course, tmp_path: Path) -> None:
    app = course.app(uploads_per_minute=0, queued_per_student=0)
    api, browser = client(app), as_student(app, course.tokens["ada"])
    for case, data in MALFORMED.items():
        answer = api_upload(api, course, data)
        assert answer.status_code == 422, (case, answer.text)
        reason = one_line_reason(answer)
        page = form_upload(browser, data)
        assert page.status_code == 422 and reason in html.unescape(page.text), case
        path = tmp_path / "nb.ipynb"
        path.write_bytes(data)
        with pytest.raises(SubmissionError) as refused:
            load(path)  # what a worker does before it runs anything
        assert str(refused.value) == f"nb.ipynb: {reason}", case


def multipart(name: str, data: bytes, **fields: str) -> tuple[bytes, dict[str, str]]:
    """A form body with the file name as raw bytes (httpx would percent-encode a NUL or a
    newline; an attacker's client need not)."""
    boundary = "grader-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
             f"{value}\r\n".encode() for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{name}"\r\nContent-Type: text/x-python\r\n\r\n'
                 .encode() + data + f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.mark.parametrize("name", ["a\x00b.py", "a\tGET 200.py", "a\x1b[31mred.py",
                                  "a\u202eyp.py", "a\x7f\x85.py"])
def test_control_characters_in_a_file_name_never_reach_the_database(
        course: Course, name: str) -> None:
    app = course.app(uploads_per_minute=0, queued_per_student=0)
    body, headers = multipart(name, b"print(1)\n")
    answer = client(app).post("/api/v1/submissions", content=body,
                              headers={**course.headers("ada"), **headers})
    assert answer.status_code == 202, answer.text
    browser = as_student(app, course.tokens["ada"])
    body, headers = multipart(name, b"print(2)\n", csrf=csrf_of(browser.get("/me").text))
    page = browser.post("/me/submissions", content=body, headers=headers,
                        follow_redirects=False)
    assert page.status_code == 303, page.text
    with db.reading(course.engine) as connection:
        stored = connection.execute(select(db.attempts.c.filename)).scalars().all()
    assert len(stored) == 2
    for shown in stored:  # each control character shown as "?"
        assert shown.startswith("a?") and shown.endswith(".py"), shown
        assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f or c == "\u202e"
                       for c in shown), shown


# Hypothesis: a valid notebook, then a few of its values (top-level or a cell's) replaced
# by anything JSON can say: a number, text, a list of numbers or of nulls, an object, and
# now and then a 5,000-digit number, deep nesting or a lone surrogate.
_PLACEHOLDERS = {'"@HUGE@"': HUGE, '"@DEEP@"': "[" * 3000 + "]" * 3000,
                 '"@NESTED@"': "[" * 500 + "{}" + "]" * 500, '"@SURROGATE@"': '"\\udc80"'}
_PLAIN = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
_WILD = st.sampled_from([p.strip('"') for p in _PLACEHOLDERS])
_LEAVES = st.integers(0, 7).flatmap(lambda n: _WILD if n == 0 else _PLAIN)
_JSON = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
_TEXT = st.one_of(st.text(max_size=30), st.lists(st.text(max_size=10), max_size=3))
_ANY = st.one_of(_JSON, _TEXT, st.lists(_LEAVES, max_size=3), _WILD)
_CELL = st.one_of(
    st.fixed_dictionaries({"cell_type": st.just("code"), "source": _TEXT,
                           "metadata": st.just({}), "outputs": st.just([]),
                           "execution_count": st.one_of(st.none(), st.integers(0, 99))}),
    st.fixed_dictionaries({"cell_type": st.sampled_from(["markdown", "raw"]),
                           "source": _TEXT, "metadata": st.just({})}))
_VALID = st.fixed_dictionaries({"nbformat": st.just(4), "nbformat_minor": st.integers(0, 5),
                                "metadata": st.just({}), "cells": st.lists(_CELL, max_size=4)})
_TOP = ["nbformat", "nbformat_minor", "metadata", "cells", "extra"]
_KEYS = ["source", "source", "metadata", "outputs", "execution_count", "id", "cell_type",
         "attachments", "extra", "outputs"]
_OUTPUTS = st.lists(st.fixed_dictionaries({
    "output_type": st.sampled_from(["stream", "execute_result", "display_data", "error"]),
    "name": st.just("stdout"), "text": _ANY, "data": _ANY, "metadata": _ANY,
    "execution_count": _ANY}), min_size=1, max_size=2)


def _mutated(notebook: dict[str, Any], changes: list[tuple[int, str, Any]]) -> Any:
    for where, key, value in changes:
        cells = notebook.get("cells")
        if key in _TOP or not isinstance(cells, list) or not cells:
            notebook[_TOP[where % len(_TOP)] if key not in _TOP else key] = value
        elif isinstance(cells[where % len(cells)], dict):
            cells[where % len(cells)][key] = value
    return notebook


_NOTEBOOK = st.builds(_mutated, _VALID, st.lists(st.tuples(
    st.integers(0, 99), st.sampled_from(_TOP + _KEYS * 3),
    st.one_of(_ANY, _ANY, _OUTPUTS)), max_size=3))


def _text_of(value: Any) -> bytes:
    text = json.dumps(value)
    for placeholder, replacement in _PLACEHOLDERS.items():
        text = text.replace(placeholder, replacement)
    return text.encode()


def _the_runner_reads(data: bytes) -> bool:
    """The runner's own reading (grader.runner.execute: nbformat.read, as_version 4) and
    the code cells as the text the worker writes out."""
    try:
        read = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(read)
        for cell in read.cells:
            if cell.cell_type == "code":
                cell.source.encode("utf-8")
    except Exception:  # noqa: BLE001 - any failure is the answer here
        return False
    return True


EXAMPLES = 40


def test_random_notebook_json_never_gets_a_5xx(course: Course) -> None:
    app = course.app(uploads_per_minute=0, queued_per_student=0, upload_bytes_per_day=0)
    api, browser = client(app), as_student(app, course.tokens["ada"])

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(value=_NOTEBOOK)
    def check(value: Any) -> None:
        data = _text_of(value)
        answer = api_upload(api, course, data)
        assert answer.status_code == 202 or 400 <= answer.status_code < 500, answer.text
        if answer.status_code == 202:
            assert _the_runner_reads(data), data[:300]
            return  # the form would hear "already waiting" (the same code accepts both)
        one_line_reason(answer)
        page = form_upload(browser, data)
        assert 400 <= page.status_code < 500, page.text

    check()


def test_a_nul_a_student_put_in_an_error_message_is_recorded_on_every_database(
        course: Course) -> None:
    """A student's exception message reaches the result's error and the runs check's
    message as the run raised it, NUL included, which PostgreSQL refuses in text: the
    grading was lost there. The gradebook shows it as ␀ in its text columns and keeps it,
    escaped, in the result's JSON."""
    from grader.results.gradebook import Gradebook
    from grader.results.result import CheckResult, GradeResult

    said = "ValueError: before\x00after"
    result = GradeResult(submission="ada.py", student="ada", exercise="happy-or-sad",
                         status="graded", score=0, max_score=10, error=said, checks=[
                             CheckResult("runs", "runs", "failed", False, 0, 10,
                                         f"the code raised {said}")])
    grading = Gradebook(course.engine).record(result, None)
    with db.reading(course.engine) as connection:
        error, kept = connection.execute(text(
            "select error, result_json from gradings where id = :g"), {"g": grading}).one()
        message = connection.execute(text(
            "select message from check_results where grading_id = :g"), {"g": grading}
        ).scalar_one()
    assert error == "ValueError: before␀after"
    assert message == "the code raised ValueError: before␀after"
    assert GradeResult.from_json(kept).error == said  # escaped in JSON, kept whole

    # and a job that ends in error keeps that error on the job too
    answer = client(course.app()).post("/api/v1/submissions", headers=course.headers("ada"),
                                       files={"file": ("sol.py", b"print(1)\n")})
    assert answer.status_code == 202, answer.text
    claimed = queue.claim(course.engine, "w")
    assert claimed is not None
    failed = dataclasses.replace(result, status="error")
    assert queue.finish(course.engine, claimed, failed, db.ERROR, Gradebook(course.engine))
    with db.reading(course.engine) as connection:
        job = connection.execute(select(db.jobs.c.error).where(
            db.jobs.c.id == claimed.job_id)).scalar_one()
    assert job == "ValueError: before␀after"
