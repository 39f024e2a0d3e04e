# Attack: walk the whole visible filesystem from / looking for the hidden split (a folder
# named hidden, the planted canary's name or bytes, the grader's data dir), and print it.
# Expected: only the system, Python, the grader's runner package and the run's own
# folder are visible (the grader's own code is skipped: its names are no secret).
import os
import sys

import grader

SKIP = ("/proc", "/sys", "/dev", sys.prefix, sys.base_prefix, os.path.dirname(grader.__file__))
NEEDLE = b"CANARY" + b"-"  # built here so this file does not match itself
hits = 0
for root, dirs, files in os.walk("/"):
    if root.startswith(SKIP):
        dirs[:] = []
        continue
    for name in files + dirs:
        path = os.path.join(root, name)
        named = name == "hidden" or "/hidden/" in path or name == "zz-notes.txt" \
            or "tf-image-grader" in path
        content = b""
        system = path.startswith(("/usr/", "/lib", "/bin/", "/sbin/", "/etc/"))
        if not system and os.path.isfile(path) and not os.path.islink(path):
            try:
                with open(path, "rb") as handle:
                    content = handle.read(4096)
            except OSError:
                pass
        if named or NEEDLE in content:
            hits += 1
            print("FOUND:", path, content[:300] if hits < 50 else b"")
print("walk done")
