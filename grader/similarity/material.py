"""`--course-material DIR`: the instructor's copies of the files the course handed out.

Why a folder and names: students paste the week's lesson code (the model, the
prediction cell) as well as the exercise's starter, so two honest students share far
more than the starter. The exercise spec names, by their published names, the lesson and
exercise notebooks its students were given (`[similarity] course_material`); the
instructor keeps their copies in one folder. Every .ipynb and .py in that folder (the
named ones and any other) is removed from every comparison like a `--template`; a name
the folder lacks is one warning line, not an error, since comparing without it still
works, only with more false matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.similarity.sources import SUFFIXES, SourceError, printable


@dataclass(frozen=True)
class CourseMaterial:
    """The files found in the folder, and the spec's names it lacks."""

    folder: Path
    files: tuple[Path, ...]
    missing: tuple[str, ...]

    def warning(self) -> str | None:
        """One line naming what the exercise spec expects and the folder lacks."""
        if not self.missing:
            return None
        return (f"course material {printable(str(self.folder))} lacks "
                f"{len(self.missing)} file{'' if len(self.missing) == 1 else 's'} the "
                f"exercise names: {', '.join(printable(n) for n in self.missing)} "
                "(compared without them)")


def find_course_material(folder: Path, names: Sequence[str]) -> CourseMaterial:
    """Every .ipynb and .py under `folder` (subfolders too, so two course versions of
    one published name can sit side by side); names are matched ignoring case.
    SourceError when the folder is not there."""
    if not folder.is_dir():
        raise SourceError(f"course material {printable(str(folder))}: no such folder")
    files = tuple(sorted(
        p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file()
        and not any(part.startswith(".") or part == "__MACOSX"
                    for part in p.relative_to(folder).parts)))
    present = {p.name.casefold() for p in files}
    missing = tuple(n for n in names if n.casefold() not in present)
    return CourseMaterial(folder, files, missing)
