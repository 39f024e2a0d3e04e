"""Which file is whose: the class's submissions found in a folder, a zip or an LMS download.

Layouts understood:
  * a folder of files (`ada.ipynb`, `bo.py`): the student id is the file stem;
  * a folder of student folders (`ada/anything.ipynb`): the id is the folder name;
  * a zip of either (one wrapping top-level folder is looked through);
  * an LMS download with a roster CSV (`--roster`) mapping each file to a student.

Nothing is dropped silently: a student with two submissions, an empty folder, an unreadable
file or a roster row whose file is missing becomes an entry with a `problem`, which the
batch records as that student's error; files nobody claims become `warnings`.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import IntakeError
from grader.submission import SUFFIXES

MAX_UNZIPPED_BYTES = 4 * 2**30
MAX_ZIP_MEMBERS = 200_000
STUDENT_COLUMNS = ("student", "student_id", "id", "sis_id", "login", "email", "name")
FILE_COLUMNS = ("file", "filename", "file_name", "submission", "path")
_UNSAFE = re.compile(r"[^\w.@+ -]+")  # \w: letters of any script, so José stays José
_IGNORED_NAMES = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}




@dataclass(frozen=True)
class Entry:
    student: str
    path: Path | None
    problem: str | None = None  # set: recorded as this student's error, not graded


@dataclass
class Intake:
    layout: str
    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _scratch: tempfile.TemporaryDirectory[str] | None = None

    @property
    def gradable(self) -> list[Entry]:
        return [e for e in self.entries if e.problem is None]

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> Intake:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def safe_id(raw: str) -> str:
    """A student id usable as a folder name: no separators, no leading dot, bounded."""
    cleaned = _UNSAFE.sub("_", raw.strip()).strip(" .")[:120].rstrip(" .")
    return cleaned or "unnamed"


def collect(source: Path, roster: Path | None = None) -> Intake:
    if not source.exists():
        raise IntakeError(f"{source}: no such file or folder")
    scratch = None
    folder = source
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise IntakeError(f"{source.name}: not a folder or a zip of submissions")
        scratch = tempfile.TemporaryDirectory(prefix="grader-intake-")
        folder = _unzip(source, Path(scratch.name))
    try:
        intake = _from_roster(folder, roster) if roster else _from_folder(folder)
    except BaseException:
        if scratch:
            scratch.cleanup()
        raise
    intake._scratch = scratch
    return intake


def _unzip(archive: Path, target: Path) -> Path:
    """Extract without trusting member names: no absolute paths, no `..`, no symlinks."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise IntakeError(f"{archive.name}: {len(members)} files is too many")
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise IntakeError(f"{archive.name}: unzips to more than "
                                  f"{MAX_UNZIPPED_BYTES // 2**30} GB")
            for member in members:
                name = member.filename.replace("\\", "/")
                parts = Path(name).parts
                is_link = (member.external_attr >> 16) & 0o170000 == 0o120000
                if is_link or not parts or name.startswith("/") or ".." in parts \
                        or ":" in parts[0]:
                    continue
                destination = target.joinpath(*parts)
                if member.is_dir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as reader, open(destination, "wb") as writer:
                    shutil.copyfileobj(reader, writer)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise IntakeError(f"{archive.name}: cannot unzip: {exc}") from None
    top = _visible(target)
    if len(top) == 1 and top[0].is_dir():  # one wrapping folder, e.g. submissions/...
        inner = _visible(top[0])
        if len(inner) > 1 or any(p.is_dir() for p in inner):
            return top[0]
    return target


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.name not in _IGNORED_NAMES)


def _submission_files(folder: Path, recursive: bool = True) -> list[Path]:
    found = []
    for path in (_walk(folder) if recursive else _visible(folder)):
        if path.suffix in SUFFIXES and (path.is_file() or path.is_symlink()):
            found.append(path)
    return sorted(found)


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for path in _visible(folder):
        if path.is_dir() and not path.is_symlink():
            found += _walk(path)
        else:
            found.append(path)
    return found


def _readable(path: Path) -> str | None:
    """Why the file cannot be graded, or None. Symlinks are refused: a download is files."""
    if path.is_symlink():
        return f"{path.name} is a symbolic link, not a submitted file"
    if not os.access(path, os.R_OK):
        return f"cannot read {path.name}: permission denied"
    return None


def _from_folder(folder: Path) -> Intake:
    if not folder.is_dir():
        raise IntakeError(f"{folder}: not a folder")
    intake = Intake(layout="files")
    claims: dict[str, list[tuple[Path, str | None]]] = {}
    for path in _visible(folder):
        if path.is_dir() and path.is_symlink():
            claims.setdefault(safe_id(path.name), []).append(
                (path, f"{path.name}/ is a symbolic link, not a submitted folder"))
        elif path.is_dir():
            intake.layout = "folders" if intake.layout == "files" else intake.layout
            candidates = _submission_files(path)
            chosen, problem, ignored = _choose(candidates)
            if not candidates:
                problem = f"the folder {path.name}/ holds no .ipynb or .py file"
            intake.warnings += [f"{path.name}/: ignored {p.relative_to(path)} (a notebook "
                                f"was chosen)" for p in ignored]
            claims.setdefault(safe_id(path.name), []).append((chosen or path, problem))
        elif path.suffix in SUFFIXES:
            claims.setdefault(safe_id(path.stem), []).append((path, _readable(path)))
        else:
            intake.warnings.append(f"ignored {path.name}: not a .ipynb or .py file")
    for student, found in sorted(claims.items()):
        intake.entries.append(_entry(student, found, folder))
    return intake


def _choose(candidates: list[Path]) -> tuple[Path | None, str | None, list[Path]]:
    """One student's folder: the notebook if there is exactly one, else the only module."""
    notebooks = [p for p in candidates if p.suffix == ".ipynb"]
    if len(notebooks) == 1:
        return notebooks[0], _readable(notebooks[0]), [p for p in candidates
                                                        if p is not notebooks[0]]
    if len(candidates) == 1:
        return candidates[0], _readable(candidates[0]), []
    if candidates:
        names = ", ".join(p.name for p in candidates)
        return None, f"several submissions, keep one: {names}", []
    return None, None, []


def single_in_folder(folder: Path) -> tuple[Path | None, str | None]:
    """The one submission in a folder (Gradescope's /autograder/submission), or why not."""
    candidates = _submission_files(folder)
    if not candidates:
        return None, f"no .ipynb or .py file was submitted (found: " \
                     f"{', '.join(p.name for p in _walk(folder)) or 'nothing'})"
    chosen, problem, _ = _choose(candidates)
    return (None, problem) if problem else (chosen, None)


def _entry(student: str, found: list[tuple[Path, str | None]], root: Path) -> Entry:
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(root)) if p.is_relative_to(root) else str(p)
                          for p, _ in found)
        return Entry(student, None, f"{len(found)} submissions for the same student, keep "
                                    f"one: {names}")
    path, problem = found[0]
    return Entry(student, None if problem else path, problem)


def _column(header: list[str], names: tuple[str, ...], roster: Path) -> str:
    lowered = {h.strip().lower(): h for h in header}
    for name in names:
        if name in lowered:
            return lowered[name]
    raise IntakeError(f"{roster.name}: no column named one of {', '.join(names)} "
                      f"(found: {', '.join(header)})")


def _from_roster(folder: Path, roster: Path) -> Intake:
    if not folder.is_dir():
        raise IntakeError(f"{folder}: not a folder")
    try:
        with roster.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            student_column = _column(header, STUDENT_COLUMNS, roster)
            file_column = _column(header, FILE_COLUMNS, roster)
            rows = [(r.get(student_column) or "", r.get(file_column) or "") for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IntakeError(f"{roster}: cannot read the roster: {exc}") from None
    intake = Intake(layout="roster")
    claims: dict[str, list[tuple[Path, str | None]]] = {}
    claimed: set[Path] = set()
    for line, (raw_student, raw_file) in enumerate(rows, start=2):
        if not raw_student.strip():
            intake.warnings.append(f"{roster.name} line {line}: no student id; row skipped")
            continue
        student = safe_id(raw_student)
        relative = Path(raw_file.strip().replace("\\", "/"))
        if not raw_file.strip():
            claims.setdefault(student, []).append((folder, "the roster lists no file"))
            continue
        path = folder / relative
        if relative.is_absolute() or ".." in relative.parts \
                or not path.resolve().is_relative_to(folder.resolve()):
            claims.setdefault(student, []).append((path, f"roster path {raw_file!r} points "
                                                          "outside the download"))
        elif path.is_dir():
            claims.setdefault(student, []).append((path, f"the roster names {raw_file}, "
                                                          "which is a folder, not a file"))
        elif not path.is_file():
            claims.setdefault(student, []).append((path, f"the roster names {raw_file}, "
                                                          "which is not in the download"))
        else:
            if path.resolve() in claimed:
                intake.warnings.append(f"{roster.name} line {line}: {raw_file} is claimed "
                                       "by more than one student")
            claimed.add(path.resolve())
            claims.setdefault(student, []).append((path, _readable(path)))
    for student, found in sorted(claims.items()):
        intake.entries.append(_entry(student, found, folder))
    for path in _submission_files(folder):
        if path.resolve() not in claimed:
            intake.warnings.append(f"{path.relative_to(folder)} is not in the roster; "
                                   "not graded")
    return intake
