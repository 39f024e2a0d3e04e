"""What an exercise spec may say: every table, key, type and range, as pydantic models.

Why models and not hand-written checks: the hand-written loader accepted nonsense —
`zip_paths = "abc"` became ('a', 'b', 'c'), `memory_mb = 0` and `time_seconds = -5` were
taken, `required = "false"` read as true, `seed = "x"` raised a bare ValueError. A spec is
what every grade of a class rests on, so it is validated whole before anything reads it:
strict types (a string is never a list or a bool; a whole number may stand for a real
one), unknown keys refused, limits above zero. The first problem is one line naming the
file, the table, the key, what is allowed and what was given (`SpecError`, exit 2).

The same models give the JSON Schema an editor validates a spec with as it is written
(`grader exercises --schema`). They check the spec after its `extends` chain is merged
(grader.exercise.inherit), so a child spec is judged by what it amounts to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grader.errors import SpecError

Name = Annotated[str, Field(min_length=1, max_length=200)]
Pattern = Annotated[str, Field(max_length=2000)]  # compiled by spec.py, which names a bad one
PathText = Annotated[str, Field(min_length=1, max_length=4096)]


class _Table(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Exercise(_Table):
    name: Name
    title: Name
    version: str | int | float
    seed: int = Field(42, ge=0, lt=2**32, description="seed set before student code")
    intra_op_threads: int = Field(2, ge=1, le=256)
    inter_op_threads: int = Field(1, ge=1, le=256)
    course_version: str | int | None = None


class Data(_Table):
    dataset: Name
    classes: list[Name] = Field(min_length=2, description="alphabetical, as "
                                "flow_from_directory numbers them")
    zip_name: Name = "data.zip"
    train: PathText | None = None
    hidden: PathText | None = None
    validation_zip_name: Name | None = None


class Stage(_Table):
    zip_paths: list[PathText] = []
    extracted_paths: list[PathText] = []
    validation_zip_paths: list[PathText] = []
    validation_extracted_paths: list[PathText] = []
    stub_modules: list[Name] = []


class Download(_Table):
    file: Name
    url: PathText | None = None
    gdown_id: Name | None = None

    @model_validator(mode="after")
    def _an_address(self) -> Download:
        if self.url is None and self.gdown_id is None:
            raise ValueError("needs 'url' or 'gdown_id'")
        return self


class EntryPoint(_Table):
    function: str = Field("", max_length=200, description="empty: this version has none")
    required: bool = False


class Training(_Table):
    accuracy_threshold: float = Field(0.999, gt=0, le=1)
    epoch_limit: int = Field(15, ge=1, le=100_000)
    train_accuracy_tolerance: float = Field(0.2, ge=0, le=1)
    long_epochs: Literal["repeat", "one_pass"] = "repeat"


class Limits(_Table):
    time_seconds: float = Field(600, gt=0, le=7 * 24 * 3600)
    memory_mb: int = Field(4096, ge=64)
    output_tail_bytes: int = Field(4096, ge=0)
    max_processes: int = Field(256, ge=1)
    file_size_mb: int = Field(1024, ge=1)
    disk_mb: int = Field(2048, ge=1)
    output_limit_bytes: int = Field(1024 * 1024, ge=1)


class DetectVersion(_Table):
    name: Name
    requires: list[Pattern] = []


class Detect(_Table):
    requires: list[Pattern] = []
    excludes: list[Pattern] = []
    prefers: list[Pattern] = []
    versions: list[DetectVersion] = []


class ReferenceLayer(_Table):
    cls: Name
    output_shape: list[Annotated[int, Field(ge=0)]] | None = None
    params: int | None = Field(None, ge=0)
    activation: Name | None = None


class Reference(_Table):
    layers: list[ReferenceLayer] = []


class Similarity(_Table):
    templates: list[PathText] = []
    course_material: list[Name] = []


class RubricItem(_Table):
    id: Name
    points: float = Field(ge=0, le=10_000)
    params: dict[str, Any] = {}
    title: Name | None = None


class Spec(_Table):
    """A whole exercise spec (after `extends` is merged)."""

    exercise: Exercise
    data: Data
    stage: Stage = Stage()
    downloads: list[Download] = []
    entry_point: EntryPoint = EntryPoint()
    training: Training = Training()
    limits: Limits = Limits()
    rubric: list[RubricItem] = Field(min_length=1)
    reference: Reference = Reference()
    detect: Detect = Detect()
    similarity: Similarity = Similarity()


def validate(raw: dict[str, Any], path: Path) -> None:
    """Refuse a spec that breaks the models, with its first problem as one line."""
    try:
        Spec.model_validate(raw)
    except ValidationError as exc:
        # an unknown key first: it is usually a typo, and the "missing" key it causes
        # would otherwise be reported in its place
        errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        raise SpecError(f"{path.name}: {describe(errors[0])}") from None


def describe(error: Any) -> str:
    """One pydantic error as a person reads it: where, what is allowed, what was given."""
    where = _where(tuple(error.get("loc", ())))
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        if len(error.get("loc", ())) == 1:
            return f"{where}: unknown table; a spec has " + ", ".join(
                f"[{name}]" for name in Spec.model_fields)
        return f"{where}: unknown key (not one this table may have)"
    if error.get("type") == "missing":
        return f"{where}: missing (required)"
    shown = repr(error.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{where}: {message[:1].lower() + message[1:]} (got {shown})"


def _where(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "the spec"
    table, rest = str(loc[0]), list(loc[1:])
    head = f"[[{table}]]" if table in ("rubric", "downloads") else f"[{table}]"
    if rest and isinstance(rest[0], int):
        head += f" #{rest.pop(0) + 1}"
    keys = ".".join(str(k) if not isinstance(k, int) else f"#{k + 1}" for k in rest)
    return f"{head} {keys}".rstrip() if keys else head


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec, for editors (TOML language servers read JSON Schema)."""
    schema = Spec.model_json_schema()
    schema["title"] = "Exercise spec of the TensorFlow course grader"
    return schema
