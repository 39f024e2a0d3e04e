"""`grader verify`: the reference graded across seeds and secrets, the margins, the samples
against their manifest, JUnit and JSON for a pipeline (issue 23).

The logic is tested with a stand-in for grade_file (results written here by hand, so every
expected margin is a hand calculation); one real verification, of a reference made fragile
on purpose, runs the whole command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.classwork import verify as verifying
from grader.errors import UsageError
from grader.exercise import load
from grader.results import junit
from grader.results.result import CheckResult, GradeResult

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parent / "junit" / "junit.xsd"))
SPEC = load("happy-or-sad")  # full marks from 90 % hidden accuracy, epoch limit 15, 600 s


def result(score: float = 100, hidden: float = 0.97, stop: int | None = 8,
           cpu: float = 12.0, status: str = "graded", lost: str = "callback_stop",
           name: str = "solution.py") -> GradeResult:
    checks = [CheckResult("runs", "Runs", "passed", True, 10, 10, "ran"),
              CheckResult(lost, "Lost", "passed" if score >= 100 else "failed",
                          score >= 100, 10 - (100 - score), 10, "what was found")]
    return GradeResult(name, name.split(".")[0], "happy-or-sad", status, score, 100, checks,
                       metrics={"hidden_accuracy": hidden, "stop_epoch": stop},
                       timings={"run_cpu": cpu, "total": 20.0})


@pytest.fixture
def graded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, int, bytes]]:
    """grade_file and the data folders stood in for: records what would be graded."""
    calls: list[tuple[Path, int, bytes]] = []

    def resolve(spec: Any, data_dir: Path | None = None, secret: bytes | None = None) -> Any:
        return type("Data", (), {"secret": secret or b"course"})()

    def grade_file(path: Path, spec: Any, data: Any, options: Any) -> GradeResult:
        calls.append((path, spec.seed, data.secret))
        SCORED_BY.append((data.secret, options.scorer_socket))
        return result(name=path.name)

    class Service:
        """A scoring service that records its life instead of starting TensorFlow."""

        def __init__(self, spec: Any, data: Any) -> None:
            self.secret = data.secret

        def start(self) -> str:
            SERVICES.append(("started", self.secret))
            return f"socket-of-{self.secret!r}"

        def ensure_running(self) -> None:
            pass

        def stop(self) -> None:
            SERVICES.append(("stopped", self.secret))

    SCORED_BY.clear()
    SERVICES.clear()
    monkeypatch.setattr(verifying.datasource, "resolve", resolve)
    monkeypatch.setattr(verifying, "grade_file", grade_file)
    monkeypatch.setattr(verifying, "ScoringService", Service)
    return calls


SCORED_BY: list[tuple[bytes, str | None]] = []  # (the data's secret, the scorer's socket)
SERVICES: list[tuple[str, bytes]] = []


def test_each_reference_is_graded_for_every_seed_and_secret(
        graded: list[tuple[Path, int, bytes]]) -> None:
    outcome = verifying.verify(SPEC, [Path("a.py"), Path("b.py")], seeds=2, secrets=3)

    assert len(graded) == 2 * 2 * 3
    assert {seed for _, seed, _ in graded} == {42, 43}  # the spec's seed, then the next
    secrets = {secret for _, _, secret in graded}
    assert secrets == {b"course", verifying.derived_secret(1), verifying.derived_secret(2)}
    assert verifying.derived_secret(1) != verifying.derived_secret(2)
    assert len(outcome.gradings) == 12 and outcome.failures() == []


def test_the_gradings_on_one_data_folder_share_one_scorer(
        graded: list[tuple[Path, int, bytes]]) -> None:
    """Like `grader batch`, one scoring service per course secret's data folder: 2
    references x 2 seeds on each of 3 folders start 3 services, not 12 one-off scorers;
    every grading on a folder is scored by that folder's service, and all are stopped."""
    verifying.verify(SPEC, [Path("a.py"), Path("b.py")], seeds=2, secrets=3)
    folders = [b"course", verifying.derived_secret(1), verifying.derived_secret(2)]
    assert sorted(SERVICES) == sorted([("started", f) for f in folders]
                                      + [("stopped", f) for f in folders])
    assert len(SCORED_BY) == 12
    assert all(socket == f"socket-of-{secret!r}" for secret, socket in SCORED_BY)


def test_too_few_seeds_or_secrets_is_a_usage_error(graded: list[Any]) -> None:
    with pytest.raises(UsageError, match="at least 1"):
        verifying.verify(SPEC, [Path("a.py")], seeds=0)


def test_margins_against_their_bars_by_hand() -> None:
    # hidden 92-97 % against the 90 % bar: +2.0 points, under the 3-point margin: thin;
    # stops at 8 and 15 with the limit 15: thin; 200 s of CPU > 25 % of 600 s: thin
    found = verifying.margins(SPEC, [result(hidden=0.97, stop=8, cpu=10),
                                     result(hidden=0.92, stop=15, cpu=200)])

    assert [(m.name, m.thin) for m in found] == [
        ("hidden accuracy", True), ("stop epoch", True), ("CPU time", True)]
    assert found[0].text == ("hidden accuracy 92.0% to 97.0%, full marks from 90.0% "
                             "(margin +2.0%)")
    assert found[1].text == "stopped at epoch 8 to 15, limit 15"
    assert found[2].text == "runs used 10 to 200 s of CPU time, limit 600 s"


def test_wide_margins_are_not_thin() -> None:
    found = verifying.margins(SPEC, [result(hidden=1.0, stop=6, cpu=12),
                                     result(hidden=0.95, stop=9, cpu=20)])

    assert [m.thin for m in found] == [False, False, False]


def test_a_grading_below_full_marks_fails_and_a_thin_margin_fails_only_strict() -> None:
    outcome = verifying.Verification("happy-or-sad", gradings=[
        verifying.Grading(Path("solution.py"), 43, 1, result(score=90))],
        margins=[verifying.Margin("stop epoch", "stopped at epoch 15 to 15, limit 15", True)])

    assert outcome.failures() == ["solution.py, seed 43, secret 1: 90 / 100 (points lost on "
                                  "callback_stop)"]
    assert outcome.failures(strict=True)[-1] == ("thin margin: stopped at epoch 15 to 15, "
                                                 "limit 15")


def test_a_sample_is_compared_with_its_manifest() -> None:
    expected = {"status": "graded", "checks": {"runs": "passed", "callback_stop": "failed",
                                               "hidden_accuracy": "passed"}}

    assert verifying.compare(expected, result(score=90)) == (
        "hidden_accuracy: expected passed, got no such check",)
    assert verifying.compare({"status": "timeout"}, result()) == (
        "status: expected timeout, got graded",)


def test_a_manifest_that_names_a_missing_file_or_is_not_toml_is_one_line(
        tmp_path: Path) -> None:
    (tmp_path / "manifest.toml").write_text('[samples."gone.py"]\nstatus = "graded"\n')
    with pytest.raises(UsageError, match="names files the folder lacks: gone.py"):
        verifying.read_manifest(tmp_path)
    (tmp_path / "manifest.toml").write_text("samples = [")
    with pytest.raises(UsageError, match="cannot be read as a samples manifest"):
        verifying.read_manifest(tmp_path)


def test_the_junit_file_follows_the_schema_and_counts_by_hand(tmp_path: Path) -> None:
    # one grading that lost 10 points on one check, one check not judged
    lost = result(score=90)
    lost.checks.append(CheckResult("hidden_accuracy", "Hidden", "not_judged", None, 0, 20,
                                   "no model \x00\x1b[31m saved"))
    path = tmp_path / "out" / "junit.xml"
    junit.write(path, {"happy-or-sad: solution.py": junit.grading_cases(
        lost, "happy-or-sad", "solution.py, seed 42, secret 0")})

    SCHEMA.validate(str(path))
    root = ET.parse(path).getroot()
    # 1 grading + 3 checks = 4 cases; the grading and callback_stop failed; one skipped
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "2", "1")
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert failed == ["solution.py, seed 42, secret 0",
                      "solution.py, seed 42, secret 0 :: callback_stop"]
    assert "\x00" not in path.read_text(encoding="utf-8")


@settings(max_examples=60, deadline=None)
@given(st.text(), st.text(), st.one_of(st.none(), st.text()))
def test_any_text_a_student_can_put_in_a_message_gives_valid_junit(
        tmp_path_factory: pytest.TempPathFactory, name: str, message: str,
        failure: str | None) -> None:
    path = tmp_path_factory.mktemp("junit") / "j.xml"
    junit.write(path, {name: [junit.Case(name, "c", failure=failure, output=message)]})

    SCHEMA.validate(str(path))
    case = ET.parse(path).getroot().find("testsuite/testcase")
    assert case is not None and (case.find("failure") is not None) == (failure is not None)


FRAGILE_PREFIX = '''
import random as _random
# Full marks only on the spec's training seed: the grader seeds Python's random with it
# before this line runs, so the state tells the seed. On any other seed it trains 2 epochs,
# never reaching 0.999: a reference that passed once and fails for the next seed.
EPOCHS = 15 if _random.getstate() == _random.Random(42).getstate() else 2
'''


@pytest.mark.slow
def test_a_reference_that_passes_on_one_seed_only_fails_verify(tmp_path: Path) -> None:
    solution = (ROOT / "reference" / "happy_or_sad" / "solution.py").read_text()
    assert "epochs=15" in solution
    fragile = tmp_path / "fragile.py"
    fragile.write_text(FRAGILE_PREFIX + solution.replace("epochs=15", "epochs=EPOCHS"))
    report, xml = tmp_path / "verify.json", tmp_path / "verify.xml"

    done = subprocess.run([sys.executable, "-m", "grader.cli", "verify", "happy-or-sad",
                           str(fragile), "--seeds", "2", "--secrets", "1", "--json",
                           str(report), "--junit", str(xml)], capture_output=True, text=True,
                          env={**os.environ}, timeout=1200)

    assert done.returncode == 3, done.stdout + done.stderr  # EXIT_BELOW
    outcome = json.loads(report.read_text())
    by_seed = {g["seed"]: g for g in outcome["gradings"]}
    assert by_seed[42]["score"] == by_seed[42]["max_score"]
    assert by_seed[43]["score"] < by_seed[43]["max_score"]
    assert "callback_stop" in by_seed[43]["lost"]
    assert outcome["failures"][0].startswith("fragile.py, seed 43, secret 0: ")
    assert "FAILED: 1 problem(s); the first: fragile.py, seed 43, secret 0" in done.stdout
    SCHEMA.validate(str(xml))
