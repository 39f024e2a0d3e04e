"""`python -m grader.runner CONFIG`: the process the sandbox starts for one submission."""

import json
import os
import sys

from grader.runner.execute import run_module, run_notebook


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m grader.runner RUN_CONFIG.json", file=sys.stderr)
        return 2
    config_path = sys.argv[1]
    with open(config_path) as handle:
        kind = json.load(handle)["kind"]
    execution = run_notebook(config_path) if kind == "notebook" else run_module(config_path)
    return 0 if execution is not None else 1


if __name__ == "__main__":
    status = main()
    # trace.json, execution.json and model.keras are written atomically already: skip the
    # interpreter teardown TensorFlow makes slow (threads, atexit hooks of student code).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
