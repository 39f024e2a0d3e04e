"""Command line: `grader grade`, `grader check`, `grader batch`, `grader gradebook`,
`grader data make`, `grader exercises`, `grader gradescope-bundle` (class-wide commands:
class_commands.py; exercise detection and the student self-check: choose.py).

Exit codes: 0 when grading finished (whatever the score), 2 on usage errors (bad flags,
unknown exercise, unusable data), 1 when the grader itself failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader import __version__

EXIT_OK, EXIT_GRADER_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade TensorFlow course "
                                     "exercises on real-world images.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser, detect: bool = False) -> None:
        if detect:
            sub.add_argument("--exercise", help="installed exercise name or a spec .toml "
                             "(default: detected from the notebook)")
        else:
            sub.add_argument("--exercise", default="happy-or-sad", help="installed exercise "
                             "name or a spec .toml (default happy-or-sad)")
        sub.add_argument("--train", type=Path, help="training zip or folder (overrides spec)")
        sub.add_argument("--hidden", type=Path, help="hidden split folder (overrides spec)")
        sub.add_argument("--data-dir", type=Path, help="where built-in data sets are kept")
        sub.add_argument("--time-limit", type=float, help="seconds per submission")
        sub.add_argument("--require-sandbox", action="store_true",
                         help="fail instead of running without bubblewrap")
        sub.add_argument("--no-sandbox", action="store_true",
                         help="run without bubblewrap even where it works (debugging)")
        sub.add_argument("--keep-run", action="store_true",
                         help="keep each run folder (debugging)")
        sub.add_argument("--kernel", action="store_true",
                         help="run notebooks in a Jupyter kernel instead of an IPython shell "
                         "(slower; for notebooks that need kernel features, e.g. widgets)")

    grade = commands.add_parser("grade", help="grade one notebook or module (or the one "
                                "submission in a folder)")
    grade.add_argument("path", type=Path)
    grade.add_argument("--out", type=Path, help="folder for result.json and report.html")
    grade.add_argument("--json", type=Path, help="also write the result JSON here")
    for name in ("gradescope", "prairielearn", "coursera"):
        grade.add_argument(f"--{name}", type=Path, metavar="PATH",
                           help=f"also write the result in {name}'s results format")
    common(grade, detect=True)

    check = commands.add_parser("check", help="students: run your notebook through the "
                                "grader, scored on a public split, and see what would fail")
    check.add_argument("path", type=Path)
    check.add_argument("--out", type=Path, help="also write result.json and the report here")
    common(check, detect=True)

    from grader import class_commands

    class_commands.add_parsers(commands, common)

    data = commands.add_parser("data", help="data sets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    make = data_commands.add_parser("make", help="draw a built-in synthetic data set")
    make.add_argument("name")
    make.add_argument("--out", type=Path, help="folder (default: the data dir)")
    make.add_argument("--seed", type=int, default=0)

    commands.add_parser("exercises", help="list installed exercises")
    commands.add_parser("doctor", help="what isolation, TensorFlow, data and browsers "
                        "this machine offers")
    return parser


def _console():  # noqa: ANN202 - rich is imported lazily to keep start-up fast
    from rich.console import Console

    return Console(stderr=False, highlight=False)


def _print_table(results: list) -> None:  # noqa: ANN001
    from rich.table import Table

    table = Table(title="Grades")
    for column in ("student", "status", "score", "hidden acc.", "failed checks"):
        table.add_column(column)
    for result in results:
        failed = ", ".join(c.id for c in result.checks if c.passed is False) or "—"
        hidden = result.metrics.get("hidden_accuracy")
        table.add_row(result.student, result.status, f"{result.score:g} / {result.max_score:g}",
                      "—" if hidden is None else f"{hidden:.3f}", failed)
    _console().print(table)


def _print_checks(result) -> None:  # noqa: ANN001
    from rich.table import Table

    table = Table(title=f"{result.student}: {result.score:g} / {result.max_score:g} "
                        f"({result.status})")
    for column in ("check", "result", "points", "message"):
        table.add_column(column, overflow="fold")
    for check in result.checks:
        table.add_row(check.id, check.status, f"{check.score:g}/{check.max_score:g}",
                      check.message)
    _console().print(table)


def _load_spec_and_data(args: argparse.Namespace):  # noqa: ANN202
    from grader import datasource, exercise

    spec = exercise.load(args.exercise, train=args.train, hidden=args.hidden)
    return spec, datasource.resolve(spec, args.data_dir)


def _warn_sandbox(args: argparse.Namespace) -> None:
    from grader import sandbox

    if args.require_sandbox:
        return
    if args.no_sandbox:
        print("WARNING: --no-sandbox: submissions run WITHOUT a sandbox (results record "
              "sandbox \"none\").", file=sys.stderr)
    elif not sandbox.bubblewrap_works():
        print("WARNING: bubblewrap is not available: submissions run WITHOUT a sandbox "
              "(results record sandbox \"none\"). Install the 'bubblewrap' package.",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from grader import class_commands
    from grader.datasource import DataError
    from grader.exercise import SpecError
    from grader.grade import SandboxRequired
    from grader.gradebook import GradebookError

    try:
        if args.command == "exercises":
            from grader import exercise

            for name, path in exercise.available().items():
                spec = exercise.load(path)
                print(f"{name:26} {spec.title} (version {spec.version})")
            return EXIT_OK
        if args.command == "data":
            return _data_make(args)
        if args.command == "doctor":
            from grader import doctor

            return doctor.main()
        if args.command == "gradebook":
            return class_commands.gradebook(args)
        if args.command == "gradescope-bundle":
            return class_commands.gradescope_bundle(args)
        if args.command in ("grade", "check") and args.exercise is None:
            from grader import choose

            chosen = choose.exercise_for(args.path)
            if chosen.exercise is None:
                print(f"grader: {chosen.message}", file=sys.stderr)
                return EXIT_USAGE
            print(f"grader: {chosen.message}", file=sys.stderr)
            args.exercise, args.detected = chosen.exercise, chosen.message
        spec, data = _load_spec_and_data(args)
        _warn_sandbox(args)
        if args.command == "check":
            from grader import choose

            return choose.self_check(args, spec, data, _options(args))
        if args.command == "grade":
            return _grade(args, spec, data)
        return class_commands.batch(args, spec, data, _options(args))
    except (SpecError, DataError, SandboxRequired, GradebookError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("grader: interrupted; results already written are kept", file=sys.stderr)
        return EXIT_GRADER_FAILED
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        print(f"grader: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_GRADER_FAILED


def _options(args: argparse.Namespace):  # noqa: ANN202
    from grader.grade import GradeOptions

    return GradeOptions(time_limit=args.time_limit, require_sandbox=args.require_sandbox,
                        keep_run=args.keep_run, no_sandbox=args.no_sandbox,
                        notebook_executor="kernel" if args.kernel else "shell")


def _grade(args: argparse.Namespace, spec, data) -> int:  # noqa: ANN001
    from grader.batch import write_outputs
    from grader.grade import grade_file

    if not args.path.exists():
        print(f"grader: {args.path}: no such file", file=sys.stderr)
        return EXIT_USAGE
    path, problem = args.path, None
    if args.path.is_dir():
        from grader.intake import single_in_folder

        path, problem = single_in_folder(args.path)
    if problem or path is None:
        import time

        from grader.grade import error_result

        result = error_result(args.path, spec, problem or "nothing to grade",
                              time.monotonic())
    else:
        result = grade_file(path, spec, data, _options(args))
    if getattr(args, "detected", None):
        result.notes.append(f"detected: {args.detected}")
    out = args.out or Path("grader-out")
    from grader.report import ExpectedValues

    report_path = write_outputs(result, out, ExpectedValues.from_spec(spec), data.hidden_dir)
    if args.json:
        result.write(args.json)
    from grader import exports

    for name, convert in exports.FORMATS.items():
        if getattr(args, name):
            exports.write_json(convert(result), getattr(args, name))
    _print_checks(result)
    if result.status == "error":
        print(f"error: {result.error}")
    print(f"result: {report_path.parent / 'result.json'}\nreport: {report_path}\n"
          f"instructor's report: {report_path.parent / 'instructor.html'}")
    return EXIT_OK


def _data_make(args: argparse.Namespace) -> int:
    from grader import datasets
    from grader.datasource import default_data_dir

    out = args.out or default_data_dir() / args.name
    try:
        built = datasets.build(args.name, out, seed=args.seed)
    except KeyError as exc:
        print(f"grader: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"training zip: {built.train_zip}\ntraining images: {built.train_dir}\n"
          f"hidden split: {built.hidden_dir}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
