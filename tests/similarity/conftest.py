"""Fixtures for the similarity tests (data and helpers: similarity_fixtures.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from similarity_disguise import write_notebook  # noqa: E402
from similarity_fixtures import STAND_IN_TEMPLATE  # noqa: E402


@pytest.fixture
def stand_in_template(tmp_path: Path) -> Path:
    """The exercise's starter notebook as a course hands it out (a stand-in)."""
    return write_notebook(tmp_path / "starter.ipynb", STAND_IN_TEMPLATE)
