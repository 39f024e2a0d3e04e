"""`grader submit FILE --server URL [--token-file F | --token T] [--wait]`: hand a notebook
in to a grading service from a terminal. Imports nothing heavy (no TensorFlow, no web
framework): it is the client students run (grader.service.client)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parsers(commands: Any) -> None:
    submit = commands.add_parser("submit", help="submit a notebook or module to a grading "
                                 "service (grader serve) and print the score")
    submit.add_argument("file", type=Path)
    submit.add_argument("--server", required=True, metavar="URL",
                        help="the service's address, e.g. https://grader.example.edu")
    given = submit.add_mutually_exclusive_group()
    given.add_argument("--token", metavar="TOKEN", help="your token (the end of your "
                       "personal link); other users of this machine can read it in the "
                       "process list (/proc/PID/cmdline): prefer --token-file or "
                       "$GRADER_TOKEN")
    given.add_argument("--token-file", type=Path, metavar="FILE",
                       help="read the token from FILE's first line (default: $GRADER_TOKEN)")
    submit.add_argument("--assignment", help="refuse unless the token is for this assignment")
    submit.add_argument("--wait", action="store_true",
                        help="wait for the grade; print the score and the report's address")
    submit.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds to wait with --wait (default 1800)")
    submit.set_defaults(handler=run)


def token_values_attached(argv: list[str]) -> list[str]:
    """`--token -abc…` as `--token=-abc…`: links issued before tokens avoided a leading "-"
    may have one, and argparse would take it for an option."""
    fixed: list[str] = []
    index = 0
    while index < len(argv):
        if argv[index] == "--token" and index + 1 < len(argv) \
                and argv[index + 1].startswith("-") and argv[index + 1] != "--":
            fixed.append(f"--token={argv[index + 1]}")
            index += 2
            continue
        fixed.append(argv[index])
        index += 1
    return fixed


def run(args: argparse.Namespace) -> int:
    from grader.service import client

    return client.main(args)
