"""Which installed exercise (and course version) a notebook is, from its code alone.

`grader grade FILE` without --exercise asks this module. Each spec's [detect] table says
what its notebooks contain (image size, data paths, function names) as regular
expressions; the code cells are searched, never run. A file is a candidate for a spec
when all of the spec's `requires` patterns and none of its `excludes` are found. One
candidate with the most evidence wins; a tie or no candidate is refused with the list,
because grading against the wrong rubric would be worse than asking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from grader import submission
from grader.errors import SubmissionError
from grader.exercise import spec as specs_module
from grader.exercise.spec import DetectRules, ExerciseSpec

DEFAULT_EXERCISE = "happy-or-sad"  # the rubric an unreadable file's error result is shown in


@dataclass(frozen=True)
class Detection:
    exercise: str | None  # the chosen exercise's name, None when unsure
    version: str | None = None  # the course version, when the spec names one
    reasons: tuple[str, ...] = ()  # the patterns that matched, for the user
    candidates: tuple[str, ...] = ()  # the tied specs, or every installed spec if none fit
    message: str = ""  # one line: what was chosen and why, or why nothing was


@dataclass
class _Match:
    spec: ExerciseSpec
    evidence: list[str] = field(default_factory=list)


def code_of(path: Path) -> str:
    """The code of a notebook's code cells (markdown says too much), or a module's text."""
    kind = "notebook" if path.suffix == ".ipynb" else "module"
    return "\n".join(submission.code_cells(path.read_bytes(), kind))


def exercise_for(path: Path | None) -> Detection:
    """The exercise to grade the file at `path` against, detected from its code, or why
    not. A file that is not a readable submission (or no file at all) is shown as an error
    in the default rubric, because that error does not depend on the exercise."""
    if path is None:
        return Detection(DEFAULT_EXERCISE, message=f"no single submission to detect from; "
                                                   f"using {DEFAULT_EXERCISE}")
    try:
        submission.load(path)
    except SubmissionError:
        return Detection(DEFAULT_EXERCISE, message=f"{submission.display_name(path.name)} "
                                                   "cannot be read as a notebook or module; "
                                                   "its error is shown in the "
                                                   f"{DEFAULT_EXERCISE} rubric")
    return detect(path)


def _match(rules: DetectRules, code: str) -> list[str] | None:
    """The evidence for a spec, or None when it is not a candidate."""
    if not rules.requires:
        return None  # a spec without rules is only graded when asked for by name
    if any(re.search(p, code) is None for p in rules.requires):
        return None
    if any(re.search(p, code) for p in rules.excludes):
        return None
    return [_shown(p, code) for p in rules.requires] + \
        [_shown(p, code) for p in rules.prefers if re.search(p, code)]


def _shown(pattern: str, code: str) -> str:
    found = re.search(pattern, code)
    return repr(found.group(0).strip()[:40]) if found else pattern


def course_version(spec: ExerciseSpec, code: str) -> str | None:
    """The first of the spec's versions whose patterns are all found, else its own."""
    for name, patterns in spec.detect.versions:
        if all(re.search(p, code) for p in patterns):
            return name
    return spec.course_version


def detect(path: Path, specs: list[ExerciseSpec] | None = None) -> Detection:
    if specs is None:
        specs = [specs_module.load(p) for p in specs_module.available().values()]
    code = code_of(path)
    matches = [_Match(s, evidence) for s in specs
               if (evidence := _match(s.detect, code)) is not None]
    if not matches:
        names = tuple(s.name for s in specs)
        return Detection(None, candidates=names,
                         message=f"{path.name}: no installed exercise recognises this file; "
                                 f"choose one with --exercise: {', '.join(names)}")
    best = max(len(m.evidence) for m in matches)
    top = [m for m in matches if len(m.evidence) == best]
    if len(top) > 1:
        names = tuple(m.spec.name for m in top)
        return Detection(None, candidates=names,
                         message=f"{path.name}: could be any of {', '.join(names)}; choose "
                                 "one with --exercise")
    chosen = top[0]
    version = course_version(chosen.spec, code)
    shown_version = f" (course version {version})" if version else ""
    return Detection(chosen.spec.name, version, tuple(chosen.evidence),
                     message=f"exercise {chosen.spec.name}{shown_version}: the code has "
                             f"{', '.join(chosen.evidence)}")
