"""Exercise specs: the TOML files in grader/exercises/ turned into typed, validated objects.

Why a typed layer: a spec is written by instructors, so a typo ("ponits") must be a clear
one-line error when the spec is loaded, not a KeyError in the middle of a class's grading.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import SpecError
from grader.exercise import inherit, packs, schema
from grader.runner.contract import LONG_EPOCHS

EXERCISES_DIR = Path(__file__).parent / "specs"
__all__ = ["EXERCISES_DIR", "DetectRules", "Download", "ExerciseSpec", "ReferenceLayer",
           "RubricItem", "SpecError", "available", "load"]


@dataclass(frozen=True)
class Download:
    """A download address that course notebooks use, served from the local copy."""

    file: str
    url: str | None = None
    gdown_id: str | None = None


@dataclass(frozen=True)
class RubricItem:
    id: str
    points: float
    params: dict[str, Any] = field(default_factory=dict)
    title: str | None = None


@dataclass(frozen=True)
class ReferenceLayer:
    """One layer of the reference solution's model, for the reports' side-by-side table."""

    cls: str
    output_shape: tuple[int, ...] | None = None  # without the batch dimension
    params: int | None = None
    activation: str | None = None


@dataclass(frozen=True)
class DetectRules:
    """How `grader grade FILE` recognises this exercise in a notebook: regular expressions
    searched in its code. A file is a candidate when every `requires` pattern and no
    `excludes` pattern is found; `prefers` patterns only add weight. `versions` name the
    course version: the first whose patterns are all found (an empty list always is)."""

    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    prefers: tuple[str, ...] = ()
    versions: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class ExerciseSpec:
    name: str
    title: str
    version: str
    seed: int
    intra_op_threads: int
    inter_op_threads: int
    dataset: str
    classes: tuple[str, ...]
    zip_name: str
    train_source: Path | None
    hidden_source: Path | None
    zip_paths: tuple[str, ...]
    extracted_paths: tuple[str, ...]
    downloads: tuple[Download, ...]
    entry_function: str | None
    entry_required: bool
    accuracy_threshold: float
    epoch_limit: int
    train_accuracy_tolerance: float
    time_seconds: float
    memory_mb: int
    output_tail_bytes: int
    rubric: tuple[RubricItem, ...]
    source_path: Path
    spec_hash: str
    reference_layers: tuple[ReferenceLayer, ...] = ()  # optional [reference] layers
    max_processes: int = 256  # processes + threads of one run (a pids cgroup)
    file_size_mb: int = 1024  # any one file the run writes (RLIMIT_FSIZE)
    disk_mb: int = 2048  # what the run adds to its folder, its /tmp included
    output_limit_bytes: int = 1024 * 1024  # notebook cell outputs kept by the runner
    course_version: str | None = None  # e.g. "2022": which course notebook this spec grades
    validation_zip_name: str | None = None  # a second, public zip (validation split)
    validation_zip_paths: tuple[str, ...] = ()
    validation_extracted_paths: tuple[str, ...] = ()
    stub_modules: tuple[str, ...] = ()  # course helpers that are not public (unittests)
    long_epochs: str = "repeat"  # steps_per_epoch beyond one pass: "repeat" or "one_pass"
    detect: DetectRules = field(default_factory=DetectRules)
    # the starter notebooks the course handed out (grader similarity removes them)
    similarity_templates: tuple[Path, ...] = ()
    # the published names of the lesson and exercise files its students were given
    # (grader similarity --course-material DIR removes them; docs/similarity.md)
    similarity_material: tuple[str, ...] = ()

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.rubric)

    def rubric_item(self, check_id: str) -> RubricItem | None:
        return next((item for item in self.rubric if item.id == check_id), None)


_KNOWN_TABLES = {"exercise", "data", "stage", "downloads", "entry_point", "training",
                 "limits", "rubric", "reference", "detect", "similarity"}  # and `extends`


def _table(raw: dict[str, Any], name: str, allowed: set[str]) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise SpecError(f"[{name}] must be a table")
    unknown = set(table) - allowed
    if unknown:
        raise SpecError(f"[{name}] has unknown key(s): {', '.join(sorted(unknown))}")
    return table


def _require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise SpecError(f"[{where}] is missing '{key}'")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SpecError(f"[{where}] '{key}' has the wrong type ({type(value).__name__})")
    return value


def _positive(limits: dict[str, Any], key: str, default: int) -> int:
    """A limit is a whole number above zero: 0 would not mean "no limit" but "no run"."""
    value = limits.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise SpecError(f"[limits] '{key}' must be a whole number above 0")
    return value


def built_in() -> dict[str, Path]:
    """The exercises this grader ships, by name (file stem with '_' read as '-')."""
    return {p.stem.replace("_", "-"): p for p in sorted(EXERCISES_DIR.glob("*.toml"))}


def available() -> dict[str, Path]:
    """Installed exercises by their name: the built-in ones and those of installed
    exercise packs (grader.exercise.packs)."""
    own = built_in()
    from_packs, _ = packs.exercises(own)
    return {**own, **{name: path for name, (path, _) in from_packs.items()}}


def load(name_or_path: str | Path, *, train: Path | None = None,
         hidden: Path | None = None,
         known_checks: Collection[str] | None = None) -> ExerciseSpec:
    """Load an installed exercise by name, or a spec file by path.

    `train`/`hidden` override the data sources (the CLI flags), so an instructor can grade
    against the real course zip and their own hidden split without editing the spec.
    `known_checks`, when given, are the check ids a rubric may name (grader.grade passes
    the checks' registry, which this layer cannot import).
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        known = available()
        if str(name_or_path) not in known:
            raise SpecError(f"unknown exercise '{name_or_path}'; installed: "
                            f"{', '.join(known) or 'none'}")
        path = known[str(name_or_path)]
    raw, digest = inherit.read(path)
    schema.validate(raw, path)  # every key, type and range, before anything reads it
    spec = _parse(raw, path, digest, train, hidden)
    unknown = [item.id for item in spec.rubric
               if known_checks is not None and item.id not in known_checks]
    if unknown:
        raise SpecError(f"[[rubric]] '{unknown[0]}' is not a known check; known: "
                        f"{', '.join(sorted(known_checks or ()))}")
    return spec


def _parse(raw: dict[str, Any], path: Path, spec_hash: str, train: Path | None,
           hidden: Path | None) -> ExerciseSpec:
    unknown = set(raw) - _KNOWN_TABLES
    if unknown:
        raise SpecError(f"{path.name}: unknown table(s): {', '.join(sorted(unknown))}")
    ex = _table(raw, "exercise", {"name", "title", "version", "seed", "intra_op_threads",
                                  "inter_op_threads", "course_version"})
    data = _table(raw, "data", {"dataset", "classes", "zip_name", "train", "hidden",
                                "validation_zip_name"})
    stage = _table(raw, "stage", {"zip_paths", "extracted_paths", "validation_zip_paths",
                                  "validation_extracted_paths", "stub_modules"})
    entry = _table(raw, "entry_point", {"function", "required"})
    training = _table(raw, "training", {"accuracy_threshold", "epoch_limit",
                                        "train_accuracy_tolerance", "long_epochs"})
    if training.get("long_epochs", "repeat") not in LONG_EPOCHS:
        raise SpecError("[training] 'long_epochs' must be \"repeat\" or \"one_pass\"")
    if stage.get("validation_zip_paths") and not data.get("validation_zip_name"):
        raise SpecError("[stage] validation paths need [data] 'validation_zip_name'")

    def source(value: Any, override: Path | None) -> Path | None:
        if override is not None:
            return override
        return (path.parent / value).resolve() if isinstance(value, str) else None

    return ExerciseSpec(
        name=_require(ex, "name", str, "exercise"),
        title=_require(ex, "title", str, "exercise"),
        version=str(_require(ex, "version", (str, int, float), "exercise")),
        seed=int(ex.get("seed", 42)),
        intra_op_threads=int(ex.get("intra_op_threads", 2)),
        inter_op_threads=int(ex.get("inter_op_threads", 1)),
        dataset=_require(data, "dataset", str, "data"),
        classes=tuple(_require(data, "classes", list, "data")),
        zip_name=str(data.get("zip_name", "data.zip")),
        train_source=source(data.get("train"), train),
        hidden_source=source(data.get("hidden"), hidden),
        zip_paths=tuple(stage.get("zip_paths", [])),
        extracted_paths=tuple(stage.get("extracted_paths", [])),
        downloads=_downloads(raw.get("downloads", [])),
        # `function = ""` in a spec that extends another: this version has none
        entry_function=entry.get("function") or None,
        entry_required=bool(entry.get("required", False)),
        accuracy_threshold=float(training.get("accuracy_threshold", 0.999)),
        epoch_limit=int(training.get("epoch_limit", 15)),
        train_accuracy_tolerance=float(training.get("train_accuracy_tolerance", 0.2)),
        rubric=_rubric(raw.get("rubric", []), path),
        source_path=path,
        spec_hash=spec_hash,
        reference_layers=_reference_layers(_table(raw, "reference", {"layers"})),
        course_version=str(ex["course_version"]) if "course_version" in ex else None,
        validation_zip_name=data.get("validation_zip_name"),
        validation_zip_paths=tuple(stage.get("validation_zip_paths", [])),
        validation_extracted_paths=tuple(stage.get("validation_extracted_paths", [])),
        stub_modules=_module_names(stage.get("stub_modules", [])),
        long_epochs=str(training.get("long_epochs", "repeat")),
        detect=_detect_rules(_table(raw, "detect", {"requires", "excludes", "prefers",
                                                    "versions"})),
        similarity_templates=_templates(_table(raw, "similarity", _SIMILARITY_KEYS), path),
        similarity_material=_material(_table(raw, "similarity", _SIMILARITY_KEYS)),
        **_limits(_table(raw, "limits", {"time_seconds", "memory_mb", "output_tail_bytes",
                                         "max_processes", "file_size_mb", "disk_mb",
                                         "output_limit_bytes"})),
    )


def _limits(limits: dict[str, Any]) -> dict[str, Any]:
    return {"time_seconds": float(limits.get("time_seconds", 600)),
            "memory_mb": int(limits.get("memory_mb", 4096)),
            "output_tail_bytes": int(limits.get("output_tail_bytes", 4096)),
            "max_processes": _positive(limits, "max_processes", 256),
            "file_size_mb": _positive(limits, "file_size_mb", 1024),
            "disk_mb": _positive(limits, "disk_mb", 2048),
            "output_limit_bytes": _positive(limits, "output_limit_bytes", 1024 * 1024)}


def _downloads(items: Any) -> tuple[Download, ...]:
    downloads = []
    for item in items if isinstance(items, list) else []:
        extra = set(item) - {"url", "gdown_id", "file"}
        if extra or "file" not in item or not ({"url", "gdown_id"} & set(item)):
            raise SpecError("[[downloads]] needs 'file' and one of 'url'/'gdown_id'")
        downloads.append(Download(file=item["file"], url=item.get("url"),
                                  gdown_id=item.get("gdown_id")))
    return tuple(downloads)


def _rubric(items: Any, path: Path) -> tuple[RubricItem, ...]:
    rubric = []
    for item in items if isinstance(items, list) else []:
        extra = set(item) - {"id", "points", "params", "title"}
        if extra:
            raise SpecError(f"[[rubric]] has unknown key(s): {', '.join(sorted(extra))}")
        check_id = _require(item, "id", str, "rubric")
        points = _require(item, "points", (int, float), f"rubric {check_id}")
        rubric.append(RubricItem(id=check_id, points=float(points),
                                 params=dict(item.get("params", {})), title=item.get("title")))
    if not rubric:
        raise SpecError(f"{path.name}: the rubric is empty")
    if len({r.id for r in rubric}) != len(rubric):
        raise SpecError(f"{path.name}: a check appears twice in the rubric")
    return tuple(rubric)


def _templates(table: dict[str, Any], path: Path) -> tuple[Path, ...]:
    """[similarity] templates: notebooks the course handed out, relative to the spec."""
    names = table.get("templates", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise SpecError("[similarity] 'templates' must be a list of file paths")
    return tuple((path.parent / name).resolve() for name in names)


_SIMILARITY_KEYS = {"templates", "course_material"}


def _material(table: dict[str, Any]) -> tuple[str, ...]:
    """[similarity] course_material: file names as the course published them (no folder:
    the instructor's copies are looked up by name in --course-material)."""
    names = table.get("course_material", [])
    if not isinstance(names, list) or not all(
            isinstance(n, str) and n.strip() and "/" not in n and "\\" not in n
            for n in names):
        raise SpecError("[similarity] 'course_material' must be a list of file names")
    return tuple(names)


def _module_names(names: Any) -> tuple[str, ...]:
    """Stub modules are written as <name>.py into the run: plain identifiers only."""
    if not isinstance(names, list) or not all(isinstance(n, str) and n.isidentifier()
                                              for n in names):
        raise SpecError("[stage] 'stub_modules' must be a list of module names")
    return tuple(names)


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"[detect] '{where}' must be a list of regular expressions")
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SpecError(f"[detect] '{where}': bad regular expression {pattern!r}: "
                            f"{exc}") from None
    return tuple(value)


def _detect_rules(table: dict[str, Any]) -> DetectRules:
    versions = []
    for item in table.get("versions", []):
        if not isinstance(item, dict) or set(item) - {"name", "requires"} \
                or not isinstance(item.get("name"), str):
            raise SpecError("[detect] each of 'versions' is a table of name and requires")
        versions.append((item["name"], _patterns(item.get("requires", []), "versions")))
    return DetectRules(_patterns(table.get("requires", []), "requires"),
                       _patterns(table.get("excludes", []), "excludes"),
                       _patterns(table.get("prefers", []), "prefers"), tuple(versions))


def _reference_layers(table: dict[str, Any]) -> tuple[ReferenceLayer, ...]:
    """[reference] layers: what the reference solution's saved model looks like, so a report
    can mark where a student's architecture differs (reports only; no check reads it)."""
    layers = table.get("layers", [])
    if not isinstance(layers, list):
        raise SpecError("[reference] 'layers' must be a list of tables")
    parsed = []
    for item in layers:
        if not isinstance(item, dict) or set(item) - {"cls", "output_shape", "params",
                                                       "activation"}:
            raise SpecError("[reference] each layer is a table of cls, output_shape, params, "
                            "activation")
        shape = item.get("output_shape")
        parsed.append(ReferenceLayer(
            cls=_require(item, "cls", str, "reference"),
            output_shape=tuple(int(v) for v in shape) if isinstance(shape, list) else None,
            params=int(item["params"]) if isinstance(item.get("params"), int) else None,
            activation=item.get("activation") if isinstance(item.get("activation"), str)
            else None))
    return tuple(parsed)
