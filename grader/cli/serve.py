"""`grader serve …`: the grading service and its set-up (grader.service.cli has the
parsers and handlers; docs/service.md the guide)."""

from __future__ import annotations

from typing import Any


def add_parsers(commands: Any) -> None:
    from grader.service import cli

    cli.add_parsers(commands)
