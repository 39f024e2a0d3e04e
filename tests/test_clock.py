"""The time limit's clock (grader.run.clock): CPU time, with the wall clock as a guard."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from grader.run import clock


def test_the_guard_is_three_times_the_limit_and_a_minute() -> None:
    assert clock.wall_guard(600) == 1860
    assert clock.wall_guard(30) == 150


def test_a_run_over_its_cpu_time_is_stopped_whatever_the_wall_clock_says() -> None:
    used = [5.0]
    run = clock.RunClock.for_run(10, lambda: used[0], root_pid=os.getpid())
    assert run.kind == clock.CPU_CGROUP
    assert run.over() == ""
    used[0] = 10.5
    assert run.over() == "stopped at the 10 s limit on CPU time"
    assert run.cpu_used == 10.5


def test_a_run_that_waits_is_stopped_by_the_guard_with_what_it_had_used() -> None:
    run = clock.RunClock.for_run(10, lambda: 2.0, root_pid=os.getpid(), guard_seconds=0.05)
    time.sleep(0.1)
    message = run.over()
    assert message.startswith("stopped after 0.05 s of wall-clock time")
    assert "used 2 s of its 10 s of CPU time" in message


def test_without_a_cgroup_the_process_tree_is_counted_ended_children_included() -> None:
    """A child that burnt ~0.6 s and was waited for, plus a grandchild still burning:
    both are in the root's total (the first through cutime)."""
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n"
    root = subprocess.Popen([sys.executable, "-c",
                             "import subprocess, sys, time\n"
                             f"subprocess.run([sys.executable, '-c', {burn!r}])\n"
                             "g = subprocess.Popen([sys.executable, '-c', "
                             "'while True: pass'])\n"
                             "print('started', flush=True)\n"
                             "time.sleep(60)\n"], stdout=subprocess.PIPE)
    try:
        assert root.stdout is not None and root.stdout.readline() == b"started\n"
        run = clock.RunClock.for_run(100, None, root.pid)
        assert run.kind == clock.CPU_PROCESSES
        first = clock.tree_cpu_seconds(root.pid)
        assert first is not None and first >= 0.6  # the ended child, through cutime
        deadline = time.monotonic() + 60  # polled: the grandchild burns as it gets a core
        second = first
        while second is not None and second <= first and time.monotonic() < deadline:
            time.sleep(0.05)
            second = clock.tree_cpu_seconds(root.pid)
        assert second is not None and second > first  # the grandchild is counted as it runs
    finally:
        for line in subprocess.run(["pgrep", "-P", str(root.pid)], capture_output=True,
                                   text=True).stdout.split():
            os.kill(int(line), 9)
        root.kill()
        root.wait()


def test_a_gone_root_has_no_cpu_time() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert clock.tree_cpu_seconds(process.pid) is None
