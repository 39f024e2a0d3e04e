"""`grader gradescope-bundle`: the zip holds what Gradescope needs, and its run_autograder,
run against a fake /autograder tree, leaves a valid results.json in every case."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.cli import main
from grader.exercise.datasource import DataPaths, default_data_dir

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "submissions" / "happy_or_sad"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    assert main(["gradescope-bundle", "--exercise", "happy-or-sad", "-o", str(target)]) == 0
    return target


def test_bundle_has_the_scripts_and_the_grader_wheel(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        for script in ("setup.sh", "run_autograder"):
            mode = archive.getinfo(script).external_attr >> 16
            assert mode & stat.S_IXUSR, f"{script} must be executable"
        (wheel,) = [n for n in names if n.endswith(".whl")]
        setup = archive.read("setup.sh").decode()
        archive.extract(wheel, tmp_path)
    assert f'pip" install -q "$ROOT/source/{wheel}"' in setup
    with zipfile.ZipFile(tmp_path / wheel) as built:
        inside = set(built.namelist())
    assert {"grader/cli/__init__.py", "grader/exercise/specs/happy_or_sad.toml",
            "grader/templates/report.html.j2", "grader/runner/contract.py"} <= inside
    assert not [n for n in inside if "__pycache__" in n or n.endswith(".pyc")]


def _autograder(tmp_path: Path, bundle: Path) -> Path:
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    runner = root / "run_autograder"
    shutil.copy(root / "source" / "run_autograder", runner)
    runner.chmod(0o755)
    (root / "submission").mkdir()
    return root


def _run(root: Path, grader_bin: str) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_BIN": grader_bin,
           "GRADER_DATA_DIR": str(default_data_dir())}
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return json.loads((root / "results" / "results.json").read_text())


def _grader_bin() -> str:
    return str(Path(sys.executable).parent / "grader")


def test_scripts_are_valid_bash(bundle: Path, tmp_path: Path) -> None:
    root = _autograder(tmp_path, bundle)
    for script in (root / "source" / "setup.sh", root / "run_autograder"):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0


@pytest.mark.slow
def test_run_autograder_grades_a_submission(bundle: Path, tmp_path: Path,
                                            data: DataPaths) -> None:
    root = _autograder(tmp_path, bundle)
    shutil.copy(SAMPLES / "no_rescale.py", root / "submission" / "my_answer.py")
    results = _run(root, _grader_bin())
    assert isinstance(results["score"], float | int)
    assert isinstance(results["execution_time"], int)
    assert results["score"] == sum(t["score"] for t in results["tests"])
    failed = [t["tags"][0] for t in results["tests"] if t["status"] == "failed"]
    assert failed == ["generator_rescale"]
    assert results["score"] < sum(t["max_score"] for t in results["tests"])
    hidden = [t for t in results["tests"] if t["tags"] == ["hidden_accuracy"]]
    assert hidden and hidden[0]["visibility"] == "after_published"


def test_run_autograder_with_nothing_submitted(bundle: Path, tmp_path: Path,
                                               data: DataPaths) -> None:
    root = _autograder(tmp_path, bundle)
    (root / "submission" / "README.txt").write_text("oops, wrong file")
    results = _run(root, _grader_bin())
    assert results["score"] == 0
    assert "no .ipynb or .py file was submitted" in results["output"]
    assert "README.txt" in results["output"]


def test_run_autograder_when_the_grader_cannot_start(bundle: Path, tmp_path: Path) -> None:
    root = _autograder(tmp_path, bundle)
    (root / "submission" / "a.py").write_text("print(1)\n")
    results = _run(root, str(tmp_path / "no-such-grader"))
    assert results["score"] == 0
    assert "could not run" in results["output"]


def test_bundle_refuses_half_of_the_instructor_data(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gradescope-bundle", "--train", str(tmp_path), "-o",
                 str(tmp_path / "a.zip")]) == 2
    assert "both --train and --hidden" in capsys.readouterr().err
