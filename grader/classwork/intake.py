"""Which file is whose: the class's submissions found in a folder, a zip or an LMS download.

Layouts understood:
  * a folder of files (`ada.ipynb`, `bo.py`): the student id is made from the file stem;
  * a folder of student folders (`ada/anything.ipynb`): the id is made from the folder name;
  * a zip of either (one wrapping top-level folder is looked through);
  * an LMS download with a roster CSV (`--roster`) mapping each file to a student.

Ids come from grader.ids.student_id, which never merges two names (`bob.py`, `bob .py`);
ids equal but for case get a `~2` suffix and a warning (grader.ids.by_case).

Nothing is dropped silently: a student with two submissions, an empty folder, an unreadable
file or a roster row whose file is missing becomes an entry with a `problem`, which the
batch records as that student's error; files nobody claims become `warnings`. Only input
that cannot be read as a whole (a corrupt zip, a bad roster) ends the intake: folders are
walked without recursion to a bounded depth, zip members too deep or too long are skipped
with a warning, and every name in a message is printable.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import shutil
import stat
import tempfile
import weakref
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import IntakeError
from grader.exercise.packs import SAMPLES_MANIFEST
from grader.files import remove_tree, walk
from grader.ids import by_case, case_key, display_name, student_id
from grader.submission import SUFFIXES

MAX_UNZIPPED_BYTES = 4 * 2**30
MAX_ZIP_MEMBERS = 200_000
MAX_DEPTH = 32  # folder levels searched below a student's folder (real downloads: < 6)
MAX_PATH_BYTES = 3072  # an extracted path must stay openable (PATH_MAX is 4096)
STUDENT_COLUMNS = ("student", "student_id", "id", "sis_id", "login", "email", "name")
FILE_COLUMNS = ("file", "filename", "file_name", "submission", "path")
_IGNORED_NAMES = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
# a member that cannot be written on its own; any other OSError (disk full) ends the intake
_MEMBER_ERRORS = {errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL, errno.EEXIST,
                  errno.ENOTDIR, errno.EISDIR}
_SHOWN = 120  # characters of a path shown in a message


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
    _cleanup: weakref.finalize | None = None  # removes an unzipped copy

    @property
    def gradable(self) -> list[Entry]:
        return [e for e in self.entries if e.problem is None]

    def close(self) -> None:
        if self._cleanup is not None:
            self._cleanup()
            self._cleanup = None

    def __enter__(self) -> Intake:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def collect(source: Path, roster: Path | None = None) -> Intake:
    if not source.exists():
        raise IntakeError(f"{display_name(str(source))}: no such file or folder")
    scratch, folder, warnings = None, source, []
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise IntakeError(f"{display_name(source.name)}: not a folder or a zip of "
                              "submissions")
        scratch = Path(tempfile.mkdtemp(prefix="grader-intake-"))
    try:
        if scratch is not None:
            folder, warnings = _unzip(source, scratch)
        intake = _from_roster(folder, roster) if roster else _from_folder(folder)
    except BaseException:
        if scratch is not None:
            remove_tree(scratch)
        raise
    intake.warnings[:0] = warnings
    if scratch is not None:  # removed by close(), or when the intake is garbage
        intake._cleanup = weakref.finalize(intake, remove_tree, scratch)
    return intake


# --- zips ----------------------------------------------------------------------------------


def _unzip(archive: Path, target: Path) -> tuple[Path, list[str]]:
    """Extract without trusting member names: no absolute paths, no `..`, no symlinks, no
    path deeper or longer than a folder walk can read back. Returns the folder to read
    (through one wrapping folder) and a warning for each member skipped."""
    warnings = []
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise IntakeError(f"{display_name(archive.name)}: {len(members)} files is "
                                  "too many")
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise IntakeError(f"{display_name(archive.name)}: unzips to more than "
                                  f"{MAX_UNZIPPED_BYTES // 2**30} GB")
            for member in members:
                skipped = _extract(bundle, member, target)
                if skipped:
                    warnings.append(f"{display_name(archive.name)}: skipped "
                                    f"{_short(member.filename)}: {skipped}")
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as exc:
        raise IntakeError(f"{display_name(archive.name)}: cannot unzip: {exc}") from None
    top = _visible(target)
    if len(top) == 1 and top[0].is_dir():  # one wrapping folder, e.g. submissions/...
        inner = _visible(top[0])
        if len(inner) > 1 or any(p.is_dir() for p in inner):
            return top[0], warnings
    return target, warnings


def _extract(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> str | None:
    """Write one member under `target`; why it was skipped, or None."""
    name = member.filename.replace("\\", "/")
    parts = Path(name).parts
    if not parts or name.startswith("/") or ".." in parts or ":" in parts[0]:
        return "a path outside the zip's folder"
    if (member.external_attr >> 16) & 0o170000 == 0o120000:
        return "a symbolic link, not a file"
    folders = parts if member.is_dir() else parts[:-1]
    if len(folders) > MAX_DEPTH + 2:  # a wrapping folder, the student's, MAX_DEPTH more
        # the student's folder is kept, so the student is named with the reason
        with contextlib.suppress(OSError):
            os.makedirs(target.joinpath(*parts[:MAX_DEPTH + 4]), exist_ok=True)
        return f"more than {MAX_DEPTH} levels of folders deep"
    destination = target.joinpath(*parts)
    if len(os.fsencode(destination)) > MAX_PATH_BYTES:
        return "a path too long to extract"
    try:
        if member.is_dir():
            os.makedirs(destination, exist_ok=True)
            return None
        os.makedirs(destination.parent, exist_ok=True)
        with bundle.open(member) as reader, open(destination, "wb") as writer:
            shutil.copyfileobj(reader, writer)
    except (NotImplementedError, RuntimeError) as exc:  # unknown compression, encrypted
        return f"cannot be extracted: {exc}"
    except OSError as exc:
        if exc.errno not in _MEMBER_ERRORS:
            raise
        return f"cannot be extracted: {exc.strerror}"
    return None


# --- folders -------------------------------------------------------------------------------


def _hidden(name: str) -> bool:
    return name.startswith(".") or name in _IGNORED_NAMES


def _visible(folder: Path) -> list[Path]:
    with os.scandir(folder) as listing:
        return sorted(folder / e.name for e in listing if not _hidden(e.name))


def _short(text: str) -> str:
    return display_name(text, _SHOWN)


def _relative(path: Path, root: Path) -> str:
    return _short(str(path.relative_to(root)) if path.is_relative_to(root) else str(path))


def _readable(path: Path) -> str | None:
    """Why the file cannot be graded, or None. Symlinks are refused (a download is files),
    and so is anything but a regular file (reading a FIFO would hang the batch)."""
    shown = _short(path.name)
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return f"cannot read {shown}: {exc.strerror}"
    if stat.S_ISLNK(mode):
        return f"{shown} is a symbolic link, not a submitted file"
    if not stat.S_ISREG(mode):
        return f"{shown} is not a regular file"
    if not os.access(path, os.R_OK):
        return f"cannot read {shown}: permission denied"
    return None


@dataclass
class _Claims:
    """Submissions by student id, with the name each id was made from."""

    found: dict[str, list[tuple[Path, str | None]]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, path: Path, problem: str | None) -> None:
        student = student_id(name)
        self.found.setdefault(student, []).append((path, problem))
        self.names.setdefault(student, name)

    def into(self, intake: Intake, root: Path) -> None:
        """The entries, sorted; ids equal but for case kept apart, with a warning."""
        chosen = by_case(self.names)
        intake.entries += sorted((_entry(chosen[s], found, root)
                                  for s, found in self.found.items()),
                                 key=lambda e: e.student)
        groups: dict[str, list[str]] = {}
        for student in sorted(self.names, key=lambda s: (self.names[s], s)):
            groups.setdefault(case_key(student), []).append(student)
        for group in (g for g in groups.values() if len(g) > 1):
            intake.warnings.append(
                f"{', '.join(_short(self.names[s]) for s in group)} differ only in case: "
                f"graded as {', '.join(chosen[s] for s in group)}, so that their folders "
                "stay apart on a case-insensitive file system")


def _from_folder(folder: Path) -> Intake:
    if not folder.is_dir():
        raise IntakeError(f"{display_name(str(folder))}: not a folder")
    try:
        with os.scandir(folder) as listing:
            names = sorted(e.name for e in listing)
    except OSError as exc:
        raise IntakeError(f"{display_name(str(folder))}: cannot read: {exc.strerror}") \
            from None
    intake = Intake(layout="files")
    claims = _Claims()
    for name in names:
        path = folder / name
        if _hidden(name):
            if path.suffix in SUFFIXES and not name.startswith("._"):  # ._x: macOS noise
                intake.warnings.append(f"ignored {_short(name)}: its name starts with a "
                                       "dot (a hidden file); rename it to grade it")
        elif path.is_symlink() and path.is_dir():
            claims.add(name, path, f"{_short(name)}/ is a symbolic link, not a submitted "
                                   "folder")
        elif path.is_dir():
            intake.layout = "folders"
            _student_folder(path, claims, intake)
        elif path.suffix in SUFFIXES:
            claims.add(path.stem, path, _readable(path))
        elif name != SAMPLES_MANIFEST:  # a samples folder's expected verdicts: not news
            intake.warnings.append(f"ignored {_short(name)}: not a .ipynb or .py file")
    claims.into(intake, folder)
    return intake


def _student_folder(path: Path, claims: _Claims, intake: Intake) -> None:
    """One student's folder: the submission in it (at most MAX_DEPTH levels down), or
    the reason there is none."""
    shown = _short(path.name)
    walked = walk(path, MAX_DEPTH, _hidden)
    candidates = [p for p in walked.files if p.suffix in SUFFIXES]
    chosen, problem, ignored = _choose(candidates)
    if not candidates:
        problem = f"the folder {shown}/ holds no .ipynb or .py file"
        if walked.too_deep:
            problem += f" within {MAX_DEPTH} levels of folders"
        if walked.unreadable:
            problem += f" that could be read ({walked.unreadable[0][1]})"
    intake.warnings += [f"{shown}/: ignored {_relative(p, path)} (a notebook was chosen)"
                        for p in ignored]
    if walked.too_deep:
        intake.warnings.append(f"{shown}/: folders more than {MAX_DEPTH} levels deep were "
                               f"not searched ({_relative(walked.too_deep[0], path)})")
    intake.warnings += [f"{shown}/: cannot read {_relative(p, path)}: {why}"
                        for p, why in walked.unreadable[:3]]
    claims.add(path.name, chosen or path, problem)


def _choose(candidates: list[Path]) -> tuple[Path | None, str | None, list[Path]]:
    """One student's folder: the notebook if there is exactly one, else the only module."""
    notebooks = [p for p in candidates if p.suffix == ".ipynb"]
    if len(notebooks) == 1:
        return notebooks[0], _readable(notebooks[0]), [p for p in candidates
                                                        if p is not notebooks[0]]
    if len(candidates) == 1:
        return candidates[0], _readable(candidates[0]), []
    if candidates:
        return None, f"several submissions, keep one: {_names(candidates)}", []
    return None, None, []


def _names(paths: list[Path], most: int = 10) -> str:
    shown = [_short(p.name) for p in paths[:most]]
    return ", ".join(shown) + (f" and {len(paths) - most} more" if len(paths) > most else "")


def single_in_folder(folder: Path) -> tuple[Path | None, str | None]:
    """The one submission in a folder (Gradescope's /autograder/submission), or why not."""
    walked = walk(folder, MAX_DEPTH, _hidden)
    candidates = [p for p in walked.files if p.suffix in SUFFIXES]
    if not candidates:
        deep = f"; folders more than {MAX_DEPTH} levels deep were not searched" \
            if walked.too_deep else ""
        return None, f"no .ipynb or .py file was submitted (found: " \
                     f"{_names(walked.files) or 'nothing'}){deep}"
    chosen, problem, _ = _choose(candidates)
    return (None, problem) if problem else (chosen, None)


def _entry(student: str, found: list[tuple[Path, str | None]], root: Path) -> Entry:
    if len(found) > 1:
        names = ", ".join(_relative(p, root) for p, _ in found)
        return Entry(student, None, f"{len(found)} submissions for the same student, keep "
                                    f"one: {names}")
    path, problem = found[0]
    return Entry(student, None if problem else path, problem)


# --- rosters -------------------------------------------------------------------------------


def _column(header: list[str], names: tuple[str, ...], roster: Path) -> str:
    lowered = {h.strip().lower(): h for h in header}
    for name in names:
        if name in lowered:
            return lowered[name]
    raise IntakeError(f"{display_name(roster.name)}: no column named one of "
                      f"{', '.join(names)} (found: {', '.join(header)})")


def _roster_rows(roster: Path) -> list[tuple[str, str]]:
    try:
        with roster.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            student_column = _column(header, STUDENT_COLUMNS, roster)
            file_column = _column(header, FILE_COLUMNS, roster)
            return [(r.get(student_column) or "", r.get(file_column) or "") for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IntakeError(f"{display_name(str(roster))}: cannot read the roster: {exc}") \
            from None


def _roster_file(folder: Path, raw_file: str) -> tuple[Path, str | None]:
    """The download's file a roster row names, or why it cannot be graded."""
    relative = Path(raw_file.strip().replace("\\", "/"))
    path = folder / relative
    try:
        if relative.is_absolute() or ".." in relative.parts \
                or not path.resolve().is_relative_to(folder.resolve()):
            return path, f"roster path {raw_file!r} points outside the download"
        if path.is_dir():
            return path, f"the roster names {raw_file}, which is a folder, not a file"
        if not path.is_file():
            return path, f"the roster names {raw_file}, which is not in the download"
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: a link loop
        return path, f"the roster names {raw_file!r}, which cannot be opened: {exc}"
    return path, _readable(path)


def _from_roster(folder: Path, roster: Path) -> Intake:
    if not folder.is_dir():
        raise IntakeError(f"{display_name(str(folder))}: not a folder")
    rows = _roster_rows(roster)
    intake = Intake(layout="roster")
    claims = _Claims()
    claimed: set[Path] = set()
    shown = display_name(roster.name)
    for line, (raw_student, raw_file) in enumerate(rows, start=2):
        if not raw_student.strip():
            intake.warnings.append(f"{shown} line {line}: no student id; row skipped")
            continue
        if not raw_file.strip():
            claims.add(raw_student.strip(), folder, "the roster lists no file")
            continue
        path, problem = _roster_file(folder, raw_file)
        if problem is None:
            if _resolved(path) in claimed:
                intake.warnings.append(f"{shown} line {line}: {raw_file} is claimed by "
                                       "more than one student")
            claimed.add(_resolved(path))
        claims.add(raw_student.strip(), path, problem)
    claims.into(intake, folder)
    walked = walk(folder, MAX_DEPTH, _hidden)
    for path in (p for p in walked.files if p.suffix in SUFFIXES):
        if _resolved(path) not in claimed:
            intake.warnings.append(f"{_relative(path, folder)} is not in the roster; "
                                   "not graded")
    return intake


def _resolved(path: Path) -> Path:
    """`path` with its links resolved, or as it is when they loop."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path
