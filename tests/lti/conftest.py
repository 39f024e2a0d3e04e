"""The LTI tests' fixtures live in lti_fixtures.py (a unique module name); this registers
them, and puts the service tests' helpers (tests/service) on the path."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "service"))

from lti_fixtures import lms, lms_on_each_database  # noqa: E402, F401 - fixtures
from service_fixtures import postgres  # noqa: E402, F401 - the server, once per session
