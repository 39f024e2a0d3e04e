"""Read what is compared: a class's submissions, reference collections and templates.

This is the only module of the subpackage that imports the rest of the grader (intake,
submission, exercise, errors), so that when those move, one file changes. A file that cannot be
read becomes a `Problem` with the grader's own one-line reason (corrupt notebook, not
UTF-8, larger than a submission may be) and the rest is still compared; only a source
that cannot be read at all (no such folder, an unreadable template, an unknown exercise)
is a `SourceError`, which the command reports as a usage error.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from grader import exercise, submission
from grader.classwork.intake import collect
from grader.errors import IntakeError, SpecError, SubmissionError, UsageError
from grader.submission import SUFFIXES

MAX_CODE_CHARS = 1_000_000  # ~300 times a complete solution; more is not hand-written
ROLE_SUBMISSION, ROLE_REFERENCE, ROLE_TEMPLATE = "submission", "reference", "template"


class SourceError(UsageError):
    """A source as a whole cannot be used (one line for the instructor); a UsageError, so
    the grader's own command line exits 2 on it like on any other usage error."""


@dataclass
class Source:
    """One document's code cells, with who it belongs to.

    `name` is the student id for a submission, `collection/relative/path` for a
    reference and the file name for a template; `file` is the file as the user knows it.
    """

    name: str
    file: str
    cells: list[str]
    role: str
    collection: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Problem:
    """A file left out of the comparison, and why."""

    name: str
    file: str
    message: str


@dataclass
class Loaded:
    sources: list[Source] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def extend(self, other: Loaded) -> None:
        self.sources += other.sources
        self.problems += other.problems
        self.warnings += other.warnings


def printable(text: str) -> str:
    """A name safe to print and to write as UTF-8: undecodable bytes in file names (kept
    by Python as surrogates) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def exercise_title(name: str) -> str:
    """The exercise's title, or SourceError when no such exercise is installed."""
    try:
        spec = exercise.load(name)
    except (SpecError, ValueError, OSError) as exc:
        raise SourceError(str(exc).splitlines()[0] if str(exc) else
                          f"unknown exercise {name!r}") from None
    return f"{spec.title} ({spec.name})" if spec.title else spec.name


def code_cells(path: Path) -> tuple[list[str], list[str]]:
    """(code cells, notes) of a notebook or module; SubmissionError if it cannot be read.

    Outputs, markdown and metadata are never looked at: only code cells are compared."""
    with warnings.catch_warnings():  # nbformat's "missing cell id" is no problem here
        warnings.simplefilter("ignore")
        loaded = submission.load(path)
    text = loaded.data.decode("utf-8")
    if loaded.kind == "module":
        cells = [text]
    else:
        cells = []
        for cell in json.loads(text).get("cells", []):
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                source = cell.get("source", "")
                cells.append("".join(source) if isinstance(source, list) else str(source))
    return _bounded(cells)


def _bounded(cells: list[str]) -> tuple[list[str], list[str]]:
    total, kept = 0, []
    for cell in cells:
        if total + len(cell) > MAX_CODE_CHARS:
            kept.append(cell[:MAX_CODE_CHARS - total])
            return kept, [f"only the first {MAX_CODE_CHARS:,} characters of code were "
                          f"compared (the file has {sum(map(len, cells)):,})"]
        total += len(cell)
        kept.append(cell)
    return kept, []


def _read(name: str, path: Path, role: str, collection: str | None = None,
          shown: str | None = None) -> Source | Problem:
    file = printable(shown or path.name)
    try:
        cells, notes = code_cells(path)
    except SubmissionError as exc:
        return Problem(printable(name), file, printable(str(exc)))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return Problem(printable(name), file, printable(f"{path.name}: cannot read: {exc}"))
    return Source(printable(name), file, cells, role, collection, notes)


def _add(loaded: Loaded, item: Source | Problem) -> None:
    if isinstance(item, Source):
        loaded.sources.append(item)
    else:
        loaded.problems.append(item)


def load_class(source: Path, roster: Path | None = None) -> Loaded:
    """Every submission in a folder, a folder of student folders, a zip or an LMS download
    (the layouts `grader batch` takes), read before a zip's scratch folder goes away."""
    try:
        intake = collect(source, roster)
    except IntakeError as exc:
        raise SourceError(printable(str(exc))) from None
    loaded = Loaded(warnings=[printable(w) for w in intake.warnings])
    with intake:
        for entry in intake.entries:
            if entry.problem or entry.path is None:
                loaded.problems.append(Problem(printable(entry.student), "",
                                               printable(entry.problem or "no file")))
            else:
                _add(loaded, _read(entry.student, entry.path, ROLE_SUBMISSION))
    return loaded


def load_entries(entries: list[tuple[str, Path]]) -> Loaded:
    """Submissions the caller has already found (student id, file), as the batch has them."""
    loaded = Loaded()
    for student, path in entries:
        _add(loaded, _read(student, path, ROLE_SUBMISSION))
    return loaded


def load_collection(folder: Path) -> Loaded:
    """A reference collection (last term, public solutions): every .ipynb and .py under
    a folder, or one such file, named `<collection>/<path inside it>`."""
    if not folder.exists():
        raise SourceError(f"{printable(str(folder))}: no such file or folder")
    collection = printable(folder.name)
    loaded = Loaded()
    if folder.is_file():
        _add(loaded, _read(f"{collection}", folder, ROLE_REFERENCE, collection))
        return loaded
    files = sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                   and not any(part.startswith(".") or part == "__MACOSX"
                               for part in p.relative_to(folder).parts))
    if not files:
        loaded.warnings.append(f"{collection}: no .ipynb or .py file in the collection")
    for path in files:
        relative = path.relative_to(folder).as_posix()
        _add(loaded, _read(f"{collection}/{relative}", path, ROLE_REFERENCE, collection,
                           shown=f"{collection}/{relative}"))
    return loaded


def load_templates(paths: list[Path]) -> list[Source]:
    """The starter notebooks handed out; one that cannot be read is a usage error, since
    comparing without it would flag every honest pair."""
    templates = []
    for path in paths:
        item = _read(path.name, path, ROLE_TEMPLATE)
        if isinstance(item, Problem):
            raise SourceError(f"template {item.message}")
        templates.append(item)
    return templates
