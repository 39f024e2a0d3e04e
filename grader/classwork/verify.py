"""`grader verify`: does an exercise's reference keep full marks, and by how much?

Why: "CI checks the reference solution" must work in an instructor's own pipeline, not
only in this repository's tests. One grading proves little: a reference can reach full
marks on the course's training seed and secret and lose points for the next student whose
run draws another seed, or on next term's hidden split. So the reference is graded across
training seeds (the spec's `seed`, then the next ones) and course secrets (the data
folder's own, then secrets drawn for the verification, each with its own hidden split in
a throw-away data folder), and the margins that decide whether it will keep passing are
measured: the hidden accuracy against the full-marks bar, the stop epoch against the epoch
limit, the CPU time against the time limit.

The extra secrets are derived from a fixed label (`derived_secret`), not drawn at random:
a verification must give the same answer twice on the same code, or an instructor's CI
would be flaky by design. They never grade students: they exist only here.

With a samples folder and its manifest (the format of
submissions/happy_or_sad/manifest.toml), each sample is graded once, with the course's own
secret, and its status and check verdicts compared with the manifest's: the exercise's
own regression suite.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import UsageError
from grader.exercise import datasource
from grader.exercise.packs import SAMPLES_MANIFEST
from grader.exercise.spec import ExerciseSpec
from grader.grade import GradeOptions, grade_file
from grader.results.result import GradeResult
from grader.scoring.service import ScoringService

# A margin is thin when the next seed, secret or machine could plausibly cross it:
THIN_ACCURACY = 0.03  # hidden accuracy within 3 points of the full-marks bar
THIN_EPOCHS = 1  # a stop within one epoch of the epoch limit
THIN_CPU_SHARE = 0.25  # a machine 4x slower would reach the time limit


@dataclass(frozen=True)
class Grading:
    reference: Path
    seed: int
    secret: int  # 0: the data folder's own course secret; 1, 2, …: derived for verifying
    result: GradeResult

    @property
    def label(self) -> str:
        return f"{self.reference.name}, seed {self.seed}, secret {self.secret}"

    @property
    def full_marks(self) -> bool:
        return self.result.status == "graded" and self.result.score >= self.result.max_score


@dataclass(frozen=True)
class Margin:
    name: str  # "hidden accuracy", "stop epoch", "CPU time"
    text: str  # one line: the range measured against its bar
    thin: bool


@dataclass(frozen=True)
class SampleCheck:
    """One sample graded against what its manifest expects."""

    name: str
    result: GradeResult | None
    differences: tuple[str, ...]  # "callback_stop: expected failed, got passed"


@dataclass
class Verification:
    exercise: str
    gradings: list[Grading] = field(default_factory=list)
    margins: list[Margin] = field(default_factory=list)
    samples: list[SampleCheck] = field(default_factory=list)

    def failures(self, strict: bool = False) -> list[str]:
        """Every reason the verification fails, one line each ([] when it passes)."""
        found = [f"{g.label}: {_short(g.result)}" for g in self.gradings if not g.full_marks]
        found += [f"sample {s.name}: {'; '.join(s.differences)}" for s in self.samples
                  if s.differences]
        if strict:
            found += [f"thin margin: {m.text}" for m in self.margins if m.thin]
        return found


def derived_secret(index: int) -> bytes:
    """The course secret number `index` (1, 2, …) of a verification (see above)."""
    return hashlib.sha256(f"grader verify: course secret {index}".encode()).digest()


def verify(spec: ExerciseSpec, references: Sequence[Path], seeds: int = 3, secrets: int = 3,
           options: GradeOptions | None = None, data_dir: Path | None = None,
           samples: Path | None = None, jobs: int = 2,
           progress: Callable[[str], None] = lambda _: None) -> Verification:
    """Grade every reference `seeds` x `secrets` times, `jobs` at a time, measure the
    margins, and grade the samples of `samples` against their manifest."""
    if seeds < 1 or secrets < 1:
        raise UsageError("--seeds and --secrets must be at least 1")
    expected = read_manifest(samples) if samples is not None else {}
    options = options or GradeOptions()
    verification = Verification(spec.name)
    with tempfile.TemporaryDirectory(prefix="grader-verify-") as scratch:
        datas = [datasource.resolve(spec, data_dir)]
        for index in range(1, secrets):  # drawn one after another: they may share a cache
            progress(f"drawing the hidden split of course secret {index}")
            datas.append(datasource.resolve(spec, Path(scratch) / f"secret-{index}",
                                            secret=derived_secret(index)))
        # what each grading is for: (reference, seed, secret index), or a sample's name
        purposes: list[tuple[Path, int, int] | str] = []
        jobs_to_run: list[Callable[[], GradeResult]] = []
        with _SharedScorers(spec, datas, options) as scorers:
            for reference in references:
                for seed_index in range(seeds):
                    seeded = dataclasses.replace(spec, seed=spec.seed + seed_index)
                    for secret in range(len(datas)):
                        purposes.append((reference, seeded.seed, secret))
                        jobs_to_run.append(scorers.job(reference, seeded, secret))
            for name in expected:
                purposes.append(name)
                jobs_to_run.append(scorers.job(samples / name,  # type: ignore[operator]
                                               _limited(spec, expected[name]), 0))
            results = _two_at_a_time(jobs_to_run, jobs, progress)
    for purpose, result in zip(purposes, results, strict=True):
        if isinstance(purpose, str):
            verification.samples.append(SampleCheck(purpose, result,
                                                    compare(expected[purpose], result)))
        else:
            verification.gradings.append(Grading(*purpose, result))
    verification.margins = margins(spec, [g.result for g in verification.gradings])
    return verification


class _SharedScorers:
    """One scoring service per data folder (per course secret), as `grader batch` has one
    for its class: the verification's gradings on one folder share its TensorFlow import
    and decoded images (each model is still scored in a process of its own, bounded). A
    default verification grades 3 seeds on each folder: 3 scorer starts instead of 9.
    A service a model killed is started again before the next grading; a grading that
    finds it gone scores with a one-off scorer (grader.scoring.client)."""

    def __init__(self, spec: ExerciseSpec, datas: list[datasource.DataPaths],
                 options: GradeOptions) -> None:
        self.datas, self.options = datas, options
        self.services = [None if options.scorer_socket else ScoringService(spec, data)
                         for data in datas]
        self.sockets: list[str | None] = []

    def __enter__(self) -> _SharedScorers:
        try:
            self.sockets = [service.start() if service else self.options.scorer_socket
                            for service in self.services]
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        for service in self.services:
            if service is not None:
                service.stop()

    def job(self, path: Path, spec: ExerciseSpec, secret: int) -> Callable[[], GradeResult]:
        service = self.services[secret]
        options = dataclasses.replace(self.options, scorer_socket=self.sockets[secret])

        def grade() -> GradeResult:
            if service is not None:
                service.ensure_running()
            return grade_file(path, spec, self.datas[secret], options)
        return grade


def _limited(spec: ExerciseSpec, expected: dict[str, object]) -> ExerciseSpec:
    """The spec with a sample's own time limit (a manifest's `time_limit`), if it has one."""
    limit = expected.get("time_limit")
    if not isinstance(limit, int | float):
        return spec
    return dataclasses.replace(spec, time_seconds=float(limit))


def _two_at_a_time(jobs: list[Callable[[], GradeResult]], workers: int,
                   progress: Callable[[str], None]) -> list[GradeResult]:
    """Run the gradings `workers` at a time (threads: a grading's work is in its child
    processes); the first alone, since it builds what the others share. Results in the
    order of `jobs`."""
    if not jobs:
        return []
    results = [jobs[0]()]
    progress(f"graded 1 of {len(jobs)}")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(job) for job in jobs[1:]]
        for done, future in enumerate(futures, start=2):
            results.append(future.result())
            progress(f"graded {done} of {len(jobs)}")
    return results


def margins(spec: ExerciseSpec, results: Iterable[GradeResult]) -> list[Margin]:
    """The margins the gradings leave, each against its bar."""
    graded = [r for r in results if r.status == "graded"]
    found: list[Margin] = []
    bar = _full_marks_at(spec)
    accuracies = [a for r in graded if isinstance(a := r.metrics.get("hidden_accuracy"),
                                                       int | float)]
    if bar is not None and accuracies:
        low, high = min(accuracies), max(accuracies)
        found.append(Margin("hidden accuracy", f"hidden accuracy {low:.1%} to {high:.1%}, "
                            f"full marks from {bar:.1%} (margin {low - bar:+.1%})",
                            low - bar < THIN_ACCURACY))
    stops = [s for r in graded if isinstance(s := r.metrics.get("stop_epoch"), int)]
    limit = spec.epoch_limit
    if stops:
        found.append(Margin("stop epoch", f"stopped at epoch {min(stops)} to {max(stops)}, "
                            f"limit {limit}", max(stops) > limit - THIN_EPOCHS))
    cpu = [c for r in graded if isinstance(c := r.timings.get("run_cpu"), int | float)]
    time_limit = spec.time_seconds
    if cpu and time_limit:
        found.append(Margin("CPU time", f"runs used {min(cpu):.0f} to {max(cpu):.0f} s of "
                            f"CPU time, limit {time_limit:.0f} s", max(cpu) > THIN_CPU_SHARE
                            * time_limit))
    return found


def _full_marks_at(spec: ExerciseSpec) -> float | None:
    item = spec.rubric_item("hidden_accuracy")
    value = item.params.get("full_marks_at") if item is not None else None
    return float(value) if isinstance(value, int | float) else None


def read_manifest(folder: Path) -> dict[str, dict[str, object]]:
    """The samples a folder's manifest.toml names, each with what it expects."""
    path = folder / SAMPLES_MANIFEST
    try:
        samples = tomllib.loads(path.read_text(encoding="utf-8")).get("samples")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot be read as a samples manifest: {exc}") from None
    if not isinstance(samples, dict) or not all(isinstance(v, dict) for v in samples.values()):
        raise UsageError(f"{path}: needs [samples.\"<file>\"] tables (see "
                         "submissions/happy_or_sad/manifest.toml)")
    missing = [name for name in samples if not (folder / name).is_file()]
    if missing:
        raise UsageError(f"{path}: names files the folder lacks: {', '.join(missing[:5])}")
    return samples


def compare(expected: dict[str, object], result: GradeResult) -> tuple[str, ...]:
    """What differs between a sample's manifest entry and its grading."""
    differences = []
    status = expected.get("status")
    if status is not None and status != result.status:
        differences.append(f"status: expected {status}, got {result.status}")
    checks = expected.get("checks")
    got = {c.id: c.status for c in result.checks}
    if isinstance(checks, dict):
        for check_id, want in checks.items():
            if got.get(check_id) != want:
                differences.append(f"{check_id}: expected {want}, got "
                                   f"{got.get(check_id, 'no such check')}")
    return tuple(differences)


def _short(result: GradeResult) -> str:
    lost = [c.id for c in result.checks if c.score < c.max_score]
    if result.status != "graded":
        reason = (result.error or "").strip().splitlines()[:1]
        return f"{result.status}: {reason[0][:200]}" if reason else result.status
    return f"{result.score:g} / {result.max_score:g} (points lost on {', '.join(lost)})"
