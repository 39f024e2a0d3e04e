"""GradeResult: the one record every report, export and gradebook row is made from.

Versioned (RESULT_SCHEMA); written atomically by the trusted side only. The README's
"Result schema" section documents each field. Every value is held as JSON holds it
(lists, not tuples): a report drawn from a result in memory and one drawn from the same
result read back from result.json must be the same page.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from grader.files import atomic_write

RESULT_SCHEMA = "1.1"  # 1.1: checks carry found, expected, trust, evidence; review


def as_json(value: Any) -> Any:
    """`value` as it comes back from json.loads: tuples become lists, keys strings."""
    return json.loads(json.dumps(value))


@dataclass
class CheckResult:
    id: str
    title: str
    status: str  # passed | failed | partial | not_judged | not_applicable | not_trusted
    passed: bool | None  # None when not judged or not applicable
    score: float
    max_score: float
    message: str
    hint: str = ""
    found: Any = None  # what the check measured (reports show it as found)
    expected: Any = None  # what the check compared it with
    trust: str = ""  # recomputed | corroborated | review | not_trusted (grader.evidence)
    evidence: str = ""  # one line: what corroborated the check's evidence, or why not

    def __post_init__(self) -> None:
        self.found, self.expected = as_json(self.found), as_json(self.expected)


@dataclass
class GradeResult:
    submission: str
    student: str
    exercise: str
    status: str  # graded | error | timeout
    score: float
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    compat_notes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    stdout_tail: str = ""
    stderr_tail: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    sandbox: str = "none"
    submission_sha256: str = ""
    grader_version: str = ""
    exercise_version: str = ""
    review: list[str] = field(default_factory=list)  # why a person should look (evidence)
    schema: str = RESULT_SCHEMA
    details: dict[str, Any] = field(default_factory=dict)  # architecture, settings, curves

    def __post_init__(self) -> None:
        self.metrics, self.details = as_json(self.metrics), as_json(self.details)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=False)

    def write(self, path: Path) -> None:
        atomic_write(path, self.to_json())

    @classmethod
    def from_json(cls, text: str) -> GradeResult:
        raw = json.loads(text)
        known = {f.name for f in fields(CheckResult)}
        raw["checks"] = [CheckResult(**{k: v for k, v in c.items() if k in known})
                         for c in raw.get("checks", [])]
        return cls(**{k: v for k, v in raw.items() if k in {f.name for f in fields(cls)}})
