"""GradeResult: the one record every report, export and gradebook row is made from.

Versioned (RESULT_SCHEMA); written atomically by the trusted side only. The README's
"Result schema" section documents each field.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULT_SCHEMA = "1.0"


@dataclass
class CheckResult:
    id: str
    title: str
    status: str  # passed | failed | partial | not_judged | not_applicable
    passed: bool | None  # None when not judged or not applicable
    score: float
    max_score: float
    message: str
    hint: str = ""


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
    schema: str = RESULT_SCHEMA
    details: dict[str, Any] = field(default_factory=dict)  # architecture, settings, curves

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=False)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_json())
        os.replace(tmp, path)

    @classmethod
    def from_json(cls, text: str) -> GradeResult:
        raw = json.loads(text)
        raw["checks"] = [CheckResult(**c) for c in raw.get("checks", [])]
        return cls(**raw)
