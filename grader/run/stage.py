"""A fresh run folder for one submission, with the data where course notebooks expect it.

Layout (host side; the sandbox mounts it at /grader/run, and run/tmp at /tmp):
    work/       the student's working directory (./h-or-s, ./data, ./happy-or-sad.zip)
    tmp/        /tmp inside the run (/tmp/happy-or-sad.zip, /tmp/h-or-s)
    tmp2/       the Coursera hub's f"{getcwd()}/../tmp2/happy-or-sad.zip"
    home/       $HOME, Jupyter runtime and IPython dirs
    downloads/  the local copies served for known download addresses (read-only)
    bin/        offline wget / curl / gdown stand-ins
    artefacts/  trace.json, execution.json, model.keras written by the run
The hidden split is never copied here.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.exercise import ExerciseSpec
from grader.exercise.datasource import DataPaths
from grader.runner.contract import CONFIG_ENV, CONFIG_FILE, Downloads, RunConfig
from grader.submission import Submission

RUN_ROOT_IN_SANDBOX = "/grader/run"  # where the sandbox mounts the run folder

FETCH_TOOLS = ("wget", "curl", "gdown")


@dataclass(frozen=True)
class StagedRun:
    run_dir: Path  # host path
    root: str  # the same folder as the run sees it
    config_path: str  # in-run path of config.json
    workdir: str  # in-run working directory
    env: dict[str, str]
    artefacts: Path  # host path of what the run leaves behind (grader.runner.contract)


def _host_path(run_dir: Path, course_path: str) -> Path:
    """Where a course path ('/tmp/x', './x', '../tmp2/x') lives inside the run folder."""
    posix = PurePosixPath(course_path)
    if posix.is_absolute():
        if posix.parts[1:2] != ("tmp",):
            raise ValueError(f"stage path {course_path} must be under /tmp or relative")
        target = run_dir / "tmp" / Path(*posix.parts[2:])
    else:
        target = run_dir / "work" / Path(*posix.parts)
    resolved = Path(os.path.normpath(target))
    if run_dir not in resolved.parents:
        raise ValueError(f"stage path {course_path} leaves the run folder")
    return resolved


STUB_MODULE = '''"""Stand-in for the course's `{name}` helper module, which is not public.

Written by the grader: every test function it is asked for only says it was skipped;
the grader's own checks judge the same things.
"""

try:
    from grader.runner.recorder import current

    current().note("import {name}: the course's helper module is not public; graded "
                   "without it (a stand-in that skips its tests was imported)")
except Exception:
    pass


def __getattr__(attribute):
    if attribute.startswith("__"):
        raise AttributeError(attribute)

    def skipped(*args, **kwargs):
        print(f"{name}.{{attribute}}: skipped (the course's {name} module is not public; "
              "the grader checks this itself)")

    return skipped
'''


def _stage_zip(run_dir: Path, name: str, source: Path, zip_paths: tuple[str, ...],
               extracted_paths: tuple[str, ...]) -> Path:
    """One course zip: the copy served for downloads, and where notebooks expect it."""
    served = run_dir / "downloads" / name
    shutil.copyfile(source, served)
    served.chmod(0o444)
    for course_path in zip_paths:
        target = _host_path(run_dir, course_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    with zipfile.ZipFile(source) as archive:
        for course_path in extracted_paths:
            archive.extractall(_host_path(run_dir, course_path))
    return served


def prepare(run_dir: Path, submission: Submission, spec: ExerciseSpec, data: DataPaths,
            in_sandbox: bool, notebook_executor: str = "shell") -> StagedRun:
    """The run folder, ready: the submission, the data where the course expects it, the
    run config and the fetch stand-ins. Nothing of the callback test is here: it runs
    apart (grader.run.callback_test), so the run cannot read its runs of epochs."""
    for name in ("work", "tmp", "tmp2", "home", "downloads", "bin", "artefacts"):
        (run_dir / name).mkdir(parents=True, exist_ok=True)
    root = RUN_ROOT_IN_SANDBOX if in_sandbox else str(run_dir)

    def inside(path: Path) -> str:
        return f"{root}/{path.relative_to(run_dir).as_posix()}"

    suffix = ".ipynb" if submission.kind == "notebook" else ".py"
    submission_file = run_dir / "work" / f"submission{suffix}"
    submission_file.write_bytes(submission.data)
    downloads = _stage_data(run_dir, spec, data, inside)
    for name in spec.stub_modules:
        (run_dir / "work" / f"{name}.py").write_text(STUB_MODULE.format(name=name))
    config = RunConfig(
        submission=inside(submission_file), kind=submission.kind,
        workdir=inside(run_dir / "work"), artefacts=inside(run_dir / "artefacts"),
        seed=spec.seed, intra_op_threads=spec.intra_op_threads,
        inter_op_threads=spec.inter_op_threads, entry_function=spec.entry_function,
        downloads=downloads,
        tmp_remap=None if in_sandbox else str(run_dir / "tmp"),
        output_limit_bytes=spec.output_limit_bytes, long_epochs=spec.long_epochs,
        executor=notebook_executor)
    (run_dir / CONFIG_FILE).write_text(config.to_json())
    _write_fetch_tools(run_dir / "bin")
    env = environment(inside, run_dir, spec.intra_op_threads)
    return StagedRun(run_dir, root, env[CONFIG_ENV], config.workdir, env,
                     run_dir / "artefacts")


def _stage_data(run_dir: Path, spec: ExerciseSpec, data: DataPaths,
                inside: Callable[[Path], str]) -> Downloads:
    """Every course zip where the notebooks expect it, and the download addresses that
    each one answers (in-run paths)."""
    zips = {spec.zip_name: (data.train_zip, spec.zip_paths, spec.extracted_paths)}
    if spec.validation_zip_name and data.validation_zip is not None:
        zips[spec.validation_zip_name] = (data.validation_zip, spec.validation_zip_paths,
                                          spec.validation_extracted_paths)
    served = {}
    for name, (source, zip_paths, extracted_paths) in zips.items():
        served[name] = inside(_stage_zip(run_dir, name, source, zip_paths, extracted_paths))
    default = served[spec.zip_name]
    return Downloads(
        urls={d.url: served.get(d.file, default) for d in spec.downloads if d.url},
        gdown_ids={d.gdown_id: served.get(d.file, default) for d in spec.downloads
                   if d.gdown_id})


def _write_fetch_tools(folder: Path) -> None:
    """`wget`, `curl`, … answered from the staged data. The interpreter is named, not given
    by its host path: the run's PATH (the interpreter's folder, mapped by the sandbox to
    its neutral mount) finds it, and the script names no host folder."""
    for tool in FETCH_TOOLS:
        script = folder / tool
        script.write_text(f'#!/bin/sh\nexec "{Path(sys.executable).name}" -m '
                          f'grader.runner.fetch {tool} "$@"\n')
        script.chmod(0o755)


def environment(inside: Callable[[Path], str], run_dir: Path,
                 threads: int) -> dict[str, str]:
    """The run's whole environment: nothing of the grader's own is passed on."""
    home = inside(run_dir / "home")
    return {
        "PATH": f"{inside(run_dir / 'bin')}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": inside(run_dir / "tmp"),
        CONFIG_ENV: inside(run_dir / CONFIG_FILE),
        "JUPYTER_RUNTIME_DIR": f"{home}/.runtime",
        "JUPYTER_DATA_DIR": f"{home}/.jupyter-data",
        "IPYTHONDIR": f"{home}/.ipython",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "OMP_NUM_THREADS": str(threads),
        "LANG": "C.UTF-8",
    }
