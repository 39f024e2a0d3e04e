"""The CI files docs/authoring.md gives instructors, run as written (issue 23).

The GitHub Actions workflow is read from the page and its `run:` steps are run in order,
in a folder laid out as the instructor's repository (the pack of docs/authoring.md,
tests/test_exercise_packs.make_pack), in a fresh venv that has nothing of this checkout
but the wheel the step installs. Two things a CI runner has and a test may not are
stood in for, each said where it is done: the runner's `sudo apt-get install` is checked
(the packages are installed here, `make system-deps` installs them), and `pip install`
runs offline (`--no-index --no-deps --no-build-isolation`): the dependencies are this
environment's own, seen through a .pth line, as in tests/test_packaging.py. The GitLab
file must run the same commands, so running one covers both; `uses:` steps are GitHub's
own and are checked for what they are given.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import xmlschema
import yaml
from test_exercise_packs import make_pack

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "authoring.md"
SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parent / "junit" / "junit.xsd"))
APT = re.compile(r"^(?:sudo )?apt-get install -y ((?:[\w.+-]+ ?)+)$")
OFFLINE = ["--no-index", "--no-deps", "--no-build-isolation", "--quiet"]


def _yaml_blocks() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", PAGE.read_text(), flags=re.S)
    return [yaml.safe_load(block) for block in blocks]


def github() -> dict[str, Any]:
    (workflow,) = [b for b in _yaml_blocks() if "jobs" in b]
    return workflow


def gitlab() -> dict[str, Any]:
    (pipeline,) = [b for b in _yaml_blocks() if "script" in b.get("verify", {})]
    return pipeline["verify"]


def _steps() -> list[dict[str, Any]]:
    (job,) = github()["jobs"].values()
    return job["steps"]


def _commands(lines: list[str]) -> list[str]:
    """The commands of a list of shell lines, comments and `&&` chains split."""
    commands = []
    for line in lines:
        for part in line.split("&&"):
            part = re.sub(r"\s+#.*$", "", part).strip()
            if part:
                commands.append(part)
    return commands


def test_gitlab_runs_the_same_commands_as_github() -> None:
    github_runs = _commands([s["run"] for s in _steps() if "run" in s])
    gitlab_runs = [c for c in _commands(gitlab()["script"]) if c != "apt-get update"]
    assert [APT.sub(r"apt-get install -y \1", c).removeprefix("sudo ") for c in github_runs] \
        == gitlab_runs
    assert gitlab()["image"] == "python:3.11"
    assert gitlab()["artifacts"]["reports"]["junit"] == _upload()["path"]


def _upload() -> dict[str, Any]:
    (upload,) = [s for s in _steps() if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload.get("if") == "always()"  # the report of a failing verify is kept too
    return upload["with"]


def _fresh_venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300)
    site = subprocess.run([str(where / "bin" / "python"), "-c", "import sysconfig; "
                           "print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    (Path(site) / "_ci_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return where / "bin"


def _run_step(command: str, repository: Path, env: dict[str, str]) -> str:
    """Run one command of the workflow; its output."""
    apt = APT.match(command)
    if apt:  # the runner's root: here, the packages must already be there
        for package in apt.group(1).split():
            installed = subprocess.run(["dpkg", "-s", package], capture_output=True, text=True)
            assert installed.returncode == 0, f"{package} is not installed ({command})"
        return ""
    if command.startswith("pip install "):
        command = "pip install " + " ".join(OFFLINE) + command[len("pip install"):]
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=repository,
                          env=env, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


@pytest.mark.slow
def test_the_github_workflow_verifies_the_pack_as_written(wheel: Path, tmp_path: Path) -> None:
    steps = _steps()
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    repository = tmp_path / "course"
    make_pack(repository / "week4-pack")
    bin_dir = _fresh_venv(tmp_path / "venv")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "GRADER_WHEEL": str(wheel), "VIRTUAL_ENV": str(bin_dir.parent)}
    env.pop("PYTHONPATH", None)

    said = {command: _run_step(command, repository, env)
            for step in steps if "run" in step for command in _commands([step["run"]])}

    (verify,) = [out for command, out in said.items() if command.startswith("grader verify")]
    assert "verifying my-happy: 9 grading(s) of 1 reference(s)" in verify
    assert "✔ solution.py, seed 42, secret 0: 100 / 100 (graded)" in verify
    assert verify.rstrip().endswith("verified: every grading of my-happy has full marks")

    located = subprocess.run(["python", "-c", "import grader; print(grader.__file__)"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert Path(located.stdout.strip()).is_relative_to(tmp_path / "venv"), "not the wheel"
    reports = sorted(repository.glob(_upload()["path"]))
    assert reports, "no JUnit file where the upload step looks"
    for report in reports:
        SCHEMA.validate(str(report))
        tree = SCHEMA.to_dict(str(report))
        suites = tree.get("testsuite", [tree])
        assert suites and all(int(s["@failures"]) == 0 and int(s["@errors"]) == 0
                              for s in suites)
        # default verify: 3 seeds x 3 course secrets of the pack's one reference
        assert sum(int(s["@tests"]) for s in suites) >= 9
