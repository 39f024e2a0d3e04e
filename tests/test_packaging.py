"""The wheel is the product: what `pip install` gives must grade and write every report.

The slow test builds the wheel, installs it (not editable) into a fresh virtual
environment and grades the reference there, from a folder outside the checkout, so a
template or a spec that is only found next to the source would fail it. Dependencies are
taken from the test's own environment (a .pth line), not downloaded again: the test is
about what the wheel carries, not about PyPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from grader.exercise.datasource import default_data_dir

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_for_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "grader").rglob("__init__.py")}
    # data folders listed as packages (no __init__.py): the templates, the service's
    # templates and the exercise specs
    assert found | {"grader.templates", "grader.templates.service",
                    "grader.exercise.specs"} == listed


def test_the_wheel_carries_templates_specs_and_the_runner(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    templates = {f"grader/templates/{p.name}" for p in (ROOT / "templates").iterdir()
                 if p.suffix in (".j2", ".css", ".js")}
    specs = {f"grader/exercise/specs/{p.name}"
             for p in (ROOT / "grader" / "exercise" / "specs").glob("*.toml")}
    assert templates and specs and templates | specs <= names
    assert "grader/runner/__main__.py" in names and "grader/scoring/scorer.py" in names


@pytest.mark.slow
def test_the_installed_wheel_grades_a_class_and_writes_every_page(
        wheel: Path, tmp_path: Path, data: object) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
         "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    (site / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, timeout=300)
    located = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import grader; print(grader.__file__)"],
                             capture_output=True, text=True, check=True, cwd=tmp_path)
    assert Path(located.stdout.strip()).is_relative_to(site), "not the installed wheel"
    klass = tmp_path / "class"
    klass.mkdir()
    shutil.copy(ROOT / "reference" / "happy_or_sad" / "solution.py", klass / "ada.py")
    out = tmp_path / "out"
    env = {**os.environ, "GRADER_DATA_DIR": str(default_data_dir())}
    done = subprocess.run([str(venv / "bin" / "grader"), "batch", str(klass), "--out",
                           str(out), "--jobs", "1", "--quiet"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for page in ("ada/report.html", "ada/instructor.html", "index.html"):
        text = (out / page).read_text(encoding="utf-8")
        assert "<html" in text and "ada" in text, page
    assert '"score": 100' in (out / "ada" / "result.json").read_text()
