"""The CLI's two conveniences around one grading: choosing the exercise when none is
given (`grader grade FILE`), and the student self-check (`grader check NOTEBOOK`).

The self-check runs the very same pipeline — sandbox, trace, trusted scorer, checks — but
scores on a public split instead of the hidden one, so a student learns what would fail
without the instructor's hidden images ever leaving the instructor's machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import zipfile
from pathlib import Path

from grader import detect, submission
from grader.datasource import DataPaths, default_data_dir
from grader.exercise import ExerciseSpec

DEFAULT_EXERCISE = "happy-or-sad"  # the rubric an unreadable file's error result is shown in
PUBLIC_SEED = 7  # the self-check's public split of data sets without a validation zip


def exercise_for(path: Path) -> detect.Detection:
    """The exercise to grade `path` against, detected from its code, or why not."""
    if not path.exists():
        return detect.Detection(None, message=f"{path}: no such file")
    if path.is_dir():
        from grader.intake import single_in_folder

        found, _ = single_in_folder(path)
        if found is None:  # graded as an error result, which needs some rubric
            return detect.Detection(DEFAULT_EXERCISE, message=f"{path.name}: no single "
                                    f"submission to detect from; using {DEFAULT_EXERCISE}")
        path = found
    try:
        submission.load(path)
    except submission.SubmissionError:
        return detect.Detection(DEFAULT_EXERCISE, message=f"{path.name} cannot be read as a "
                                f"notebook or module; its error is shown in the "
                                f"{DEFAULT_EXERCISE} rubric")
    return detect.detect(path)


def public_split(spec: ExerciseSpec, data: DataPaths, data_dir: Path | None) -> Path:
    """A split students may see: the course's validation zip when the exercise has one,
    else a set drawn by the built-in generator with another seed (its "hidden" part)."""
    base = data_dir or default_data_dir()
    if data.validation_zip is not None:
        folder = base / f"{spec.dataset}-public" / "validation"
        if not folder.is_dir():
            building = folder.with_name(".validation.tmp")
            shutil.rmtree(building, ignore_errors=True)
            with zipfile.ZipFile(data.validation_zip) as archive:
                archive.extractall(building)
            building.rename(folder)
        return folder
    from grader import datasets

    root = base / f"{spec.dataset}-public-{PUBLIC_SEED}"
    if not (root / "hidden").is_dir():
        datasets.build(spec.dataset, root, seed=PUBLIC_SEED)
    return root / "hidden"


def self_check(args: argparse.Namespace, spec: ExerciseSpec, data: DataPaths,
               options: object) -> int:
    """Grade on the public split; print what would fail and how to fix it."""
    from grader.grade import grade_file

    if not args.path.is_file():
        print(f"grader: {args.path}: no such file", file=sys.stderr)
        return 2
    public = public_split(spec, data, args.data_dir)
    print(f"self-check of {args.path.name} as {spec.name}: scored on the public split "
          f"{public} instead of the hidden one, so the final grade may differ")
    result = grade_file(args.path, spec, dataclasses.replace(data, hidden_dir=public),
                        options)  # type: ignore[arg-type]
    result.notes.append("self-check: scored on a public split, not the hidden one")
    if args.out:
        from grader.batch import write_outputs

        write_outputs(result, args.out)
    failing = [c for c in result.checks if c.passed is not True and c.max_score > 0]
    print(f"{result.score:g} / {result.max_score:g} ({result.status})")
    for check in failing:
        print(f"- {check.id} ({check.status}, {check.score:g}/{check.max_score:g}): "
              f"{check.message}")
        if check.hint:
            print(f"    fix: {check.hint}")
    if not failing:
        print("every check passed")
    return 0
