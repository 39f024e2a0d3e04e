"""Batch throughput: `grader batch --jobs 2` of 16 submissions vs the same 16 scripts run
bare two at a time (`xargs -P 2`), and the memory of both; warm (the default) and
`--cold` side by side.

Each of the 16 students hands in the reference module (so every grading trains to the
end). Medians of N, all sides in this one run, same data and thread settings. Memory:
the peak resident memory of the whole batch (every process under `grader batch`) and of
each worker with everything it started (its zygote, the sandbox, the callback test),
sampled from /proc. The students' runs alone (each run's CPU time, from its cgroup, as
`result.json` records it) bound the throughput any grading can reach: the student's code
must run, so the class can go at most bare/run times as fast as bare, whatever the
trusted side costs.

    python benchmarks/batch.py [--repeats 3] [--students 16] [--jobs 2]
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


def grader_batch(folder: Path, out: Path, jobs: int, env: dict[str, str],
                 cold: bool) -> tuple[float, int, int, float, float]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    process = subprocess.Popen([GRADER, "batch", str(folder), "--out", str(out), "--jobs",
                                str(jobs), "--quiet", *(["--cold"] if cold else [])],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=env)
    with TreeMemory(process.pid) as memory:
        process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit("grader batch failed")
    results = [json.loads(p.read_text()) for p in out.glob("*/result.json")]
    scores = [result["score"] for result in results]
    if len(scores) != len(list(folder.glob("*.py"))) or min(scores) != 100:
        raise SystemExit(f"not every reference copy scored full marks: {scores}")
    per_worker = max(memory.peak_per_child.values(), default=0)
    run_cpu = sum(result["timings"]["run_cpu"] for result in results)
    return seconds, memory.peak_total, per_worker, memory.cpu_seconds, run_cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--students", type=int, default=16)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    _, data, env = setting()
    scratch = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    folder = make_class(scratch / "class", args.students)
    bare, bare_memory, bare_cpu = [], [], []
    sides = ("warm", "cold")
    graded: dict[str, list[float]] = {side: [] for side in sides}
    batch_memory: dict[str, list[int]] = {side: [] for side in sides}
    worker_memory: dict[str, list[int]] = {side: [] for side in sides}
    graded_cpu: dict[str, list[float]] = {side: [] for side in sides}
    run_cpu: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(args.repeats):
        stage_bare(data.train_zip)
        seconds, peak, cpu = bare_batch(folder, args.jobs, env)
        bare.append(seconds)
        bare_memory.append(peak)
        bare_cpu.append(cpu)
        for side in sides:
            seconds, peak, worker, cpu, runs = grader_batch(
                folder, scratch / "out", args.jobs, env, cold=side == "cold")
            graded[side].append(seconds)
            batch_memory[side].append(peak)
            worker_memory[side].append(worker)
            graded_cpu[side].append(cpu)
            run_cpu[side].append(runs)
    bare_median = statistics.median(bare)
    per_bare = statistics.median(bare_cpu) / args.students
    print(f"{args.students} submissions, {args.jobs} at a time, medians of {args.repeats}")
    print(f"bare (xargs -P {args.jobs}) : {bare_median:6.2f} s  runs "
          f"{[round(t, 2) for t in bare]}; CPU per submission {per_bare:.1f} s")
    print(f"peak memory, bare pair of scripts : {max(bare_memory) / GB:.2f} GB")
    for side in sides:
        median = statistics.median(graded[side])
        per_graded = statistics.median(graded_cpu[side]) / args.students
        print(f"grader batch --jobs {args.jobs} ({side}): {median:6.2f} s  runs "
              f"{[round(t, 2) for t in graded[side]]}")
        print(f"  throughput {bare_median / median:.2f}x bare (target >= 1.5 warm); CPU "
              f"per submission {per_graded:.1f} s, {per_graded / per_bare:.2f}x bare "
              f"(target <= 0.67 warm)")
        per_run = statistics.median(run_cpu[side]) / args.students
        print(f"  the students' runs alone {per_run:.1f} CPU-s per submission, "
              f"{per_run / per_bare:.2f}x bare: a grading that runs them reaches at most about "
              f"{per_bare / per_run:.2f}x bare throughput")
        print(f"  peak memory, whole batch {max(batch_memory[side]) / GB:.2f} GB; one worker "
              f"with its runs {max(worker_memory[side]) / GB:.2f} GB (target <= 1.2 GB)")
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
