"""`.ci/run` is what every CI runs: it must set CI=true itself (so a missing bubblewrap,
Chromium, PostgreSQL or nginx fails the tests that need it, wherever it runs) and then run
the README's test command, `make test`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_run_sets_ci_and_runs_make_test_even_where_the_runner_did_not(
        tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    fake_make = tmp_path / "make"  # stands in for make: records what it was given
    fake_make.write_text(f'#!/bin/sh\necho "CI=$CI args=$*" > {seen}\n')
    fake_make.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PATH"] = f"{tmp_path}:{env.get('PATH', '/usr/bin:/bin')}"

    subprocess.run(["bash", str(ROOT / ".ci" / "run")], env=env, check=True, timeout=60)

    assert seen.read_text().strip() == "CI=true args=test"
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme  # the README's test command is the one CI runs
