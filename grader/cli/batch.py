"""`grader batch SOURCE`: a whole class, graded in parallel, resumable, cached."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_BELOW, EXIT_FAILED, EXIT_USAGE
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
    similarity = batch.add_argument_group(
        "similarity", "flag possibly copied work once the class is graded (no score changes)")
    similarity.add_argument("--similarity", action="store_true",
                            help="compare the class's submissions: similarity.html and "
                            ".json in --out, a similar_to column in results.csv")
    similarity.add_argument("--template", type=Path, action="append", default=[],
                            metavar="FILE", help="a starter notebook the course handed out, "
                            "besides the exercise's own (repeatable)")
    similarity.add_argument("--against", type=Path, action="append", default=[],
                            metavar="DIR", help="a reference collection (last term, public "
                            "solutions), repeatable; matched, never graded")
    similarity.add_argument("--course-material", type=Path, metavar="DIR",
                            help="the instructor's copies of the lesson and exercise "
                            "notebooks (the exercise names them); removed like --template")
    common.add_grading_options(batch)
    common.add_ci_options(batch)
    batch.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grader.classwork.batch import BatchOptions, default_jobs, grade_batch
    from grader.classwork.intake import collect
    from grader.cli import progress

    if args.jobs is not None and args.jobs < 1:
        common.say("grader: --jobs must be at least 1", error=True)
        return EXIT_USAGE
    common.check_ci_options(args)
    if (args.template or args.against or args.course_material) and not args.similarity:
        common.say("grader: --template, --against and --course-material need --similarity",
                   error=True)
        return EXIT_USAGE
    for path in (*args.template, *args.against, *filter(None, [args.course_material])):
        if not path.exists():
            common.say(f"grader: {path}: no such file or folder", error=True)
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
                                               cluster=args.cluster,
                                               compare_class=_similarity(args, spec)),
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
    to_review = sum(1 for r in outcome.results if r.review)
    if to_review:
        common.say(f"to review: {to_review} (the run's own account was not corroborated on "
                   "a point; see the summary's To review column)")
    if outcome.similarity_error:
        common.say(f"grader: similarity not computed: {outcome.similarity_error}", error=True)
    if outcome.similarity is not None:
        for line in outcome.similarity.lines:
            common.say(line)
        common.say(f"similarity: {layout.similarity_html.resolve()}")
    common.say(f"results: {layout.csv}\ngradebook: {layout.gradebook}\n"
               f"summary: {layout.summary.resolve()}")
    below = common.ci_exit(args, outcome.results, spec.name)
    if args.fail_under is not None and problems:
        common.say(f"below --fail-under {args.fail_under:g}: {len(problems)} not gradable")
        below = EXIT_BELOW
    # what the instructor asked for (--similarity) could not be done; the grades stand
    return EXIT_USAGE if outcome.similarity_error else below


def _similarity(args: argparse.Namespace, spec: Any) -> Any:
    """`--similarity`: the comparison the batch runs once its grades are kept."""
    if not args.similarity:
        return None
    from functools import partial

    return partial(_compare_class, templates=[*args.template, *spec.similarity_templates],
                   against=list(args.against), exercise=spec.name,
                   course_material=args.course_material,
                   material_names=spec.similarity_material)


def _compare_class(entries: list[tuple[str, Path]], out_dir: Path, *, templates: list[Path],
                   against: list[Path], exercise: str, course_material: Path | None = None,
                   material_names: tuple[str, ...] = ()) -> Any:
    from grader.classwork.batch import SimilarityOutcome
    from grader.results.gradebook import SimilarPair
    from grader.similarity import report
    from grader.similarity.api import compare_class
    from grader.similarity.cli import summary_lines

    result = compare_class(entries, templates=templates, against=against, exercise=exercise,
                           course_material=course_material, material_names=material_names)
    report.write(result, out_dir)
    lines = [f"not compared: {p.name}: {p.message}" for p in result.problems]
    lines += [f"warning: {w}" for w in result.warnings] + summary_lines(result)
    pairs = [SimilarPair(p.a, p.b, p.score, p.share_a, p.share_b, p.flagged)
             for p in result.pairs]
    return SimilarityOutcome(flagged=result.flagged_students(), pairs=pairs, lines=lines)
