"""A submission as the grader sees it before running it: kind, bytes, hash, code cells.

Bad input is caught here, on the trusted side, with a one-line reason: not a notebook,
corrupt JSON, an empty notebook, no code cells, source that is not UTF-8. The code is
read here too, never run: exercise detection, the trusted side's own reading of the
source and the similarity report all start from `code_cells`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import SubmissionError
from grader.ids import display_name, student_id

SUFFIXES = (".ipynb", ".py")
MAX_BYTES = 50 * 1024 * 1024

__all__ = ["MAX_BYTES", "SUFFIXES", "Submission", "SubmissionError", "code_cells",
           "check", "display_name", "load", "student_id"]


@dataclass(frozen=True)
class Submission:
    path: Path
    kind: str  # "notebook" | "module"
    sha256: str
    code_cell_count: int
    data: bytes

    @property
    def student(self) -> str:
        """The id this file is graded under when nothing else names the student."""
        return student_id(self.path.stem)

    @property
    def name(self) -> str:
        """The file name as it can be shown and stored (see grader.ids)."""
        return display_name(self.path.name)

    def code_cells(self) -> list[str]:
        return code_cells(self.data, self.kind)

    def code(self) -> str:
        return "\n".join(self.code_cells())

    def defines_function(self, name: str | None) -> bool:
        """Whether the source has `def name(` anywhere, whether or not that code ran."""
        if not name:
            return False
        pattern = re.compile(rf"^\s*def\s+{re.escape(name)}\s*\(", re.MULTILINE)
        return bool(pattern.search(self.code()))


def code_cells(data: bytes, kind: str) -> list[str]:
    """The source of each code cell of a notebook (markdown and outputs left out), or a
    module's whole text as one cell. Unreadable input gives no cells, not an error: the
    callers only read code, `load` judges the file."""
    text = data.decode("utf-8", "replace")
    if kind != "notebook":
        return [text]
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError, RecursionError):
        return []
    if not isinstance(cells, list):
        return []
    return ["".join(map(str, c.get("source", ""))) if isinstance(c.get("source"), list)
            else str(c.get("source", "")) for c in cells
            if isinstance(c, dict) and c.get("cell_type") == "code"]


def load(path: Path) -> Submission:
    shown = display_name(path.name)
    if not path.exists():
        raise SubmissionError(f"{display_name(str(path))}: no such file")
    if path.is_dir():
        raise SubmissionError(f"{display_name(str(path))}: is a directory, not a submission")
    if path.suffix not in SUFFIXES:
        raise SubmissionError(f"{shown}: not a notebook (.ipynb) or a Python module (.py)")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SubmissionError(f"{shown}: {size / 1e6:.0f} MB is larger than the "
                              f"{MAX_BYTES // 2**20} MB a submission may be")
    data = path.read_bytes()
    kind = "module" if path.suffix == ".py" else "notebook"
    try:
        count = check(data, kind)
    except SubmissionError as exc:
        raise SubmissionError(f"{shown}: {exc}") from None
    return Submission(path, kind, hashlib.sha256(data).hexdigest(), count, data)


def check(data: bytes, kind: str) -> int:
    """The one judgement of what a valid submission is, made by the grader when it loads a
    file and by the service before it accepts an upload (so nothing the service accepts
    fails the grader's own reading later): the number of non-empty code cells, or
    SubmissionError with a one-line reason that names no file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise SubmissionError("the file is empty")
    if kind == "module":
        return 1
    return _check_notebook(text)


def _check_notebook(text: str) -> int:
    import nbformat

    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"not valid notebook JSON (line {exc.lineno}: "
                              f"{exc.msg})") from None
    except RecursionError:
        raise SubmissionError("notebook JSON is nested too deeply") from None
    except ValueError:  # the one other failure: an integer longer than Python converts
        raise SubmissionError("not valid notebook JSON (a number of more than "
                              f"{sys.get_int_max_str_digits()} digits)") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise SubmissionError("not a Jupyter notebook (no 'cells')")
    if raw.get("nbformat") != 4:
        raise SubmissionError(f"notebook format {_shown(raw.get('nbformat'))} is not "
                              "supported (nbformat 4 is, what Jupyter and Colab write)")
    minor = raw.get("nbformat_minor", 0)
    if not isinstance(minor, int) or isinstance(minor, bool) or minor < 0:
        raise SubmissionError(f"notebook format minor version {_shown(minor)} is not a "
                              "whole number")
    try:
        with warnings.catch_warnings():  # "missing cell id" and the like: nbformat mends
            warnings.simplefilter("ignore")
            # what the runner does (nbformat.read): its own parse, version upgrade and
            # schema validation (which only logs a failure, hence validate again)
            notebook = nbformat.reads(text, as_version=4)
            nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        raise SubmissionError(f"invalid notebook: {_schema_problem(exc)}") from None
    except TypeError:  # nbformat joins lists of lines before it validates them
        raise SubmissionError("invalid notebook: a cell's source or output text is not a "
                              "string or a list of strings") from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on bad input
        raise SubmissionError(f"unreadable notebook: {_first_line(exc)}") from None
    if not notebook.cells:
        raise SubmissionError("the notebook has no cells")
    code = [c.source for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    if not code:
        raise SubmissionError("the notebook has no code cells")
    for number, source in enumerate(code, 1):
        try:  # JSON may escape a lone surrogate, which no file or process can take
            source.encode("utf-8")
        except UnicodeEncodeError:
            raise SubmissionError(f"code cell {number} is not valid text (a lone UTF-16 "
                                  "surrogate)") from None
    return len(code)


def _schema_problem(error: Any) -> str:
    """Where the notebook breaks nbformat's schema and how, in a few words: the schema's
    own message quotes the offending value, which may be a whole cell (with the random
    id nbformat gave it) or megabytes of output."""
    where = "/".join(map(str, getattr(error, "absolute_path", ()) or ())) or "the top level"
    message = _first_line(getattr(error, "message", error))
    if len(message) > 100:
        message = f"does not match the notebook schema ({getattr(error, 'validator', '?')})"
    return f"{where}: {message}"


def _first_line(problem: object) -> str:
    """A message from a library as one short line (it may quote the input at length)."""
    lines = str(problem).splitlines()
    return display_name(lines[0] if lines else type(problem).__name__, 200)


def _shown(value: object) -> str:
    """A value read from the file, as a short line (a 5,000-digit number included)."""
    return display_name(json.dumps(value)[:40])
