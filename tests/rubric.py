"""The Happy-or-Sad spec and its rubric parameters, shared by the check tests."""

from __future__ import annotations

from typing import Any

from grader import exercise

SPEC = exercise.load("happy-or-sad")


def params(check_id: str) -> dict[str, Any]:
    item = SPEC.rubric_item(check_id)
    assert item is not None, f"{check_id} is not in the happy-or-sad rubric"
    return item.params
