"""`grader data make NAME` and `grader exercises`: the data sets and the exercises."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_OK, DataError


def add_parsers(commands: Any) -> None:
    data = commands.add_parser("data", help="data sets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    make = data_commands.add_parser("make", help="draw a built-in synthetic data set")
    make.add_argument("name")
    make.add_argument("--out", type=Path, help="folder (default: the data dir)")
    make.add_argument("--seed", type=int, default=0)
    make.set_defaults(handler=run_make)
    listing = commands.add_parser("exercises", help="list installed exercises")
    listing.set_defaults(handler=run_exercises)


def run_make(args: argparse.Namespace) -> int:
    from grader.exercise import datasets
    from grader.exercise.datasource import default_data_dir

    out = args.out or default_data_dir() / args.name
    try:
        built = datasets.build(args.name, out, seed=args.seed)
    except KeyError as exc:
        raise DataError(str(exc.args[0] if exc.args else exc)) from None
    common.say(f"training zip: {built.train_zip}\ntraining images: {built.train_dir}\n"
               f"hidden split: {built.hidden_dir}")
    return EXIT_OK


def run_exercises(args: argparse.Namespace) -> int:
    from grader.exercise import spec as specs
    from grader.grade import load_exercise

    for name, path in specs.available().items():
        spec = load_exercise(path)
        common.say(f"{name:26} {spec.title} (version {spec.version})")
    return EXIT_OK
