"""JUnit XML: the format every CI shows natively (GitHub through a reporter action, GitLab's
`artifacts:reports:junit`, Jenkins' junit step).

Why JUnit and this shape: a course's pipeline wants to see *which* check of *which*
grading failed without reading JSON. So each grading is one test case (it fails when it
scored below full marks, or below `--fail-under`) and each of its checks another (it
fails when it lost points), grouped in one test suite per reference or per command run.
The Ant/Jenkins dialect is written (testsuites > testsuite > testcase > failure |
skipped | system-out), the one all three read.

Text in a result can come from a student (messages quote their code and output): XML 1.0
cannot carry most control characters at all, so they are replaced, never passed through.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.results.result import GradeResult

# What XML 1.0 cannot hold: C0 controls but tab, newline, return; surrogates; U+FFFE/F.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Case:
    name: str
    classname: str
    seconds: float = 0.0
    failure: str | None = None  # one line: why it failed
    skipped: str | None = None  # why it was not judged
    output: str = ""


def clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def grading_cases(result: GradeResult, classname: str, label: str,
                  fail_under: float | None = None) -> list[Case]:
    """A grading and its checks as test cases. The grading fails when it scored below
    `fail_under` (None: below full marks) or did not reach "graded"; a check fails when it
    lost points, and is skipped when it was not judged."""
    bar = result.max_score if fail_under is None else fail_under
    summary = f"{result.score:g} / {result.max_score:g} ({result.status})"
    failure = None
    if result.status != "graded":
        failure = f"{result.status}: {(result.error or '').strip()[:500]}"
    elif result.score < bar:
        failure = f"scored {result.score:g} / {result.max_score:g}, below {bar:g}"
    cases = [Case(label, classname, float(result.timings.get("total", 0.0) or 0.0), failure,
                  output=summary)]
    for check in result.checks:
        name = f"{label} :: {check.id}"
        if check.status == "not_judged":
            cases.append(Case(name, classname, skipped=check.message or "not judged"))
        elif check.score < check.max_score:
            cases.append(Case(name, classname, failure=f"{check.score:g} / "
                              f"{check.max_score:g}: {check.message}"))
        else:
            cases.append(Case(name, classname, output=check.message or check.status))
    return cases


def write(path: Path, suites: Mapping[str, Sequence[Case]], name: str = "grader") -> None:
    """Write `suites` (suite name -> its cases) as one JUnit XML file, atomically."""
    root = ET.Element("testsuites", name=clean(name))
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    total_seconds = 0.0
    for suite_name, cases in suites.items():
        failures = sum(c.failure is not None for c in cases)
        skipped = sum(c.skipped is not None and c.failure is None for c in cases)
        seconds = sum(c.seconds for c in cases)
        suite = ET.SubElement(root, "testsuite", name=clean(suite_name),
                              tests=str(len(cases)), failures=str(failures), errors="0",
                              skipped=str(skipped), time=f"{seconds:.3f}")
        for case in cases:
            element = ET.SubElement(suite, "testcase", name=clean(case.name),
                                    classname=clean(case.classname),
                                    time=f"{case.seconds:.3f}")
            if case.failure is not None:
                first = clean(case.failure.splitlines()[0] if case.failure else "failed")
                ET.SubElement(element, "failure", message=first[:300]).text = \
                    clean(case.failure)
            elif case.skipped is not None:
                ET.SubElement(element, "skipped", message=clean(case.skipped)[:300])
            if case.output:
                ET.SubElement(element, "system-out").text = clean(case.output)
        totals["tests"] += len(cases)
        totals["failures"] += failures
        totals["skipped"] += skipped
        total_seconds += seconds
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    root.set("time", f"{total_seconds:.3f}")
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    ET.ElementTree(root).write(partial, encoding="utf-8", xml_declaration=True)
    os.replace(partial, path)
