"""`grader grade FILE` and `grader check NOTEBOOK`: one submission, graded or self-checked.

`grade` writes result.json and the two reports under --out (and other tools' formats on
request); `check` is the students' self-check: the same pipeline — sandbox, trace, trusted
scorer, checks — scored on a public split instead of the hidden one, so a student learns
what would fail without the instructor's hidden images ever leaving the instructor.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_OK, EXIT_USAGE
from grader.results.layout import OutputLayout

DEFAULT_OUT = Path("grader-out")


def add_parsers(commands: Any) -> None:
    from grader.results import exports

    grade = commands.add_parser("grade", help="grade one notebook or module (or the one "
                                "submission in a folder)")
    grade.add_argument("path", type=Path)
    grade.add_argument("--out", type=Path, default=DEFAULT_OUT,
                       help="folder for result.json and the reports")
    grade.add_argument("--json", type=Path, help="also write the result JSON here")
    for name in exports.FORMATS:
        grade.add_argument(f"--{name}", type=Path, metavar="PATH",
                           help=f"also write the result in {name}'s results format")
    common.add_grading_options(grade, detect=True, others_work=False)
    common.add_ci_options(grade)
    grade.set_defaults(handler=run_grade)

    check = commands.add_parser("check", help="students: run your notebook through the "
                                "grader, scored on a public split, and see what would fail")
    check.add_argument("path", type=Path)
    check.add_argument("--out", type=Path, help="also write result.json and the report here")
    common.add_grading_options(check, detect=True, others_work=False)
    check.set_defaults(handler=run_check)


def _submission_file(path: Path) -> tuple[Path | None, str | None]:
    """The file to grade: `path` itself, or the one submission in a folder."""
    if not path.exists():
        return None, f"{path}: no such file"
    if path.is_dir():
        from grader.classwork.intake import single_in_folder

        return single_in_folder(path)
    return path, None


def _choose_exercise(args: argparse.Namespace, path: Path | None) -> str | None:
    """--exercise, or the exercise detected from the code; None when it cannot be told
    (the reason is printed)."""
    if args.exercise is not None:
        return args.exercise
    from grader.exercise import detect

    chosen = detect.exercise_for(path)
    common.say(f"grader: {chosen.message}", error=True)
    if chosen.exercise is not None:
        args.detected = chosen.message
    return chosen.exercise


def run_grade(args: argparse.Namespace) -> int:
    from grader.grade import error_result, grade_file
    from grader.reports import write_submission
    from grader.results import exports

    if not args.path.exists():
        common.say(f"grader: {args.path}: no such file", error=True)
        return EXIT_USAGE
    common.check_ci_options(args)
    path, problem = _submission_file(args.path)
    args.exercise = _choose_exercise(args, path)
    if args.exercise is None:
        return EXIT_USAGE
    spec, data = common.load_spec_and_data(args)
    common.warn_about_sandbox(args)
    if problem or path is None:
        result = error_result(args.path, spec, problem or "nothing to grade",
                              time.monotonic())
    else:
        result = grade_file(path, spec, data, common.grade_options(args))
    if getattr(args, "detected", None):
        result.notes.append(f"detected: {args.detected}")
    layout = OutputLayout(args.out)
    report = write_submission(result, layout, spec, data.hidden_dir)
    if args.json:
        result.write(args.json)
    for name, convert in exports.FORMATS.items():
        if getattr(args, name):
            exports.write_json(convert(result), getattr(args, name))
    common.print_checks(result)
    if result.status == "error":
        common.say(f"error: {result.error}")
    common.say(f"result: {layout.result(result.student)}\nreport: {report}\n"
               f"instructor's report: {layout.instructor_report(result.student)}")
    return common.ci_exit(args, [result], spec.name)


def run_check(args: argparse.Namespace) -> int:
    from grader.exercise.datasource import public_split
    from grader.grade import grade_file
    from grader.reports import write_submission

    if not args.path.is_file():
        common.say(f"grader: {args.path}: no such file", error=True)
        return EXIT_USAGE
    args.exercise = _choose_exercise(args, args.path)
    if args.exercise is None:
        return EXIT_USAGE
    spec, data = common.load_spec_and_data(args)
    common.warn_about_sandbox(args)
    public = public_split(spec, data, args.data_dir)
    common.say(f"self-check of {args.path.name} as {spec.name}: scored on the public split "
               f"{public} instead of the hidden one, so the final grade may differ")
    result = grade_file(args.path, spec, dataclasses.replace(data, hidden_dir=public),
                        common.grade_options(args))
    result.notes.append("self-check: scored on a public split, not the hidden one")
    if args.out:
        write_submission(result, OutputLayout(args.out), spec)
    failing = [c for c in result.checks if c.passed is not True and c.max_score > 0]
    common.say(f"{result.score:g} / {result.max_score:g} ({result.status})")
    for check in failing:
        common.say(f"- {check.id} ({check.status}, {check.score:g}/{check.max_score:g}): "
                   f"{check.message}")
        if check.hint:
            common.say(f"    fix: {check.hint}")
    if not failing:
        common.say("every check passed")
    return EXIT_OK
