"""What a run can learn from the sandbox's mounts: not the grader's code, not where the
grader lives, and not the hidden split by drawing it again.

Three hostile submissions (tests/security/submissions/mount_*.py) and the honest one are
graded as one batch against the session's data set, whose hidden split is drawn from the
data folder's course secret. Before this, a run could import grader.datasets (the whole
grader package was mounted), recover the training seed from one staged image, and redraw
all 120 hidden images byte for byte at the training seed + 1_000_003; and its mount table
named the checkout, the Python installation under /root and the run folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import components
import pytest

from grader import exercise
from grader.classwork.batch import grade_folder
from grader.exercise import datasets, datasource
from grader.grade import GradeOptions
from grader.results.result import GradeResult
from grader.run import sandbox

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]  # the checkout
SUBMISSIONS = Path(__file__).parent / "submissions"
FACES = ROOT / "grader" / "exercise" / "datasets" / "faces.py"
OLD_PUBLIC_OFFSET = 1_000_003


@dataclasses.dataclass
class Graded:
    results: dict[str, GradeResult]
    out_dir: Path
    data: datasource.DataPaths


def _armed_redraw(folder: Path) -> Path:
    """The redraw attack with the repository's generator pasted in, as a student would."""
    attack = folder / "mount_redraw_hidden.py"
    source = (SUBMISSIONS / attack.name).read_text()
    marker = "GENERATOR = None"
    assert marker in source
    attack.write_text(source.replace(marker, f"GENERATOR = {FACES.read_text()!r}", 1))
    return attack


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory,
           data: datasource.DataPaths) -> Iterator[Graded]:
    if not sandbox.bubblewrap_works():
        components.require(False, "the mount attacks need bubblewrap")
    root = tmp_path_factory.mktemp("mount-attacks")
    folder = root / "submissions"
    folder.mkdir()
    for path in [*SUBMISSIONS.glob("mount_*.py"), SUBMISSIONS / "honest.py"]:
        shutil.copy(path, folder / path.name)
    _armed_redraw(folder)
    spec = dataclasses.replace(exercise.load("happy-or-sad"), time_seconds=180)
    out_dir = root / "out"
    results = grade_folder(folder, spec, data, out_dir, GradeOptions(require_sandbox=True))
    yield Graded({r.student: r for r in results}, out_dir, data)


def _lines(result: GradeResult, prefix: str) -> list[str]:
    return [line[len(prefix):].strip() for line in result.stdout_tail.splitlines()
            if line.startswith(prefix)]


def _host_folders(graded: Graded) -> list[Path]:
    """Folders the run must not learn: the checkout, the data, the output, the home, and
    the Python installation unless it could not be bound from a farm (the residual)."""
    in_place = [Path(r.host) for r in sandbox.sandbox_python_paths().roots if r.source == r.host]
    folders = [ROOT, datasource.default_data_dir(), graded.data.hidden_dir.parent,
               graded.out_dir, Path.home(), Path(sys.prefix).resolve(),
               Path(sys.base_prefix).resolve()]
    return [f for f in folders if not any(h.is_relative_to(f) for h in in_place)]


def test_the_graders_code_cannot_be_imported_or_found(graded: Graded) -> None:
    result = graded.results["mount_import_grader"]
    output = result.stdout_tail
    assert "MOUNT-IMPORT-DONE" in output, (result.status, result.error, output[-2000:])
    imports = json.loads(_lines(result, "IMPORTS")[0])
    assert set(imports.values()) == {"ModuleNotFoundError"}, imports
    assert "FOUND:" not in output and "IMPORTED" not in output, output
    package = _lines(result, "PACKAGE")[0]
    assert package.endswith("['__init__.py', '__pycache__', 'runner']"), package
    for folder in _host_folders(graded):
        assert str(folder) not in output, folder


def test_the_mount_table_names_no_host_folder(graded: Graded) -> None:
    result = graded.results["mount_table"]
    assert "MOUNT-TABLE-DONE" in result.stdout_tail, result.stdout_tail[-2000:]
    mounts = _lines(result, "MOUNT ")
    for pid in ("self", "1"):
        points = {line.split()[2] for line in mounts if line.split()[0] == pid}
        assert {"/grader/run", "/tmp", "/grader/lib", "/grader/venv"} <= points \
            or {"/grader/run", "/tmp", "/grader/lib"} <= points, mounts
    table = "\n".join(mounts)
    for folder in _host_folders(graded):
        assert str(folder) not in table, (folder, table)


def _redrawn(result: GradeResult) -> set[str]:
    lines = _lines(result, "REDRAWN")
    assert lines, (result.status, result.error, result.stdout_tail[-2000:])
    return set(lines[0].split())


def _hidden_digests(hidden_dir: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest()[:16]
            for p in hidden_dir.rglob("*.png")}


def test_the_hidden_split_cannot_be_redrawn_in_the_run(graded: Graded) -> None:
    result = graded.results["mount_redraw_hidden"]
    assert _lines(result, "TRAINING-SEED") == ["0"], result.stdout_tail[-2000:]
    redrawn = _redrawn(result)
    hidden = _hidden_digests(graded.data.hidden_dir)
    assert len(redrawn) == len(hidden) == 120
    assert not redrawn & hidden


def test_the_same_attack_redraws_a_hidden_split_drawn_at_the_old_offset(
        tmp_path: Path) -> None:
    """Positive control: the attack is right, so only the secret stops it."""
    old = datasets.make_happy_or_sad(tmp_path / "old", seed=0,
                                     hidden_seed=OLD_PUBLIC_OFFSET)
    attack = _armed_redraw(tmp_path)
    staged = old.train_dir / "happy" / "happy1-00.png"
    done = subprocess.run([sys.executable, str(attack)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "ATTACK_STAGED_IMAGE": str(staged)},
                          check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("REDRAWN")]
    assert lines, done.stdout[-2000:] + done.stderr[-2000:]
    assert set(lines[0].split()[1:]) == _hidden_digests(old.hidden_dir)


def test_the_honest_submission_still_scores_full_marks(graded: Graded) -> None:
    honest = graded.results["honest"]
    assert honest.sandbox == "bubblewrap"
    assert honest.score == honest.max_score == 100, (honest.error, honest.stdout_tail[-2000:])


def test_one_folder_keeps_its_split_and_another_secret_draws_another(
        tmp_path: Path, data: datasource.DataPaths) -> None:
    spec = exercise.load("happy-or-sad")
    again = datasource.resolve(spec)
    assert again.secret == data.secret
    assert _hidden_digests(again.hidden_dir) == _hidden_digests(data.hidden_dir)
    other = datasource.resolve(spec, tmp_path / "other")
    assert other.secret != data.secret
    assert other.train_zip.read_bytes() == data.train_zip.read_bytes()
    assert not _hidden_digests(other.hidden_dir) & _hidden_digests(data.hidden_dir)
