"""`grader gradescope-bundle`: the autograder.zip an instructor uploads to Gradescope.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once to build the image,
then runs /autograder/run_autograder for each submission, which must leave
/autograder/results/results.json. The bundle carries this grader's own source (installed
editable, so templates and exercise specs stay beside the package), the exercise spec, and
the instructor's data if given; the built-in synthetic data set is drawn at setup.

Both scripts read AUTOGRADER_ROOT (default /autograder) so they can be tested in a temp
folder; run_autograder always writes a results.json, even when the grader cannot start.
"""

from __future__ import annotations

import shlex
import zipfile
from pathlib import Path

from grader.exercise import EXERCISES_DIR, ExerciseSpec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = "tf-image-grader"
_SOURCE_FILES = ("pyproject.toml", "README.md")
_SOURCE_DIRS = ("grader", "templates")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image (Ubuntu 22.04 or newer).
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
if ! command -v python3.11 >/dev/null 2>&1 || ! command -v bwrap >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq python3.11 python3.11-venv bubblewrap
fi
python3.11 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install -q --upgrade pip
"$ROOT/venv/bin/pip" install -q -e "$ROOT/source/{package}"
{make_data}
echo "autograder ready: $("$ROOT/venv/bin/grader" --version)"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it must leave results/results.json.
set -u
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
GRADER="${{GRADER_BIN:-$ROOT/venv/bin/grader}}"
export GRADER_DATA_DIR="${{GRADER_DATA_DIR:-$ROOT/data}}"
mkdir -p "$ROOT/results"
rm -f "$ROOT/results/results.json"
"$GRADER" grade "$ROOT/submission" --exercise {exercise} {data_flags}\\
  --out "$ROOT/results/grader-out" --gradescope "$ROOT/results/results.json"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '{{"score": 0, "output": "The autograder could not run (exit %s). Your submission \
was not graded; please tell your instructor.", "tests": []}}\\n' "$status" \
    > "$ROOT/results/results.json"
fi
exit 0
"""


class BundleError(ValueError):
    """The bundle cannot be made (one line for the instructor)."""


def _add_tree(bundle: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            bundle.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")


def _add_script(bundle: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, text)


def build(spec: ExerciseSpec, target: Path, train: Path | None = None,
          hidden: Path | None = None) -> Path:
    """Write autograder.zip. `train`/`hidden` are the instructor's data, copied in."""
    if (train is None) != (hidden is None):
        raise BundleError("give both --train and --hidden, or neither (built-in data)")
    installed = spec.source_path.resolve().parent == EXERCISES_DIR.resolve()
    exercise_arg = spec.name if installed else f"$ROOT/source/{spec.source_path.name}"
    data_flags = ""
    make_data = f'GRADER_DATA_DIR="$ROOT/data" "$ROOT/venv/bin/grader" data make ' \
                f'{shlex.quote(spec.dataset)}'
    if train is not None and hidden is not None:
        for path, what in ((train, "training data"), (hidden, "hidden split")):
            if not path.exists():
                raise BundleError(f"{path}: {what} not found")
        train_name = "data/train" + (".zip" if train.is_file() else "")
        data_flags = f'--train "$ROOT/source/{train_name}" --hidden "$ROOT/source/data/hidden" '
        make_data = "# the instructor's data travels in source/data"
    elif spec.train_source is not None or spec.hidden_source is not None:
        raise BundleError("this spec names its own data files: pass them with --train and "
                          "--hidden so they travel in the bundle")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_script(bundle, "setup.sh", SETUP_SH.format(package=PACKAGE_DIR,
                                                        make_data=make_data))
        _add_script(bundle, "run_autograder", RUN_AUTOGRADER.format(
            exercise=shlex.quote(exercise_arg) if installed else f'"{exercise_arg}"',
            data_flags=data_flags))
        for name in _SOURCE_FILES:
            bundle.write(PROJECT_ROOT / name, f"{PACKAGE_DIR}/{name}")
        for name in _SOURCE_DIRS:
            _add_tree(bundle, PROJECT_ROOT / name, f"{PACKAGE_DIR}/{name}")
        if not installed:
            bundle.write(spec.source_path, spec.source_path.name)
        if train is not None and hidden is not None:
            if train.is_file():
                bundle.write(train, "data/train.zip")
            else:
                _add_tree(bundle, train, "data/train")
            _add_tree(bundle, hidden, "data/hidden")
    tmp.replace(target)
    return target
