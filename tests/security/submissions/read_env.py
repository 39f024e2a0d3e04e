# Attack: read the grader's environment variables (tokens, keys) from os.environ and
# from /proc/<pid>/environ of every visible process. Expected: only the run's own
# variables; the grader's secret never appears.
import os

print("ENV:", dict(os.environ))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            print("PROC-ENV", pid, open(f"/proc/{pid}/environ", "rb").read()[:4000])
        except OSError as exc:
            print("refused:", pid, type(exc).__name__)
