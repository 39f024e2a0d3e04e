"""`grader data make NAME` and `grader exercises`: the data sets and the exercises."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_OK


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
    """Draw (or bring up to date) a built-in set. Its hidden split comes from the data
    folder's course secret, made here if missing: the one line about it says where it is,
    since every machine grading the course needs the same one."""
    from grader.exercise import datasets, datasource, secret

    data_dir = datasource.default_data_dir()
    existed = (data_dir / secret.SECRET_FILE).is_file()
    course_secret = secret.course_secret(data_dir)
    out = args.out or data_dir / args.name
    root = datasource.draw(args.name, out, course_secret, seed=args.seed)
    where = secret.location(data_dir)
    made = " (made now)" if not existed and where == str(data_dir / secret.SECRET_FILE) else ""
    common.say(f"course secret: {where}{made}\n"
               f"training zip: {root / datasets.TRAIN_ZIPS[args.name]}\n"
               f"training images: {root / 'train'}\nhidden split: {root / 'hidden'}")
    return EXIT_OK


def run_exercises(args: argparse.Namespace) -> int:
    from grader.exercise import spec as specs
    from grader.grade import load_exercise

    for name, path in specs.available().items():
        spec = load_exercise(path)
        common.say(f"{name:26} {spec.title} (version {spec.version})")
    return EXIT_OK
