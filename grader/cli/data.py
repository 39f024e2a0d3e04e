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
    listing.add_argument("--schema", action="store_true",
                         help="print the JSON Schema of an exercise spec (for editors)")
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

    if args.schema:
        import json

        from grader.exercise import schema

        print(json.dumps(schema.json_schema(), indent=1))
        return EXIT_OK
    from grader.errors import GraderError
    from grader.exercise import packs

    own = specs.built_in()
    from_packs, problems = packs.exercises(own)
    listed = [(name, path, "built in") for name, path in own.items()]
    listed += [(name, path, f"from {pack.distribution}")
               for name, (path, pack) in from_packs.items()]
    for name, path, source in listed:
        try:
            spec = load_exercise(path)
        except GraderError as exc:  # a pack's broken spec: said, and the others listed
            common.say(f"{name:26} cannot be used: {exc} ({source})")
            continue
        common.say(f"{name:26} {spec.title} (version {spec.version}; {source})")
    for problem in problems:
        common.say(f"note: {problem}")
    return EXIT_OK
