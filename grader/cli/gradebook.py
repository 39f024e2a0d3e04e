"""`grader gradebook show|export --out DIR`: read the grades a batch (or the service) kept."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_OK, EXIT_USAGE
from grader.results.layout import OutputLayout

DEFAULT_OUT = Path("grader-out")


def add_parsers(commands: Any) -> None:
    from grader.results import exports

    book = commands.add_parser("gradebook", help="read the gradebook of a batch")
    book_commands = book.add_subparsers(dest="gradebook_command", required=True)
    show = book_commands.add_parser("show", help="latest grade per student, or a history")
    show.add_argument("--out", type=Path, default=DEFAULT_OUT,
                      help="the batch's output folder")
    show.add_argument("--student", help="only this student, with every grading")
    show.add_argument("--history", action="store_true", help="every grading, oldest first")
    show.set_defaults(handler=run_show)
    export = book_commands.add_parser("export", help="export the latest grades")
    export.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="the batch's output folder")
    export.add_argument("--format", required=True, choices=("csv", *exports.FORMATS))
    export.add_argument("-o", "--to", type=Path,
                        help="file (csv) or folder (one JSON per student); default under "
                        "the output folder")
    export.set_defaults(handler=run_export)


def _opened(args: argparse.Namespace) -> Any:
    from grader.results.gradebook import Gradebook
    from grader.service import config as service

    if service.is_service_folder(args.out):  # a `grader serve` folder: its database
        from grader.service.db import connect

        return Gradebook(connect(service.open_folder(args.out).database_url, pool_size=1))
    layout = OutputLayout(args.out)
    if not layout.gradebook.exists():
        common.say(f"grader: no gradebook at {layout.gradebook} (run `grader batch ... "
                   f"--out {args.out}` first)", error=True)
        return None
    return Gradebook(layout.gradebook)


def run_show(args: argparse.Namespace) -> int:
    from rich.table import Table

    book = _opened(args)
    if book is None:
        return EXIT_USAGE
    with book:
        if args.history or args.student:
            table = Table(title="Gradings, oldest first (the latest counts)")
            for column in ("#", "student", "exercise", "score", "status", "graded at (UTC)",
                           "grader", "submission sha256"):
                table.add_column(column)
            for row in book.history(args.student):
                table.add_row(*common.row(row.id, row.student, row.exercise,
                                          f"{row.score:g} / {row.max_score:g}", row.status,
                                          row.graded_at, row.grader_version,
                                          row.submission_sha256[:12]))
        else:
            table = Table(title="Latest grade per student")
            for column in ("student", "exercise", "score", "status", "failed checks"):
                table.add_column(column)
            for result in book.latest():
                failed = ", ".join(c.id for c in result.checks if c.passed is False) or "—"
                table.add_row(*common.row(result.student, result.exercise,
                                          f"{result.score:g} / {result.max_score:g}",
                                          result.status, failed))
    common.console().print(table)
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from grader.results import exports

    book = _opened(args)
    if book is None:
        return EXIT_USAGE
    with book:
        results = book.latest()
    layout = OutputLayout(args.out)
    if args.format == "csv":
        target = args.to or layout.csv
        exports.write_csv(results, target)
    else:
        target = args.to or layout.exports(args.format)
        for result in results:
            exports.write_json(exports.FORMATS[args.format](result),
                               target / f"{layout.student_dir(result.student).name}.json")
    common.say(f"exported {len(results)} student(s) as {args.format}: {target}")
    return EXIT_OK
