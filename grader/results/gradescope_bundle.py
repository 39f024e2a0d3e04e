"""`grader gradescope-bundle`: the autograder.zip an instructor uploads to Gradescope.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once to build the image,
then runs /autograder/run_autograder for each submission, which must leave
/autograder/results/results.json. The bundle carries this grader as a wheel (the same
artefact `pip install` gets: templates and exercise specs inside), the exercise spec if it
is not an installed one, and the instructor's data if given; the built-in synthetic data
set is drawn at setup.

Both scripts read AUTOGRADER_ROOT (default /autograder) so they can be tested in a temp
folder; run_autograder always writes a results.json, even when the grader cannot start.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader.errors import BundleError
from grader.exercise import EXERCISES_DIR, ExerciseSpec

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # a source checkout, if this is one

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
"$ROOT/venv/bin/pip" install -q "$ROOT/source/{wheel}"
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




def _add_tree(bundle: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            bundle.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")


def _add_script(bundle: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, text)


def build_wheel(folder: Path) -> Path:
    """This grader's wheel, built from the source checkout it runs from."""
    if not (PROJECT_ROOT / "pyproject.toml").is_file():
        raise BundleError("this grader is not run from a source checkout: pass the wheel "
                          "it was installed from with --wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "-q", "-w", str(folder),
                           str(PROJECT_ROOT)], capture_output=True, text=True, timeout=600)
    wheels = sorted(folder.glob("tf_image_grader-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr.strip().splitlines() or ["no wheel was written"])[-1]
        raise BundleError(f"cannot build the grader's wheel: {last[:300]}")
    return wheels[-1]


def build(spec: ExerciseSpec, target: Path, train: Path | None = None,
          hidden: Path | None = None, wheel: Path | None = None) -> Path:
    """Write autograder.zip. `train`/`hidden` are the instructor's data, copied in;
    `wheel` is the grader's wheel (built from this checkout when not given)."""
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
    if wheel is not None and not wheel.is_file():
        raise BundleError(f"{wheel}: no such wheel")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as scratch, \
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as bundle:
        wheel = wheel or build_wheel(Path(scratch))
        bundle.write(wheel, wheel.name)
        _add_script(bundle, "setup.sh", SETUP_SH.format(wheel=wheel.name,
                                                        make_data=make_data))
        _add_script(bundle, "run_autograder", RUN_AUTOGRADER.format(
            exercise=shlex.quote(exercise_arg) if installed else f'"{exercise_arg}"',
            data_flags=data_flags))
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
