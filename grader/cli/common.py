"""What every grading command shares: its data options, loading the exercise and its data,
the grading options, and printing to the instructor's terminal.

Everything printed here that came from a submission (a check's message, an error, a
student id) goes through grader.terminal.inert first: a student's string must never be
able to move the cursor, set a hyperlink or write the clipboard of the person grading.
Table cells are rich Text, never markup, so `[link=…]` in a name stays text. And no
character can end the command: a terminal whose encoding cannot write one (a Chinese
name on a Latin-1 terminal) gets a backslash escape instead of a UnicodeEncodeError.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from grader.terminal import inert


def add_grading_options(sub: argparse.ArgumentParser, detect: bool = False,
                        others_work: bool = True) -> None:
    """The options every grading command shares. `others_work`: the command grades other
    people's submissions (batch), so it refuses to run them without the sandbox unless
    --no-sandbox is given; `grade` and `check` grade one's own work (a student at their
    machine, a Gradescope container per submission) and fall back with a warning."""
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
    sandboxing = sub.add_mutually_exclusive_group()
    sandboxing.add_argument("--require-sandbox", action="store_true",
                            help="refuse to grade without bubblewrap (the default; kept "
                            "for scripts)" if others_work else
                            "refuse to grade without bubblewrap (default: warn and run "
                            "without it)")
    sandboxing.add_argument("--no-sandbox", action="store_true",
                            help="run submissions without bubblewrap, even where it works "
                            "(debugging; they can then read the hidden data)")
    sub.set_defaults(require_sandbox=others_work)
    sub.add_argument("--keep-run", action="store_true",
                     help="keep each run folder (debugging)")
    sub.add_argument("--cold", action="store_true",
                     help="start Python and TensorFlow for every run instead of forking "
                     "warm runs (comparison, debugging; `grader doctor` says whether warm "
                     "runs work here)")
    sub.add_argument("--kernel", action="store_true",
                     help="run notebooks in a Jupyter kernel instead of an IPython shell "
                     "(slower; for notebooks that need kernel features, e.g. widgets)")


def add_ci_options(sub: argparse.ArgumentParser) -> None:
    """What a CI pipeline needs of a grading command: JUnit XML, and an exit code that
    fails the pipeline on a low score (3, EXIT_BELOW) without reading JSON."""
    sub.add_argument("--junit", type=Path, metavar="FILE",
                     help="also write JUnit XML: a test case per submission and per check")
    sub.add_argument("--fail-under", type=float, metavar="SCORE",
                     help="exit 3 when a submission scores below SCORE points (the grades "
                     "are written all the same)")


def ci_exit(args: argparse.Namespace, results: list[Any], suite: str) -> int:
    """Write --junit for `results` and say whether --fail-under failed (EXIT_BELOW)."""
    from grader.errors import EXIT_BELOW, EXIT_OK

    bar = args.fail_under
    if args.junit:
        from grader.results import junit

        cases = [case for result in results
                 for case in junit.grading_cases(result, suite, result.student, bar)]
        junit.write(args.junit, {suite: cases}, name=f"grader {suite}")
    if bar is None:
        return EXIT_OK
    below = [r for r in results if r.status != "graded" or r.score < bar]
    if below:
        say(f"below --fail-under {bar:g}: " + ", ".join(
            f"{r.student} ({r.score:g}{'' if r.status == 'graded' else ', ' + r.status})"
            for r in below[:10]) + (f" and {len(below) - 10} more" if len(below) > 10 else ""))
        return EXIT_BELOW
    return EXIT_OK


def check_ci_options(args: argparse.Namespace) -> None:
    if args.fail_under is not None and not args.fail_under >= 0:
        from grader.errors import UsageError

        raise UsageError("--fail-under must be a score of 0 or more")


def load_spec_and_data(args: argparse.Namespace) -> tuple[Any, Any]:
    from grader.exercise import datasource
    from grader.grade import load_exercise

    spec = load_exercise(args.exercise, train=args.train, hidden=args.hidden)
    return spec, datasource.resolve(spec, args.data_dir)


def grade_options(args: argparse.Namespace) -> Any:
    from grader.grade import GradeOptions

    return GradeOptions(time_limit=args.time_limit, require_sandbox=args.require_sandbox,
                        keep_run=args.keep_run, no_sandbox=args.no_sandbox,
                        cold=args.cold, notebook_executor="kernel" if args.kernel else "shell")


def warn_about_sandbox(args: argparse.Namespace) -> None:
    """Before anything is graded: refuse (SandboxRequired, exit 2) when the sandbox is
    required and cannot run, else warn when runs will be unsandboxed."""
    from grader.grade import sandbox_in_use

    if getattr(args, "cluster", None):  # the cluster's workers run the submissions and
        return  # decide there, each grading refusing without bubblewrap
    if args.no_sandbox:
        print("WARNING: --no-sandbox: submissions run WITHOUT a sandbox (results record "
              "sandbox \"none\").", file=sys.stderr)
    elif not sandbox_in_use(grade_options(args)):
        print("WARNING: bubblewrap is not available: submissions run WITHOUT a sandbox "
              "(results record sandbox \"none\"). Install the 'bubblewrap' package.",
              file=sys.stderr)


def tolerant(stream: Any) -> Any:
    """`stream`, set to write what its encoding cannot as a backslash escape."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None and getattr(stream, "errors", None) == "strict":
        with contextlib.suppress(ValueError, OSError):  # cannot change: printed as it is
            reconfigure(errors="backslashreplace")
    return stream


def say(text: object, error: bool = False) -> None:
    """One line for the person at the terminal, made inert."""
    print(inert(text), file=tolerant(sys.stderr if error else sys.stdout), flush=True)


def console() -> Any:
    from rich.console import Console

    return Console(file=tolerant(sys.stdout), highlight=False)


def cell(value: object) -> Any:
    """A table cell that is text, never rich markup, with no terminal controls."""
    from rich.text import Text

    return Text(inert(value))


def row(*values: object) -> list[Any]:
    """A table row of cells: every value text, whatever made it."""
    return [cell(value) for value in values]


def print_grades(results: list[Any]) -> None:
    from rich.table import Table

    table = Table(title="Grades")
    for column in ("student", "status", "score", "hidden acc.", "failed checks"):
        table.add_column(column)
    for result in results:
        failed = ", ".join(c.id for c in result.checks if c.passed is False) or "—"
        hidden = result.metrics.get("hidden_accuracy")
        table.add_row(*row(result.student, result.status,
                           f"{result.score:g} / {result.max_score:g}",
                           "—" if hidden is None else f"{hidden:.3f}", failed))
    console().print(table)


def print_checks(result: Any) -> None:
    from rich.table import Table

    table = Table(title=cell(f"{result.student}: {result.score:g} / {result.max_score:g} "
                             f"({result.status})"))
    for column in ("check", "result", "points", "message"):
        table.add_column(column, overflow="fold")
    for check in result.checks:
        table.add_row(*row(check.id, check.status, f"{check.score:g}/{check.max_score:g}",
                           check.message))
    console().print(table)
