"""The class-wide commands behind `grader batch`, `grader gradebook` and
`grader gradescope-bundle`, kept apart from cli.py's parser so each file stays readable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import exports
from grader import gradebook as gradebooks

EXIT_OK, EXIT_GRADER_FAILED, EXIT_USAGE = 0, 1, 2
JSON_FORMATS = ("gradescope", "prairielearn", "coursera")


def add_parsers(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
                common: object) -> None:
    batch = commands.add_parser(
        "batch", help="grade a class: a folder, a zip, or an LMS download with --roster")
    batch.add_argument("source", type=Path,
                       help="folder of files, folder of student folders, or a zip of either")
    batch.add_argument("--roster", type=Path,
                       help="CSV with a student column and a file column (LMS downloads)")
    batch.add_argument("--out", type=Path, default=Path("grader-out"))
    batch.add_argument("--jobs", type=int, help="submissions graded at once (default: "
                       "the number of cores)")
    batch.add_argument("--regrade", action="store_true",
                       help="grade again even what is cached (earlier grades stay in the "
                       "gradebook's history)")
    batch.add_argument("--quiet", action="store_true", help="no progress output")
    batch.add_argument("--cluster", metavar="ADDRESS",
                       help="grade on a Dask cluster, e.g. tcp://scheduler:8786 (default: "
                       "worker processes on this machine)")
    common(batch)  # type: ignore[operator]

    book = commands.add_parser("gradebook", help="read the gradebook of a batch")
    book_commands = book.add_subparsers(dest="gradebook_command", required=True)
    show = book_commands.add_parser("show", help="latest grade per student, or a history")
    show.add_argument("--out", type=Path, default=Path("grader-out"),
                      help="the batch's output folder")
    show.add_argument("--student", help="only this student, with every grading")
    show.add_argument("--history", action="store_true", help="every grading, oldest first")
    export = book_commands.add_parser("export", help="export the latest grades")
    export.add_argument("--out", type=Path, default=Path("grader-out"),
                        help="the batch's output folder")
    export.add_argument("--format", required=True, choices=("csv", *JSON_FORMATS))
    export.add_argument("-o", "--to", type=Path,
                        help="file (csv) or folder (one JSON per student); default under "
                        "the output folder")

    bundle = commands.add_parser("gradescope-bundle",
                                 help="write autograder.zip for a Gradescope assignment")
    bundle.add_argument("--exercise", default="happy-or-sad")
    bundle.add_argument("--train", type=Path, help="your training zip or folder")
    bundle.add_argument("--hidden", type=Path, help="your hidden split folder")
    bundle.add_argument("-o", "--to", type=Path, default=Path("autograder.zip"))


def batch(args: argparse.Namespace, spec, data, options) -> int:  # noqa: ANN001
    from grader import progress
    from grader.batch import BatchOptions, default_jobs, grade_batch
    from grader.cluster import ClusterError
    from grader.intake import IntakeError, collect

    if args.jobs is not None and args.jobs < 1:
        print("grader: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        intake = collect(args.source, args.roster)
    except IntakeError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with intake:
        for warning in intake.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if not intake.entries:
            print(f"grader: {args.source}: no .ipynb or .py submissions found",
                  file=sys.stderr)
            return EXIT_USAGE
        listener = progress.choose(args.quiet)
        try:
            outcome = grade_batch(intake, spec, data, args.out,
                                  BatchOptions(jobs=args.jobs or default_jobs(),
                                               regrade=args.regrade, grade=options,
                                               cluster=args.cluster),
                                  listener)
        except ClusterError as exc:
            print(f"grader: {exc}", file=sys.stderr)
            return EXIT_USAGE
        finally:
            listener.close()
    problems = [e for e in intake.entries if e.problem]
    for entry in problems:
        print(f"not graded: {entry.student}: {entry.problem}", file=sys.stderr)
    if outcome.interrupted:
        print(f"grader: interrupted; {outcome.graded} graded in this run and kept. Run "
              "the same command again to grade the rest.", file=sys.stderr)
        return EXIT_GRADER_FAILED
    if not args.quiet:
        from grader.cli import _print_table

        _print_table(outcome.results)
    print(f"graded {outcome.graded}, reused {outcome.reused} cached, "
          f"{len(problems)} not gradable")
    print(f"results: {args.out / 'results.csv'}\n"
          f"gradebook: {args.out / gradebooks.FILE_NAME}\n"
          f"summary: {(args.out / 'index.html').resolve()}")
    return EXIT_OK


def gradebook(args: argparse.Namespace) -> int:
    path = args.out / gradebooks.FILE_NAME
    if not path.exists():
        print(f"grader: no gradebook at {path} (run `grader batch ... --out {args.out}` "
              "first)", file=sys.stderr)
        return EXIT_USAGE
    with gradebooks.Gradebook(path) as book:
        if args.gradebook_command == "show":
            return _show(book, args)
        return _export(book, args)


def _show(book: gradebooks.Gradebook, args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    if args.history or args.student:
        table = Table(title="Gradings, oldest first (the latest counts)")
        for column in ("#", "student", "exercise", "score", "status", "graded at (UTC)",
                       "grader", "submission sha256"):
            table.add_column(column)
        for row in book.history(args.student):
            table.add_row(str(row.id), row.student, row.exercise,
                          f"{row.score:g} / {row.max_score:g}", row.status, row.graded_at,
                          row.grader_version, row.submission_sha256[:12])
    else:
        table = Table(title="Latest grade per student")
        for column in ("student", "exercise", "score", "status", "failed checks"):
            table.add_column(column)
        for result in book.latest():
            failed = ", ".join(c.id for c in result.checks if c.passed is False) or "—"
            table.add_row(result.student, result.exercise,
                          f"{result.score:g} / {result.max_score:g}", result.status, failed)
    Console(highlight=False).print(table)
    return EXIT_OK


def _export(book: gradebooks.Gradebook, args: argparse.Namespace) -> int:
    results = book.latest()
    if args.format == "csv":
        target = args.to or args.out / "results.csv"
        exports.write_csv(results, target)
    else:
        target = args.to or args.out / "exports" / args.format
        for result in results:
            exports.write_json(exports.FORMATS[args.format](result),
                               target / f"{result.student}.json")
    print(f"exported {len(results)} student(s) as {args.format}: {target}")
    return EXIT_OK


def gradescope_bundle(args: argparse.Namespace) -> int:
    from grader import exercise
    from grader.gradescope_bundle import BundleError, build

    spec = exercise.load(args.exercise)
    try:
        path = build(spec, args.to, args.train, args.hidden)
    except BundleError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"Gradescope autograder bundle: {path}\nUpload it as the assignment's "
          "autograder (Ubuntu 22.04 or newer base image).")
    return EXIT_OK
