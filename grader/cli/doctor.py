"""`grader doctor`: what this machine offers the grader, one line per thing, before grading.

Why: the grader degrades instead of failing (no bubblewrap → no sandbox, no cgroup → no
memory limit), and a result's notes say so only after the fact. An instructor setting up
a machine wants to know first. Exit 0 whatever is missing, unless grading cannot work at
all (TensorFlow cannot be imported, or no exercise spec loads).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")


def _isolation() -> list[str]:
    from grader.run import cgroups, sandbox

    bwrap = shutil.which("bwrap")
    if not bwrap:
        lines = ["bubblewrap: NOT FOUND — grader batch, serve and verify refuse to grade "
                 "(--no-sandbox would run submissions WITHOUT a sandbox); grade and check "
                 "fall back with a warning (install the 'bubblewrap' package)"]
    elif sandbox.bubblewrap_works():
        how = (f"as root: namespaces made by bwrap, the run drops to uid {sandbox.SANDBOX_UID}"
               if os.geteuid() == 0 else "unprivileged user namespace")
        lines = [f"bubblewrap: usable ({bwrap}; {how})"]
    else:
        lines = [f"bubblewrap: {bwrap} found but cannot start a sandbox here — grader "
                 "batch, serve and verify refuse to grade (--no-sandbox would run submissions "
                 "WITHOUT a sandbox); grade and check fall back with a warning"]
    try:
        count = int(Path("/proc/sys/user/max_user_namespaces").read_text())
        lines.append(f"user namespaces: {'available' if count > 0 else 'DISABLED'} "
                     f"(max_user_namespaces={count})")
    except (OSError, ValueError):
        lines.append("user namespaces: unknown (no /proc/sys/user/max_user_namespaces)")
    cgroups = cgroups.availability()
    lines.append("cgroup memory: " + ("usable (per-run memory limit enforced)"
                                      if cgroups["memory"] else
                                      "NOT usable — the memory limit is not enforced"))
    lines.append("cgroup pids: " + ("usable (per-run process/thread limit)"
                                    if cgroups["pids"] else
                                    "NOT usable — falls back to RLIMIT_NPROC for the "
                                    "sandbox uid"))
    lines.append("cgroup CPU time: " + ("usable (the time limit counts each run's CPU time)"
                                        if cgroups["cpu"] else
                                        "NOT usable — the time limit counts the CPU time of "
                                        "the run's processes as /proc shows them"))
    return lines


def _warm_trial(threads: int = 1) -> str:
    """A warm run of the runner's usage message, end to end: "" when it works, else why
    not."""
    import tempfile

    from grader.run import sandbox, stage, warm

    if reason := warm.disabled_reason():
        return reason
    server = warm.zygote(threads)
    if server is None:
        return warm.failure() or "the warm runner would not start"
    folder = Path(tempfile.mkdtemp(prefix="grader-run-"))
    try:
        for name in ("tmp", "home", "work"):
            (folder / name).mkdir()

        def inside(path: Path) -> str:
            return f"{stage.RUN_ROOT_IN_SANDBOX}/{path.relative_to(folder).as_posix()}"

        outcome = sandbox.run(folder, [sys.executable, "-m", "grader.runner"],
                              stage.environment(inside, folder, threads),
                              inside(folder / "work"), sandbox.RunLimits(time_seconds=60),
                              True, warm=server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if outcome.start != "warm":
        return "a run could not be handed to the warm runner (it started cold)"
    if "usage: python -m grader.runner" not in outcome.stderr_tail:
        return f"a warm run did not run the runner: {outcome.message or outcome.stderr_tail}"
    return ""


def _warm_runs() -> str:
    """Whether runs are forked warm (grader.run.warm) here, tried end to end."""
    from grader.run import warm

    started = time.monotonic()
    reason = _warm_trial()
    warm.close_all()
    if reason:
        return f"warm runs: NOT available — {reason}; every run starts Python and " \
               "TensorFlow itself (cold), which costs about 4 s per run"
    return (f"warm runs: available (a zygote imported TensorFlow and forked a run into its "
            f"own sandbox in {time.monotonic() - started:.1f} s)")


def _tensorflow() -> tuple[str, bool]:
    """Imported in a child process: the version as TensorFlow itself reports it, and
    whether the import works at all (a broken wheel fails here, not mid-batch)."""
    started = time.monotonic()
    try:
        probe = subprocess.run([sys.executable, "-c", "import tensorflow, keras; "
                                "print(tensorflow.__version__, keras.__version__)"],
                               capture_output=True, timeout=180,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        ok = probe.returncode == 0
        text = probe.stdout if ok else probe.stderr
        last = (text.decode("utf-8", "replace").strip().splitlines() or [""])[-1][:200]
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, last = False, str(exc)
    seconds = time.monotonic() - started
    if ok:
        tf_version, _, keras_version = last.partition(" ")
        return (f"tensorflow: {tf_version} (keras {keras_version}) importable "
                f"(import took {seconds:.1f} s)"), True
    return f"tensorflow: NOT importable: {last}", False


def _data() -> tuple[list[str], bool]:
    from grader import exercise
    from grader.exercise import datasets
    from grader.exercise.datasource import default_data_dir

    lines, loaded = [], False
    data_dir = default_data_dir()
    for name, path in exercise.available().items():
        try:
            spec = exercise.load(path)
        except exercise.SpecError as exc:
            lines.append(f"exercise {name}: spec does not load: {exc}")
            continue
        loaded = True
        if spec.train_source is not None and spec.hidden_source is not None:
            lines.append(f"data {name}: instructor's (train {spec.train_source}, hidden "
                         f"{spec.hidden_source})")
            continue
        root = data_dir / spec.dataset
        present = (root / "dataset.json").is_file() and (root / "hidden").is_dir()
        version = datasets.VERSIONS.get(spec.dataset)
        lines.append(f"data {name}: built-in {spec.dataset} "
                     + (f"present at {root}" if present else
                        f"not built yet at {root} (drawn on first use, or "
                        f"`grader data make {spec.dataset}`)")
                     + (f", generator {version}" if version else ""))
    return lines or ["exercises: none installed"], loaded


def _browsers() -> list[str]:
    chromium = "present" if CHROMIUM.exists() else "absent"
    playwright = "importable" if importlib.util.find_spec("playwright") else "not installed"
    return [f"browser: {CHROMIUM} {chromium}; playwright {playwright} "
            "(only the report screenshot tests use them)"]


def lines() -> list[str]:
    """Everything doctor reports, one line each."""
    return _report()[0]


def _report() -> tuple[list[str], bool]:
    from grader import __version__

    out = [f"grader {__version__} on Python {sys.version.split()[0]} ({sys.executable})"]
    out += _isolation()
    out.append(_warm_runs())
    tf_line, tf_ok = _tensorflow()
    out.append(tf_line)
    data_lines, specs_ok = _data()
    out += data_lines
    out += _browsers()
    return out, tf_ok and specs_ok


def add_parsers(commands: Any) -> None:
    doctor = commands.add_parser("doctor", help="what isolation, TensorFlow, data and "
                                 "browsers this machine offers")
    doctor.set_defaults(handler=lambda args: main())


def main() -> int:
    """Print the report; 1 only when grading cannot work at all."""
    report, usable = _report()
    for line in report:
        print(line)
    if not usable:
        print("grader doctor: grading cannot work on this machine (see above)",
              file=sys.stderr)
    return 0 if usable else 1
