"""Bad input is refused on the trusted side with a one-line reason."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from grader.submission import SubmissionError, load


def _notebook(path: Path, cells: list) -> Path:
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_notebook_counts_non_empty_code_cells(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "s.ipynb", [nbformat.v4.new_markdown_cell("# hi"),
                                            nbformat.v4.new_code_cell("x = 1"),
                                            nbformat.v4.new_code_cell("   ")])
    submission = load(path)
    assert (submission.kind, submission.code_cell_count, submission.student) == ("notebook", 1, "s")
    assert len(submission.sha256) == 64


def test_module_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("print('hi')\n")
    assert load(path).kind == "module"


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("a.txt", b"hello", "not a notebook (.ipynb) or a Python module"),
    ("b.ipynb", b"{not json", "not valid notebook JSON"),
    ("c.ipynb", b"", "the file is empty"),
    ("d.ipynb", json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                            "nbformat_minor": 5}).encode(), "has no cells"),
    ("e.ipynb", json.dumps({"foo": 1}).encode(), "not a Jupyter notebook"),
    ("f.py", b"x = '\xff\xfe'\n", "not UTF-8"),
    ("g.ipynb", json.dumps({"cells": [], "nbformat": 3}).encode(), "format 3 is not supported"),
    ("h.ipynb", b"[" * 100_000 + b"]" * 100_000, "notebook"),
])
def test_bad_input_gets_one_line_reason(tmp_path: Path, name: str, content: bytes,
                                        reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SubmissionError) as caught:
        load(path)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message


def test_notebook_without_code_cells(tmp_path: Path) -> None:
    path = _notebook(tmp_path / "md.ipynb", [nbformat.v4.new_markdown_cell("only text")])
    with pytest.raises(SubmissionError, match="no code cells"):
        load(path)


def test_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SubmissionError, match="is a directory"):
        load(tmp_path)
    with pytest.raises(SubmissionError, match="no such file"):
        load(tmp_path / "missing.ipynb")
