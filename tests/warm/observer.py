# The next submission after tests/warm/leaver.py: looks for anything it left and prints
# what it found (tests/test_warm_runs.py reads the printed line).
import os
import subprocess
import sys
import threading

import tensorflow as tf

MARK = "LEFTOVER-FROM-LEAVER"
found = []
if "leftover_module" in sys.modules:
    found.append("module in sys.modules")
if getattr(tf.keras, "LEFTOVER", None) == MARK or tf.keras.layers.Dense is None:
    found.append("patched tf.keras")
if MARK in os.environ.values():
    found.append("environment variable")
if any(t.name == MARK for t in threading.enumerate()):
    found.append("thread")
processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
if "3599.5" in processes:
    found.append("child process")
for root in {os.getcwd(), os.path.expanduser("~"), "/tmp", "/dev/shm", "/grader/run"}:
    for folder, _, files in os.walk(root):
        for name in files:
            if name in ("sitecustomize.py", "usercustomize.py", "zz_leftover.pth",
                        "leftover_module.py", "filler"):
                found.append(os.path.join(folder, name))
print("LEFTOVERS:", ", ".join(found) or "none", flush=True)
