"""Grader overhead: one grading of the reference module and notebook vs `python` running
the same code bare.

Both sides measured in this one run, same data, same thread settings, medians of N. The
grader side includes staging, the sandbox, the probe, saving the model, the callback
test, the trusted scorer and both reports. The notebook's bare side is its code cells as
one script, without the `!wget` line and the `%matplotlib` magic.

Three grader sides: *warm*, a worker that started its warm runner before the submission
arrived (benchmarks/warm_worker.py: what `grader batch`, Dask and service workers do),
timed from the request to the written reports; *cold*, the same worker with every run
starting Python and TensorFlow itself (`--cold`); and `grader grade`, the one-off
command, which pays its own start-up and its zygote's TensorFlow import.

    python benchmarks/overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import GRADER, NOTEBOOK, SOLUTION, notebook_as_script, setting, stage_bare, timed


class Worker:
    """benchmarks/warm_worker.py, started and warmed before the first timed request."""

    def __init__(self, out: Path, env: dict[str, str], cold: bool) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("warm_worker.py")), str(out),
             *(["--cold"] if cold else [])], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, text=True)
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().strip()
        if ready != "ready":
            raise SystemExit(f"the worker did not start: {ready}")

    def grade(self, submission: Path) -> tuple[float, list[str]]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{submission}\n")
        self.process.stdin.flush()
        seconds, *rest = self.process.stdout.readline().split(maxsplit=4)
        return float(seconds), rest

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def _median(values: list[float]) -> float:
    return statistics.median(values)


# (result.timings key, what it is), in the order a grading goes through them
PHASES = (("stage", "staging"), ("run", "the run in its sandbox"),
          ("start_up", "of which start-up (to the runner's first record)"),
          ("training", "of which training"),
          ("score", "trusted scoring"), ("callback_wait", "waiting for the callback test"),
          ("checks", "checks and result"), ("reports", "reports"))


def where_the_time_goes(phases: list[dict[str, float]]) -> str:
    """Medians of each phase of the gradings (benchmarks/warm_worker.py prints them)."""
    shown = []
    for key, name in PHASES:
        values = [p[key] for p in phases if isinstance(p.get(key), (int, float))
                  and p[key] >= 0]
        if values:
            shown.append(f"{name} {_median(values):.2f} s")
    return ", ".join(shown)


def measure(label: str, submission: Path, bare_script: Path, repeats: int,
            env: dict[str, str], train_zip: Path, extra: list[str]) -> bool:
    bare: list[float] = []
    sides: dict[str, list[float]] = {"warm": [], "cold": [], "grader grade": []}
    phases: dict[str, list[dict[str, float]]] = {"warm": [], "cold": []}
    out = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    workers = {"warm": Worker(out, env, cold=False), "cold": Worker(out, env, cold=True)}
    try:
        for _ in range(repeats):
            stage_bare(train_zip)
            shutil.rmtree("/tmp/h-or-s", ignore_errors=True)  # as the course code expects
            bare.append(timed([sys.executable, str(bare_script)], env, cwd=out))
            for side, worker in workers.items():
                seconds, (score, max_score, start, timings) = worker.grade(submission)
                if score != max_score or start != side:  # a fast wrong grade is no benchmark
                    print(f"{label}: {side}: {score}/{max_score}, start {start}")
                    return False
                sides[side].append(seconds)
                phases[side].append(json.loads(timings))
            sides["grader grade"].append(timed([GRADER, "grade", str(submission),
                                                "--exercise", "happy-or-sad", "--out",
                                                str(out), *extra], env))
            result = json.loads((out / submission.stem / "result.json").read_text())
            if result["score"] != result["max_score"]:
                print(f"{label}: the reference did not score full marks: {result['checks']}")
                return False
    finally:
        for worker in workers.values():
            worker.close()
    bare_median = _median(bare)
    print(f"{label}: bare python median {bare_median:6.2f} s  runs "
          f"{[round(t, 2) for t in bare]}")
    for side, times in sides.items():
        print(f"{label}: {side:>12} median {_median(times):6.2f} s  ratio "
              f"{_median(times) / bare_median:.3f}  runs {[round(t, 2) for t in times]}")
        if side in phases:
            print(f"{label}: {'':>12} {where_the_time_goes(phases[side])}")
    print(f"{label}: overhead ratio, warm {_median(sides['warm']) / bare_median:.3f} "
          f"(target <= 0.85), cold {_median(sides['cold']) / bare_median:.3f}")
    shutil.rmtree(out, ignore_errors=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=("module", "notebook"))
    parser.add_argument("--kernel", action="store_true",
                        help="notebooks in a Jupyter kernel (the path before the shell)")
    args = parser.parse_args()
    _, data, env = setting()
    scratch = Path(tempfile.mkdtemp(prefix="bench-bare-"))
    cases = {"module": (SOLUTION, SOLUTION),
             "notebook": (NOTEBOOK, notebook_as_script(NOTEBOOK, scratch / "notebook.py"))}
    extra = ["--kernel"] if args.kernel else []
    ok = all(measure(label, submission, bare, args.repeats, env, data.train_zip, extra)
             for label, (submission, bare) in cases.items()
             if args.only in (None, label))
    shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
