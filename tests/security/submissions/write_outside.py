# Attack: write outside the run folder — into the system, the grader's own package (to
# change how the next submission is graded), Python's site-packages, the grader's home
# and the filesystem root. Expected: every write fails (read-only or not mounted).
import os
import sys

import grader

targets = [
    "/usr/grader-pwned", "/etc/grader-pwned", "/grader-pwned", "/root/grader-pwned",
    os.path.join(os.path.dirname(grader.__file__), "grader-pwned.py"),
    os.path.join(os.path.dirname(os.__file__), "grader-pwned.py"),
    os.path.join(sys.prefix, "grader-pwned"),
    "/grader/grader-pwned", "/run/../grader-pwned",
]
for target in targets:
    try:
        with open(target, "w") as handle:
            handle.write("pwned")
        print("WROTE:", target)
    except OSError as exc:
        print("refused:", target, type(exc).__name__)
try:
    with open(os.path.join(os.path.dirname(grader.__file__), "runner", "probe.py"), "a") as h:
        h.write("\n# pwned\n")
    print("WROTE: runner/probe.py")
except OSError as exc:
    print("refused: probe.py", type(exc).__name__)
