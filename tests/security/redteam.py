"""The red-team batch (fixture `batch`, imported by test_redteam.py): every hostile
submission graded once, as one batch, then asserted on.

The batch runs against a private copy of the data set with a canary file planted in the
hidden split, with a secret in the grader's environment, and with tightened limits from
the spec (30 s, 1.5 GB, 128 processes, 256 MB of disk), so attacks that never stop cost
30 s, not 10 minutes. One honest submission in the same batch shows the others are
unaffected.
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader import exercise
from grader.exercise import datasource
from grader.results.result import GradeResult

SUBMISSIONS = Path(__file__).parent / "submissions"
# submissions other test modules grade on their own (test_intake_attacks.py,
# test_mount_attacks.py, test_scorer_attacks.py): not part of this batch
OWN_SUITES = ("intake_", "mount_", "scorer_", "seek_", "blind_", "decoy_", "apart_")
LAMBDA_MARKER = Path("/tmp/grader-security-lambda-ran")
SECRET_ENV = "GRADER_SECURITY_TEST_SECRET"


@dataclass
class Batch:
    results: dict[str, GradeResult]
    out_dir: Path
    folder: Path
    hidden_dir: Path
    canary: bytes  # planted in the hidden split; must never come out
    env_secret: str  # in the grader's environment; must never come out
    host_secret: bytes  # first line of a root-only host file (/etc/shadow) or b""


def _generated(folder: Path) -> None:
    """Hostile notebooks too large or too odd to commit: built here, per run."""
    big = {"cells": [{"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
                      "source": "# Attack: a 50 MB notebook (stored output of 50 MB).\n"
                                "print('big notebook ran')",
                      "outputs": [{"output_type": "stream", "name": "stdout",
                                   "text": "y" * 50_000_000}]}],
           "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}},
           "nbformat": 4, "nbformat_minor": 5}
    (folder / "big_notebook.ipynb").write_text(json.dumps(big))
    (folder / "non_utf8.py").write_bytes(  # not committed: no tool has to read it
        b"# Attack: source that is not UTF-8 (Latin-1 bytes: caf\xe9).\n"
        b"# Expected: a clear verdict (SyntaxError or a load error), never a traceback.\n"
        b"print('r\xe9sum\xe9 \xff\xfe')\n")
    depth = 200_000  # far past any JSON parser's recursion limit
    (folder / "nested_json.ipynb").write_text('{"cells": ' + "[" * depth + "]" * depth
                                              + ', "nbformat": 4}')


def _private_data(root: Path, spec: exercise.ExerciseSpec) -> tuple[datasource.DataPaths,
                                                                     bytes]:
    shared = datasource.resolve(spec)
    hidden = root / "data" / "hidden"
    shutil.copytree(shared.hidden_dir, hidden)
    train_zip = root / "data" / shared.train_zip.name
    shutil.copyfile(shared.train_zip, train_zip)
    canary = f"CANARY-{secrets.token_hex(16)}".encode()
    for cls in spec.classes:  # not an image suffix: the scorer never decodes it
        (hidden / cls / "zz-notes.txt").write_bytes(canary + b"\n")
    (hidden / "README.txt").write_bytes(canary)
    # the shared set's secret: grade.py derives the callback runs and the scorer's order
    # from it, and must not do so with an empty (public) key
    return datasource.DataPaths(train_zip, hidden, None, shared.secret), canary


def _host_secret() -> bytes:
    try:
        first = Path("/etc/shadow").read_bytes().splitlines()[0]
    except (OSError, IndexError):
        return b""
    return first if len(first) > 8 else b""
