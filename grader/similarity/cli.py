"""The options of `grader similarity` (and of `grader batch --similarity`), and the lines it
prints; the command itself is grader/cli/similarity.py, which routes here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from grader.similarity.settings import Settings

if TYPE_CHECKING:
    from grader.similarity.result import SimilarityResult


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The subcommand's arguments, on a parser made by the caller."""
    defaults = Settings()
    parser.add_argument("source", type=Path, help="the class: a folder of files, a folder "
                        "of student folders, a zip of either, or an LMS download (--roster)")
    parser.add_argument("--exercise", default="happy-or-sad",
                        help="installed exercise name (default: happy-or-sad)")
    parser.add_argument("--out", type=Path, default=Path("grader-out"),
                        help="folder for similarity.json and similarity.html")
    parser.add_argument("--roster", type=Path, help="CSV with a student and a file column")
    parser.add_argument("--template", type=Path, action="append", default=[],
                        metavar="FILE", help="a starter notebook the course handed out "
                        "(repeatable: one per course version in use); removed before "
                        "comparing")
    parser.add_argument("--course-material", type=Path, metavar="DIR",
                        help="the instructor's copies of the lesson and exercise notebooks "
                        "the students were given (the exercise names them); every .ipynb "
                        "and .py in DIR is removed like a --template")
    parser.add_argument("--against", type=Path, action="append", default=[], metavar="DIR",
                        help="a reference collection (last term, public solutions), "
                        "repeatable; matched, never graded")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="write the JSON here instead of OUT/similarity.json")
    parser.add_argument("--threshold", type=_share, default=defaults.threshold,
                        help=f"flag pairs whose score reaches this (default "
                        f"{defaults.threshold})")
    parser.add_argument("--floor", type=_share, default=defaults.floor,
                        help=f"report pairs from this share on (default {defaults.floor})")
    parser.add_argument("--common-share", type=_share, default=defaults.common_share,
                        help="code in more than this share of the class is its common "
                        f"code and does not count (default {defaults.common_share}; "
                        "1 turns it off)")
    parser.add_argument("--quiet", action="store_true", help="print only the paths")


def summary_lines(result: SimilarityResult) -> list[str]:
    """What the command prints of a result: the counts, each flagged pair with its
    evidence, then each submission with too little own code to judge."""
    from grader.similarity.result import TOO_LITTLE

    data = result.to_json()["summary"]
    assert isinstance(data, dict)
    lines = [f"compared {data['submissions']} submissions and {data['references']} "
             f"reference files: {data['pairs']} pairs above the floor, "
             f"{data['flagged_pairs']} flagged"]
    lines += [f"  flagged  {pair.a} ~ {pair.b}  score {pair.score:.2f}  "
              f"({pair.share_a:.0%} of {pair.a} found in {pair.b}, "
              f"{pair.share_b:.0%} the other way)"
              + (f"; {pair.evidence.describe()}" if pair.evidence.describe() else "")
              for pair in result.flagged_pairs]
    lines += [f"  {document.source.name}: {TOO_LITTLE} ({document.own_tokens} tokens not "
              f"course material, {document.masks.weight:.0f} left to compare once the "
              f"class's common code is removed; {result.judge_from:.0f} needed)"
              for document in result.too_little() if document.masks is not None]
    return lines
