"""`grader similarity SOURCE --exercise NAME --out DIR [--against DIR …] [--template FILE …]
[--course-material DIR] [--json FILE] [--threshold X]`: flag copied work, as evidence for a person.

Exit codes as every command: 0 when the comparison ran (whatever it found, and even when
some files could not be read: they are listed, the rest compared), 2 on a usage error (no
such SOURCE, unknown exercise, unreadable template or collection), 1 when the grader
itself failed. The method: grader/similarity and docs/similarity.md.
"""

from __future__ import annotations

import argparse
from typing import Any

from grader.cli import common
from grader.errors import EXIT_OK, EXIT_USAGE


def add_parsers(commands: Any) -> None:
    from grader.similarity.cli import add_arguments

    parser = commands.add_parser("similarity", help="flag copied work across a class, past "
                                 "terms and public solutions (no score changes)")
    add_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from grader.similarity import report
    from grader.similarity.api import compare_source
    from grader.similarity.cli import summary_lines
    from grader.similarity.settings import Settings

    templates = [*args.template, *templates_of(args.exercise)]
    settings = replace(Settings(), threshold=args.threshold, floor=args.floor,
                       common_share=args.common_share)
    result = compare_source(args.source, roster=args.roster, templates=templates,
                            against=args.against, settings=settings, exercise=args.exercise,
                            course_material=args.course_material,
                            material_names=material_of(args.exercise))
    if not result.submissions and not result.problems:
        common.say(f"grader: {args.source}: no .ipynb or .py submissions found", error=True)
        return EXIT_USAGE
    json_path, html_path = report.write(result, args.out, args.json)
    for problem in result.problems:
        common.say(f"not compared: {problem.name}: {problem.message}", error=True)
    for warning in result.warnings:
        common.say(f"warning: {warning}", error=True)
    if not args.quiet:
        for line in summary_lines(result):
            common.say(line)
    common.say(f"json: {json_path}\nreport: {html_path.resolve()}")
    return EXIT_OK


def material_of(exercise: str) -> tuple[str, ...]:
    """The published names of the course files the exercise's students were given
    (`[similarity] course_material`), looked for in --course-material."""
    from grader.grade import load_exercise

    return load_exercise(exercise).similarity_material


def templates_of(exercise: str) -> list[Any]:
    """The starter notebooks the exercise spec names (`[similarity] templates`)."""
    from grader.grade import load_exercise

    return list(load_exercise(exercise).similarity_templates)
