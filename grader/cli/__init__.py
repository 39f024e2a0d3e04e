"""The `grader` command: one module per command, each adding its parser and a handler.

    grade, check        grader.cli.grade      one submission (and the students' self-check)
    batch               grader.cli.batch      a whole class
    verify              grader.cli.verify     CI for an exercise: its reference, margins, samples
    gradebook           grader.cli.gradebook  show and export what a batch kept
    data, exercises     grader.cli.data       data sets and installed exercises
    exercise new        grader.cli.exercise   a new exercise's spec, from its reference
    similarity          grader.cli.similarity flag copied work (evidence, no score change)
    gradescope-bundle   grader.cli.bundle     the autograder.zip for Gradescope
    doctor              grader.cli.doctor     what this machine offers
    serve               grader.cli.serve      the grading service (grader.service)
    submit              grader.cli.submit     send a file to a grading service

How a failure ends is decided once, by grader.errors: a UsageError exits 2 with its one
line, any other GraderError exits 1; an unexpected exception is one line, never a
traceback. Commands import what they need when they run, so `grader --help` is fast.
"""

from __future__ import annotations

import argparse
import sys

from grader import __version__
from grader.cli import (
    batch,
    bundle,
    data,
    doctor,
    exercise,
    grade,
    gradebook,
    serve,
    similarity,
    submit,
    verify,
)
from grader.cli.common import say
from grader.errors import EXIT_FAILED, GraderError

COMMANDS = (grade, batch, verify, gradebook, similarity, data, exercise, bundle, doctor, serve,
            submit)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="grader", description="Grade TensorFlow course "
                                  "exercises on real-world images.")
    top.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parsers(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["submit"]:
        argv = submit.token_values_attached(argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage error (exit 2) or the help (0)
        return int(exc.code or 0)
    try:
        return int(args.handler(args))
    except GraderError as exc:
        say(f"grader: {exc}", error=True)
        return exc.exit_code
    except KeyboardInterrupt:
        say("grader: interrupted; results already written are kept", error=True)
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        say(f"grader: internal error: {type(exc).__name__}: {exc}", error=True)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
