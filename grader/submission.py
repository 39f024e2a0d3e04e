"""A submission as the grader sees it before running it: kind, bytes, hash, code cells.

Bad input is caught here, on the trusted side, with a one-line reason: not a notebook,
corrupt JSON, an empty notebook, no code cells, source that is not UTF-8.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".ipynb", ".py")
MAX_BYTES = 50 * 1024 * 1024


class SubmissionError(ValueError):
    """The file cannot be graded; the message is one line for the student."""


@dataclass(frozen=True)
class Submission:
    path: Path
    kind: str  # "notebook" | "module"
    sha256: str
    code_cells: int
    data: bytes

    @property
    def student(self) -> str:
        return self.path.stem

    def defines_function(self, name: str | None) -> bool:
        """Whether the source has `def name(` anywhere, whether or not that code ran."""
        if not name:
            return False
        pattern = re.compile(rf"^\s*def\s+{re.escape(name)}\s*\(", re.MULTILINE)
        text = self.data.decode("utf-8", "replace")
        if self.kind == "notebook":
            cells = json.loads(text).get("cells", [])
            text = "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list)
                             else str(c.get("source", "")) for c in cells
                             if c.get("cell_type") == "code")
        return bool(pattern.search(text))


def load(path: Path) -> Submission:
    if not path.exists():
        raise SubmissionError(f"{path}: no such file")
    if path.is_dir():
        raise SubmissionError(f"{path}: is a directory, not a submission")
    if path.suffix not in SUFFIXES:
        raise SubmissionError(f"{path.name}: not a notebook (.ipynb) or a Python module (.py)")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SubmissionError(f"{path.name}: {size / 1e6:.0f} MB is larger than the "
                              f"{MAX_BYTES // 2**20} MB a submission may be")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix == ".py":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SubmissionError(f"{path.name}: not UTF-8 text (byte {exc.start})") from None
        if not text.strip():
            raise SubmissionError(f"{path.name}: the file is empty")
        return Submission(path, "module", digest, 1, data)
    return Submission(path, "notebook", digest, _validate_notebook(path.name, data), data)


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
