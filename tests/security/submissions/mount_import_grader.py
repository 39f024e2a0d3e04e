# Attack: import the grader's own code from inside the run — the data set generator
# (grader.exercise.datasets, once grader.datasets), the exercise specs, the checks and
# the scorer — or find their files anywhere in the sandbox's file system (the checkout,
# a wheel's site-packages, an editable install's finder that names the checkout).
# Expected: every import fails (ModuleNotFoundError), no file is found: "IMPORTED" or
# "FOUND:" in the output fails the suite (tests/security/test_mount_attacks.py).
import importlib
import json
import os
import re
import sys

import grader
import grader.runner

imports = {}
for name in ["grader.exercise", "grader.exercise.datasets", "grader.exercise.datasets.faces",
             "grader.datasets", "grader.exercise.specs", "grader.exercise.spec",
             "grader.exercise.secret", "grader.checks", "grader.scoring", "grader.grade"]:
    try:
        importlib.import_module(name)
        imports[name] = "IMPORTED"
    except ImportError as exc:
        imports[name] = type(exc).__name__
print("IMPORTS", json.dumps(imports, sort_keys=True))

try:
    from importlib import resources
    print("FOUND: specs", sorted(p.name for p in resources.files("grader.exercise.specs").iterdir()))
except Exception as exc:  # noqa: BLE001
    print("specs:", type(exc).__name__)

package = os.path.dirname(grader.__file__)
print("PACKAGE", package, sorted(os.listdir(package)))
for extra in ("exercise", "checks", "scoring", "datasets", "cli"):
    if os.path.exists(os.path.join(package, extra)):
        print("FOUND:", os.path.join(package, extra))

grader_code = re.compile(r"/grader/(exercise|checks|scoring|cli|classwork|results|reports"
                         r"|similarity)(/|$)")
for top, dirs, files in os.walk("/"):
    if top in ("/proc", "/sys", "/dev"):
        dirs[:] = []
        continue
    for name in files + dirs:
        path = os.path.join(top, name)
        if grader_code.search(path) or name in ("happy_or_sad.toml", "course.secret") \
                or (name == "dataset.json" and "happy-or-sad" in path) \
                or "tf_image_grader" in name or name.startswith("__editable__"):
            print("FOUND:", path)
print("SYSPATH", json.dumps(sys.path))
print("MOUNT-IMPORT-DONE")
