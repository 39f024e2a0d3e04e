"""Grader overhead: `grader grade` of the reference module vs `python` running it bare.

Both sides measured in this one run, same data, same thread settings, medians of N.
The grader side includes staging, the sandbox, the probe, saving the model and the
trusted scorer (a second TensorFlow import plus hidden-split scoring).

    python benchmarks/overhead.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "reference" / "happy_or_sad" / "solution.py"


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from grader import datasource, exercise

    spec = exercise.load("happy-or-sad")
    data = datasource.resolve(spec)
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(spec.intra_op_threads),
           "TF_NUM_INTEROP_THREADS": str(spec.inter_op_threads), "PYTHONHASHSEED": "0",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    bare, graded, breakdown = [], [], []
    out = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    grader_cli = str(Path(sys.executable).with_name("grader"))
    for _ in range(args.repeats):
        shutil.copyfile(data.train_zip, "/tmp/happy-or-sad.zip")
        shutil.rmtree("/tmp/h-or-s", ignore_errors=True)
        bare.append(_timed([sys.executable, str(SOLUTION)], env))
        graded.append(_timed([grader_cli, "grade", str(SOLUTION), "--out", str(out)], env))
        result = json.loads((out / "solution" / "result.json").read_text())
        if result["score"] != result["max_score"]:  # a fast wrong grade is no benchmark
            print(f"the reference did not score full marks: {result['checks']}")
            return 1
        breakdown.append(result["timings"])
    bare_median, graded_median = statistics.median(bare), statistics.median(graded)
    print(f"bare python   : median {bare_median:6.2f} s  runs {[round(t, 2) for t in bare]}")
    print(f"grader grade  : median {graded_median:6.2f} s  runs {[round(t, 2) for t in graded]}")
    print(f"  of which run in sandbox {statistics.median(b['run'] for b in breakdown):.2f} s, "
          f"trusted scoring {statistics.median(b['score'] for b in breakdown):.2f} s")
    print(f"overhead ratio: {graded_median / bare_median:.3f} (target <= 1.25)")
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
