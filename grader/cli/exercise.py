"""`grader exercise new NAME --from REFERENCE --like BASE`: a starting spec for a new
exercise, from one grading of its reference (grader.classwork.scaffold)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_OK, UsageError


def add_parsers(commands: Any) -> None:
    group = commands.add_parser("exercise", help="write a new exercise's spec")
    sub = group.add_subparsers(dest="exercise_command", metavar="COMMAND", required=True)
    new = sub.add_parser("new", help="grade a reference once and write a starting spec from "
                         "what it did (layers, shapes, parameters, generator settings)")
    new.add_argument("name", help="the new exercise's name, e.g. cats-or-dogs")
    new.add_argument("--from", dest="reference", type=Path, required=True,
                     metavar="REFERENCE", help="the reference solution (.py or .ipynb)")
    new.add_argument("--like", required=True, metavar="BASE",
                     help="an installed exercise or spec whose data, limits and rubric to "
                     "start from")
    new.add_argument("--title", help="the exercise's title (default: its name)")
    new.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                     help="where to write NAME.toml (default: here)")
    new.add_argument("--force", action="store_true", help="replace an existing file")
    new.add_argument("--data-dir", type=Path, help="where built-in data sets are kept")
    new.add_argument("--no-sandbox", action="store_true",
                     help="grade the reference without bubblewrap")
    new.set_defaults(handler=run_new)


def run_new(args: argparse.Namespace) -> int:
    import tomli_w

    from grader.classwork import scaffold
    from grader.exercise import datasource, inherit
    from grader.grade import GradeOptions, grade_file, load_exercise

    if not scaffold.valid_name(args.name):
        raise UsageError(f"{args.name!r} is not an exercise name: lower-case letters, digits "
                         "and '-', starting with a letter")
    if not args.reference.is_file():
        raise UsageError(f"no such reference: {args.reference}")
    target = args.out / scaffold.file_name(args.name)
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists (--force replaces it)")
    base = load_exercise(args.like)
    raw, _ = inherit.read(base.source_path)
    common.say(f"grading {args.reference} as {base.name} once, to read what it does …")
    result = grade_file(args.reference, base, datasource.resolve(base, args.data_dir),
                        GradeOptions(no_sandbox=args.no_sandbox,
                                     require_sandbox=not args.no_sandbox))
    if result.status != "graded":
        raise UsageError(f"the reference did not run to a grade ({result.status}: "
                         f"{(result.error or '').strip()[:200]}); fix it first")
    made = scaffold.scaffold(args.name, args.title or args.name, raw, base.name, result)
    args.out.mkdir(parents=True, exist_ok=True)
    target.write_text(scaffold.header(args.name, args.reference, base.name, result)
                      + tomli_w.dumps(made.spec), encoding="utf-8")
    load_exercise(target)  # what was written loads, or this says why
    common.say(f"wrote {target}; review:")
    for line in made.review:
        common.say(f"  - {line}")
    common.say(f"then: grader verify {target} {args.reference}")
    return EXIT_OK
