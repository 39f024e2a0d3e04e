"""Exercise packs (issue 23, item 3): a course's spec and reference as an ordinary Python
package with a `grader.exercises` entry point, installed into a throw-away venv and listed
by `grader exercises` with the package it came from. `grader verify PACK` through the
entry point is run by tests/test_ci_workflows.py, as the documented CI workflow runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from grader.exercise import EXERCISES_DIR

ROOT = Path(__file__).resolve().parent.parent

PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "week4-pack"
version = "1.2"

[project.entry-points."grader.exercises"]
week4 = "week4_pack"

[tool.setuptools.package-data]
week4_pack = ["*.toml", "reference/*/*"]
"""


def make_pack(folder: Path) -> Path:
    package = folder / "week4_pack"
    (package / "reference" / "my_happy").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Week 4 of our course, for grader."""\n')
    spec = (EXERCISES_DIR / "happy_or_sad.toml").read_text()
    spec = spec.replace('name = "happy-or-sad"', 'name = "my-happy"', 1).replace(
        'title = "Happy or Sad: a CNN on real-world images (Course 1, Week 4)"',
        'title = "Our week 4: happy or sad"', 1)
    (package / "my_happy.toml").write_text(spec)
    shutil.copy(ROOT / "reference" / "happy_or_sad" / "solution.py",
                package / "reference" / "my_happy" / "solution.py")
    (folder / "pyproject.toml").write_text(PYPROJECT)
    return folder


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away venv that sees this grader (a .pth to its site-packages) and has the
    pack installed the way an instructor installs it (pip, from its source folder)."""
    where = tmp_path_factory.mktemp("packs")
    env_dir = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    ours = [sysconfig.get_paths()["purelib"], str(ROOT)]
    (Path(site) / "grader-under-test.pth").write_text("\n".join(ours) + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", str(make_pack(where / "src"))],
                   check=True, timeout=600)
    return python


def grader(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "grader.cli", *args], capture_output=True,
                          text=True, timeout=1200, env={**os.environ})


def test_an_installed_pack_is_listed_with_the_package_it_came_from(venv: Path) -> None:
    listed = grader(venv, "exercises")

    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("my-happy"))
    assert line.endswith("Our week 4: happy or sad (version 1.0; from week4-pack 1.2)")
    assert "happy-or-sad " in listed.stdout  # the built-in ones are still there
    assert "my-happy" not in grader(Path(sys.executable), "exercises").stdout  # not here


def test_a_pack_given_references_or_an_exercise_without_them_is_a_usage_error(
        venv: Path) -> None:
    with_reference = grader(venv, "verify", "week4", str(ROOT / "reference" / "happy_or_sad"
                                                         / "solution.py"))
    assert with_reference.returncode == 2
    assert "week4 is an exercise pack: it names its own references" in (
        with_reference.stdout + with_reference.stderr)
    bare = grader(venv, "verify", "happy-or-sad")
    assert bare.returncode == 2
    assert "needs the reference solution(s)" in bare.stdout + bare.stderr
