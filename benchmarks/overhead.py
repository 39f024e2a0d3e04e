"""Grader overhead: `grader grade` of the reference module and notebook vs `python` running
the same code bare.

Both sides measured in this one run, same data, same thread settings, medians of N. The
grader side includes staging, the sandbox, the probe, saving the model and the trusted
scorer (a second TensorFlow import plus hidden-split scoring). The notebook's bare side is
its code cells as one script, without the `!wget` line and the `%matplotlib` magic.

    python benchmarks/overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from common import GRADER, NOTEBOOK, SOLUTION, notebook_as_script, setting, stage_bare, timed


def measure(label: str, submission: Path, bare_script: Path, repeats: int,
            env: dict[str, str], train_zip: Path, extra: list[str]) -> bool:
    bare, graded, breakdown = [], [], []
    out = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    for _ in range(repeats):
        stage_bare(train_zip)
        shutil.rmtree("/tmp/h-or-s", ignore_errors=True)  # as the course code expects
        bare.append(timed([sys.executable, str(bare_script)], env, cwd=out))
        graded.append(timed([GRADER, "grade", str(submission), "--exercise", "happy-or-sad",
                             "--out", str(out), *extra], env))
        result = json.loads((out / submission.stem / "result.json").read_text())
        if result["score"] != result["max_score"]:  # a fast wrong grade is no benchmark
            print(f"{label}: the reference did not score full marks: {result['checks']}")
            return False
        breakdown.append(result["timings"])
    bare_median, graded_median = statistics.median(bare), statistics.median(graded)
    print(f"{label}: bare python median {bare_median:6.2f} s  runs "
          f"{[round(t, 2) for t in bare]}")
    print(f"{label}: grader grade median {graded_median:6.2f} s  runs "
          f"{[round(t, 2) for t in graded]}")
    print(f"{label}:   of which run in sandbox "
          f"{statistics.median(b['run'] for b in breakdown):.2f} s, trusted scoring "
          f"{statistics.median(b['score'] for b in breakdown):.2f} s")
    print(f"{label}: overhead ratio {graded_median / bare_median:.3f} (target <= 1.10)")
    shutil.rmtree(out, ignore_errors=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
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
