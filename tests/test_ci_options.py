"""`--junit FILE` and `--fail-under SCORE` on `grader grade` and `grader batch` (issue 23,
item 2): a course pipeline fails on a low score by the exit code (3) and shows which check
lost points, without reading JSON. Graded on the sample with a syntax error: it cannot run,
so it cannot reach full marks (its `runs` check alone is worth 10 of 100 points)."""

from __future__ import annotations

import argparse
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from samples import SAMPLES

from grader.cli import main
from grader.cli.common import ci_exit
from grader.results.result import GradeResult

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parent / "junit" / "junit.xsd"))
BROKEN = SAMPLES / "syntax_error.ipynb"


def failed_cases(path: Path) -> list[str]:
    return [c.get("name", "") for c in ET.parse(path).getroot().iter("testcase")
            if c.find("failure") is not None]


def test_grade_below_the_bar_exits_3_and_the_junit_names_the_lost_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "grade.xml"
    code = main(["grade", str(BROKEN), "--exercise", "happy-or-sad", "--out",
                 str(tmp_path / "out"), "--fail-under", "100", "--junit", str(junit)])

    assert code == 3
    assert "below --fail-under 100: syntax_error (" in capsys.readouterr().out
    assert (tmp_path / "out" / "syntax_error" / "result.json").exists()  # graded all the same
    SCHEMA.validate(str(junit))
    assert "syntax_error" in failed_cases(junit)
    assert "syntax_error :: runs" in failed_cases(junit)


def test_at_or_above_the_bar_is_0_and_a_negative_bar_is_a_usage_error(tmp_path: Path) -> None:
    graded = GradeResult("a.py", "ada", "happy-or-sad", "graded", 80.0, 100.0)
    timeout = GradeResult("b.py", "bo", "happy-or-sad", "timeout", 80.0, 100.0)
    args = argparse.Namespace(fail_under=80.0, junit=None)

    assert ci_exit(args, [graded], "happy-or-sad") == 0  # 80 is not below 80
    assert ci_exit(args, [graded, timeout], "happy-or-sad") == 3  # not graded: below
    assert ci_exit(argparse.Namespace(fail_under=None, junit=None), [timeout], "x") == 0
    assert main(["grade", str(BROKEN), "--exercise", "happy-or-sad", "--out",
                 str(tmp_path / "out"), "--fail-under", "-1"]) == 2  # before any grading
    assert not (tmp_path / "out").exists()


def test_batch_below_the_bar_exits_3_with_a_case_per_student(tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(BROKEN, folder / "ada.ipynb")
    junit = tmp_path / "batch.xml"

    code = main(["batch", str(folder), "--exercise", "happy-or-sad", "--out",
                 str(tmp_path / "out"), "--fail-under", "50", "--junit", str(junit),
                 "--quiet"])

    assert code == 3
    SCHEMA.validate(str(junit))
    assert "ada" in failed_cases(junit)
