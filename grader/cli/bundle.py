"""`grader gradescope-bundle`: the autograder.zip an instructor uploads to Gradescope."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_OK


def add_parsers(commands: Any) -> None:
    bundle = commands.add_parser("gradescope-bundle",
                                 help="write autograder.zip for a Gradescope assignment")
    bundle.add_argument("--exercise", default="happy-or-sad")
    bundle.add_argument("--train", type=Path, help="your training zip or folder")
    bundle.add_argument("--hidden", type=Path, help="your hidden split folder")
    bundle.add_argument("--wheel", type=Path, help="the grader's wheel to ship (default: "
                        "built from this source checkout)")
    bundle.add_argument("-o", "--to", type=Path, default=Path("autograder.zip"))
    bundle.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from grader.grade import load_exercise
    from grader.results.gradescope_bundle import build

    path = build(load_exercise(args.exercise), args.to, args.train, args.hidden,
                 args.wheel)
    common.say(f"Gradescope autograder bundle: {path}\nUpload it as the assignment's "
               "autograder (Ubuntu 22.04 or newer base image).")
    return EXIT_OK
