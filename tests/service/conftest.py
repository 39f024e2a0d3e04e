"""The service tests' fixtures live in service_fixtures.py (a unique module name, so the
tests can import its helpers whatever else is called conftest); this registers them."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service_fixtures import (  # noqa: E402, F401 - fixtures, registered by import
    cheap_passwords,
    course,
    database,
    databases,
    postgres,
    service_factory,
)
