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
from dataclasses import dataclass
from pathlib import Path

from grader.errors import SubmissionError
from grader.ids import display_name, student_id

SUFFIXES = (".ipynb", ".py")
MAX_BYTES = 50 * 1024 * 1024

__all__ = ["MAX_BYTES", "SUFFIXES", "Submission", "SubmissionError", "code_cells",
           "display_name", "load", "student_id"]


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
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix == ".py":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SubmissionError(f"{shown}: not UTF-8 text (byte {exc.start})") from None
        if not text.strip():
            raise SubmissionError(f"{shown}: the file is empty")
        return Submission(path, "module", digest, 1, data)
    return Submission(path, "notebook", digest, _validate_notebook(shown, data), data)


def _validate_notebook(name: str, data: bytes) -> int:
    import nbformat

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise SubmissionError(f"{name}: the file is empty")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{name}: not valid notebook JSON (line {exc.lineno}: "
                              f"{exc.msg})") from None
    except RecursionError:
        raise SubmissionError(f"{name}: notebook JSON is nested too deeply") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise SubmissionError(f"{name}: not a Jupyter notebook (no 'cells')")
    if raw.get("nbformat") != 4:
        raise SubmissionError(f"{name}: notebook format {raw.get('nbformat')!r} is not "
                              "supported (nbformat 4 is)")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        message = str(exc.message).splitlines()[0][:200]
        raise SubmissionError(f"{name}: invalid notebook: {message}") from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds on bad input
        raise SubmissionError(f"{name}: unreadable notebook: "
                              f"{str(exc).splitlines()[0][:200]}") from None
    code = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip()]
    if not notebook.cells:
        raise SubmissionError(f"{name}: the notebook has no cells")
    if not code:
        raise SubmissionError(f"{name}: the notebook has no code cells")
    return len(code)
