"""The IPython-shell executor (the default, no kernel start-up) grades a notebook exactly as
the Jupyter-kernel executor does: same cells run, same training, same grade."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader.grade import GradeOptions, grade_file
from grader.results.result import GradeResult

pytestmark = pytest.mark.slow
NOTEBOOK = Path(__file__).resolve().parent.parent / "reference" / "happy_or_sad" / \
    "solution.ipynb"


@pytest.fixture(scope="module")
def by_executor(spec, data) -> dict[str, GradeResult]:  # noqa: ANN001
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(grade_file, NOTEBOOK, spec, data,
                                     GradeOptions(notebook_executor=name))
                   for name in ("shell", "kernel")}
        return {name: future.result() for name, future in futures.items()}


def test_both_executors_give_full_marks(by_executor: dict[str, GradeResult]) -> None:
    for name, result in by_executor.items():
        assert result.score == result.max_score == 100, (name, [
            (c.id, c.message) for c in result.checks if c.passed is False])
        assert result.details["execution"]["executor"] == name


def test_same_cells_same_training(by_executor: dict[str, GradeResult]) -> None:
    shell, kernel = by_executor["shell"], by_executor["kernel"]
    for key in ("code_cells", "cells_run", "ran_to_end", "kernel_died"):
        assert shell.details["execution"][key] == kernel.details["execution"][key], key
    assert shell.details["epochs"] == kernel.details["epochs"]
    assert shell.metrics["hidden_accuracy"] == kernel.metrics["hidden_accuracy"]
    assert "served from the grader's local copy" in shell.stdout_tail  # !wget ran
