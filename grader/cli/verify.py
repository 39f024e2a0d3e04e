"""`grader verify EXERCISE REFERENCE...`: the command an instructor's CI runs on an exercise.

Grades the reference(s) across training seeds and course secrets (grader.classwork.verify),
prints the margins that decide whether the reference will keep its full marks, checks a
samples folder against its manifest, and exits 0 only when every grading has full marks
and every sample its expected verdicts (3 otherwise, EXIT_BELOW; `--strict` also fails on
a thin margin). `--junit` and `--json` are for the pipeline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from grader.cli import common
from grader.errors import EXIT_BELOW, EXIT_OK, UsageError


def add_parsers(commands: Any) -> None:
    verify = commands.add_parser(
        "verify", help="CI for an exercise: grade its reference across seeds and course "
        "secrets, print the margins, check samples against their manifest")
    verify.add_argument("exercise", metavar="EXERCISE_OR_PACK",
                        help="installed exercise name, a spec .toml, or an installed exercise "
                        "pack (every exercise of it, with the pack's references and samples)")
    verify.add_argument("references", type=Path, nargs="*", metavar="REFERENCE",
                        help="reference solution(s): each must get full marks every time "
                        "(for an exercise; a pack names its own)")
    verify.add_argument("--seeds", type=int, default=3,
                        help="training seeds per reference (default 3: the spec's and the "
                        "next two)")
    verify.add_argument("--secrets", type=int, default=3,
                        help="course secrets (default 3: the data folder's own and two "
                        "drawn for verifying, each with its own hidden split)")
    verify.add_argument("--samples", type=Path, metavar="DIR",
                        help="a folder of samples with a manifest.toml of expected verdicts")
    verify.add_argument("--jobs", type=int, default=2, help="gradings at once (default 2)")
    verify.add_argument("--strict", action="store_true",
                        help="also fail when a margin is thin")
    verify.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML here")
    verify.add_argument("--json", type=Path, metavar="FILE", help="write the outcome as JSON")
    verify.add_argument("--data-dir", type=Path, help="where built-in data sets are kept")
    verify.add_argument("--no-sandbox", action="store_true",
                        help="grade without bubblewrap (debugging)")
    verify.add_argument("--cold", action="store_true", help="no warm runs")
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from grader.exercise import packs

    pack = packs.pack_named(args.exercise)
    if pack is not None and args.exercise not in _exercise_names():
        return _verify_pack(args, pack)
    if not args.references:
        raise UsageError(f"grader verify {args.exercise} needs the reference solution(s) to "
                         "grade (an installed pack names its own)")
    return _verify_one(args, args.exercise, args.references, args.samples)


def _exercise_names() -> set[str]:
    from grader.exercise import spec as specs

    return set(specs.available())


def _verify_pack(args: argparse.Namespace, pack: Any) -> int:
    """Every exercise of an installed pack, with the references and samples it ships."""
    if args.references or args.samples:
        raise UsageError(f"{pack.name} is an exercise pack: it names its own references and "
                         "samples (give no REFERENCE or --samples)")
    exercises = pack.specs()
    if not exercises:
        raise UsageError(f"pack {pack.name} ({pack.distribution}) has no exercise spec")
    codes = []
    for name, spec_file in exercises.items():
        references = pack.references(spec_file)
        if not references:
            common.say(f"{name}: no reference in the pack (reference/{spec_file.stem}/)")
            codes.append(EXIT_BELOW)
            continue
        codes.append(_verify_one(args, str(spec_file), references, pack.samples(spec_file),
                                 suffix=f"-{spec_file.stem}" if len(exercises) > 1 else ""))
    return max(codes)


def _verify_one(args: argparse.Namespace, exercise: str, references: list[Path],
                samples: Path | None, suffix: str = "") -> int:
    from grader.classwork.verify import verify
    from grader.grade import GradeOptions, load_exercise

    missing = [str(r) for r in references if not r.is_file()]
    if missing:
        raise UsageError(f"no such reference: {', '.join(missing)}")
    if samples is not None and not samples.is_dir():
        raise UsageError(f"{samples}: not a folder of samples")
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    spec = load_exercise(exercise)
    options = GradeOptions(no_sandbox=args.no_sandbox, require_sandbox=not args.no_sandbox,
                           cold=args.cold)
    gradings = len(references) * max(args.seeds, 0) * max(args.secrets, 0)
    common.say(f"verifying {spec.name}: {gradings} grading(s) of {len(references)} "
               f"reference(s) ({args.seeds} seed(s) x {args.secrets} secret(s))"
               + (f" and the samples of {samples}" if samples else ""))
    outcome = verify(spec, references, args.seeds, args.secrets, options,
                     args.data_dir, samples, args.jobs, progress=_quiet)
    _print(outcome)
    failures = outcome.failures(strict=args.strict)
    if args.junit:
        _junit(_suffixed(args.junit, suffix), outcome, args.strict)
    if args.json:
        _json(_suffixed(args.json, suffix), outcome, failures)
    if failures:
        common.say(f"FAILED: {len(failures)} problem(s); the first: {failures[0]}")
        return EXIT_BELOW
    thin = [m for m in outcome.margins if m.thin]
    common.say(f"verified: every grading of {spec.name} has full marks"
               + (f"; {len(thin)} thin margin(s) (--strict fails on them)" if thin else ""))
    return EXIT_OK


def _suffixed(path: Path, suffix: str) -> Path:
    """One file per exercise when a pack has several: verify.xml -> verify-<spec>.xml."""
    return path.with_name(f"{path.stem}{suffix}{path.suffix}") if suffix else path


def _quiet(_: str) -> None:
    """Progress is not printed line by line: a CI log wants the outcome."""


def _print(outcome: Any) -> None:
    for grading in outcome.gradings:
        mark = "✔" if grading.full_marks else "✘"
        result = grading.result
        common.say(f"  {mark} {grading.label}: {result.score:g} / {result.max_score:g} "
                   f"({result.status})")
    for margin in outcome.margins:
        common.say(f"  {'⚠ thin' if margin.thin else '✔'} {margin.text}")
    for sample in outcome.samples:
        mark = "✘" if sample.differences else "✔"
        detail = "; ".join(sample.differences) or "as the manifest expects"
        common.say(f"  {mark} sample {sample.name}: {detail}")


def _junit(path: Path, outcome: Any, strict: bool) -> None:
    from grader.results import junit

    suites: dict[str, list[junit.Case]] = {}
    for grading in outcome.gradings:
        suite = suites.setdefault(f"{outcome.exercise}: {grading.reference.name}", [])
        cases = junit.grading_cases(grading.result, outcome.exercise, grading.label)
        suite += cases
    margins = suites.setdefault(f"{outcome.exercise}: margins", [])
    for margin in outcome.margins:
        failure = f"thin margin: {margin.text}" if margin.thin and strict else None
        margins.append(junit.Case(margin.name, outcome.exercise, failure=failure,
                                  output=("thin: " if margin.thin else "") + margin.text))
    if outcome.samples:
        samples = suites.setdefault(f"{outcome.exercise}: samples", [])
        for sample in outcome.samples:
            failure = "; ".join(sample.differences) or None
            samples.append(junit.Case(sample.name, outcome.exercise, failure=failure,
                                      output="as the manifest expects" if not failure
                                      else ""))
    junit.write(path, suites, name=f"grader verify {outcome.exercise}")


def _json(path: Path, outcome: Any, failures: list[str]) -> None:
    data = {
        "exercise": outcome.exercise, "passed": not failures, "failures": failures,
        "gradings": [{"reference": str(g.reference), "seed": g.seed, "secret": g.secret,
                      "status": g.result.status, "score": g.result.score,
                      "max_score": g.result.max_score,
                      "hidden_accuracy": g.result.metrics.get("hidden_accuracy"),
                      "stop_epoch": g.result.metrics.get("stop_epoch"),
                      "lost": [c.id for c in g.result.checks if c.score < c.max_score]}
                     for g in outcome.gradings],
        "margins": [{"name": m.name, "text": m.text, "thin": m.thin} for m in outcome.margins],
        "samples": [{"name": s.name, "differences": list(s.differences)}
                    for s in outcome.samples],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
