"""`grader batch SOURCE`: a whole class, graded in parallel, resumable, cached."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from grader.results.layout import OutputLayout

DEFAULT_OUT = Path("grader-out")


def add_parsers(commands: Any) -> None:
    batch = commands.add_parser(
        "batch", help="grade a class: a folder, a zip, or an LMS download with --roster")
    batch.add_argument("source", type=Path,
                       help="folder of files, folder of student folders, or a zip of either")
    batch.add_argument("--roster", type=Path,
                       help="CSV with a student column and a file column (LMS downloads)")
    batch.add_argument("--out", type=Path, default=DEFAULT_OUT)
    batch.add_argument("--jobs", type=int, help="submissions graded at once (default: "
                       "the number of cores)")
    batch.add_argument("--regrade", action="store_true",
                       help="grade again even what is cached (earlier grades stay in the "
                       "gradebook's history)")
    batch.add_argument("--quiet", action="store_true", help="no progress output")
    batch.add_argument("--cluster", metavar="ADDRESS",
                       help="grade on a Dask cluster, e.g. tcp://scheduler:8786 (default: "
                       "worker processes on this machine)")
    common.add_grading_options(batch)
    batch.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grader.classwork.batch import BatchOptions, default_jobs, grade_batch
    from grader.classwork.intake import collect
    from grader.cli import progress

    if args.jobs is not None and args.jobs < 1:
        common.say("grader: --jobs must be at least 1", error=True)
        return EXIT_USAGE
    spec, data = common.load_spec_and_data(args)
    common.warn_about_sandbox(args)
    with collect(args.source, args.roster) as intake:
        for warning in intake.warnings:
            common.say(f"warning: {warning}", error=True)
        if not intake.entries:
            common.say(f"grader: {args.source}: no .ipynb or .py submissions found",
                       error=True)
            return EXIT_USAGE
        listener = progress.choose(args.quiet)
        try:
            outcome = grade_batch(intake, spec, data, args.out,
                                  BatchOptions(jobs=args.jobs or default_jobs(),
                                               regrade=args.regrade,
                                               grade=common.grade_options(args),
                                               cluster=args.cluster),
                                  listener)
        finally:
            listener.close()
    problems = [e for e in intake.entries if e.problem]
    for entry in problems:
        common.say(f"not graded: {entry.student}: {entry.problem}", error=True)
    if outcome.interrupted:
        common.say(f"grader: interrupted; {outcome.graded} graded in this run and kept. Run "
                   "the same command again to grade the rest.", error=True)
        return EXIT_FAILED
    if not args.quiet:
        common.print_grades(outcome.results)
    layout = OutputLayout(args.out)
    common.say(f"graded {outcome.graded}, reused {outcome.reused} cached, "
               f"{len(problems)} not gradable")
    common.say(f"results: {layout.csv}\ngradebook: {layout.gradebook}\n"
               f"summary: {layout.summary.resolve()}")
    return EXIT_OK
