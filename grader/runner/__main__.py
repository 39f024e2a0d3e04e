"""`python -m grader.runner CONFIG`: the process the sandbox starts for one submission."""

import os
import sys

from grader.runner.contract import RunConfig
from grader.runner.execute import run_module, run_notebook


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m grader.runner RUN_CONFIG.json", file=sys.stderr)
        return 2
    config = RunConfig.load(sys.argv[1])
    run = run_notebook if config.kind == "notebook" else run_module
    execution = run(config, sys.argv[1])
    return 0 if execution is not None else 1


if __name__ == "__main__":
    status = main()
    # trace.json, execution.json and model.keras are written atomically already: skip the
    # interpreter teardown TensorFlow makes slow (threads, atexit hooks of student code).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
