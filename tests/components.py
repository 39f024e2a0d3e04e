"""What the machine must offer the tests, and what happens when it does not.

On a developer's machine a missing component skips the tests that need it, with the
reason. Under CI (the CI variable set, as .ci/run does) it FAILS them: a test that skips
in CI has tested nothing, and a green run must mean the sandbox, the cgroups, the browser
and the database were really exercised.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(available: bool, what: str) -> None:
    """Go on only if `available`; otherwise skip, or fail under CI, naming `what`."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} (CI is set: a required component must be here, not skipped)",
                    pytrace=False)
    pytest.skip(what)


def bubblewrap() -> None:
    from grader.run import sandbox

    require(sandbox.bubblewrap_works(),
            "bubblewrap cannot start a sandbox here (apt-get install bubblewrap)")


def cgroup(controller: str) -> None:
    from grader.run import cgroups

    require(cgroups.availability()[controller],
            f"no {controller} cgroup can be created on this machine")


def chromium() -> None:
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")


def postgresql() -> Path | None:
    """The folder of initdb and pg_ctl (Debian's postgresql package), if installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None
