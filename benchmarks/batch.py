"""Batch throughput: `grader batch --jobs 2` of 8 submissions vs the same 8 scripts run
bare two at a time (`xargs -P 2`), and the memory of both.

Each of the 8 students hands in the reference module (so every grading trains to the
end). Medians of N, both sides in this one run, same data and thread settings. Memory:
the peak resident memory of the whole batch (every process under `grader batch`) and of
each worker with everything it started (sandbox, kernel, scorer), sampled from /proc.

    python benchmarks/batch.py [--repeats 3] [--students 8] [--jobs 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import GRADER, TreeMemory, make_class, setting, stage_bare

GB = 1024 ** 3


def bare_batch(folder: Path, jobs: int, env: dict[str, str]) -> tuple[float, int, float]:
    files = "\n".join(str(p) for p in sorted(folder.glob("*.py")))
    started = time.perf_counter()
    process = subprocess.Popen(["xargs", "-P", str(jobs), "-n", "1", sys.executable],
                               stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env, cwd=folder)
    with TreeMemory(process.pid) as memory:
        process.communicate(files.encode())
    if process.returncode != 0:
        raise SystemExit("a bare script failed")
    return time.perf_counter() - started, memory.peak_total, memory.cpu_seconds


def grader_batch(folder: Path, out: Path, jobs: int,
                 env: dict[str, str]) -> tuple[float, int, int, float]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    process = subprocess.Popen([GRADER, "batch", str(folder), "--out", str(out), "--jobs",
                                str(jobs), "--quiet"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
    with TreeMemory(process.pid) as memory:
        process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit("grader batch failed")
    scores = [json.loads(p.read_text())["score"] for p in out.glob("*/result.json")]
    if len(scores) != len(list(folder.glob("*.py"))) or min(scores) != 100:
        raise SystemExit(f"not every reference copy scored full marks: {scores}")
    per_worker = max(memory.peak_per_child.values(), default=0)
    return seconds, memory.peak_total, per_worker, memory.cpu_seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    _, data, env = setting()
    scratch = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    folder = make_class(scratch / "class", args.students)
    bare, graded, bare_memory, batch_memory, worker_memory = [], [], [], [], []
    bare_cpu, graded_cpu = [], []
    for _ in range(args.repeats):
        stage_bare(data.train_zip)
        seconds, peak, cpu = bare_batch(folder, args.jobs, env)
        bare.append(seconds)
        bare_memory.append(peak)
        bare_cpu.append(cpu)
        seconds, peak, worker, cpu = grader_batch(folder, scratch / "out", args.jobs, env)
        graded.append(seconds)
        batch_memory.append(peak)
        worker_memory.append(worker)
        graded_cpu.append(cpu)
    bare_median, graded_median = statistics.median(bare), statistics.median(graded)
    print(f"{args.students} submissions, {args.jobs} at a time, medians of {args.repeats}")
    print(f"bare (xargs -P {args.jobs}) : {bare_median:6.2f} s  runs "
          f"{[round(t, 2) for t in bare]}")
    print(f"grader batch --jobs {args.jobs} : {graded_median:6.2f} s  runs "
          f"{[round(t, 2) for t in graded]}")
    print(f"batch ratio: {graded_median / bare_median:.3f} (target <= 1.10)")
    per_bare = statistics.median(bare_cpu) / args.students
    per_graded = statistics.median(graded_cpu) / args.students
    print(f"CPU seconds per submission: bare {per_bare:.1f}, grader {per_graded:.1f} "
          f"(ratio {per_graded / per_bare:.2f})")
    print(f"peak memory, bare pair of scripts : {max(bare_memory) / GB:.2f} GB")
    print(f"peak memory, whole grader batch   : {max(batch_memory) / GB:.2f} GB "
          f"(ratio {max(batch_memory) / max(bare_memory):.2f})")
    print(f"peak memory, one worker + its runs: {max(worker_memory) / GB:.2f} GB "
          f"(target <= 1.2 GB)")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
