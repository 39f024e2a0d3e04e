"""ExpectedValues: what a report compares a submission against, taken from the exercise spec.

Why a separate record rather than the ExerciseSpec itself: a report needs a handful of
values (the rubric's parameters, the limits, the reference's layers) and must also render
without any spec at all (then it has no comparison column). Keeping them in one small
frozen record makes that "no spec" case a plain `None`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grader.exercise import ExerciseSpec, ReferenceLayer

_BINARY_CROSSENTROPY = ("binary_crossentropy", "BinaryCrossentropy", "binarycrossentropy")


@dataclass(frozen=True)
class ExpectedValues:
    title: str = ""
    classes: tuple[str, ...] = ()
    accuracy_threshold: float = 0.999
    epoch_limit: int = 15
    rescale: float | None = 1 / 255
    rescale_tolerance: float = 1e-6
    target_size: tuple[int, ...] | None = (150, 150)
    class_mode: str | None = "binary"
    losses: tuple[str, ...] = ("binary_crossentropy",)
    input_shape: tuple[int, ...] | None = (150, 150, 3)
    output_units: int | None = 1
    output_activation: str | None = "sigmoid"
    time_seconds: float | None = None
    memory_mb: int | None = None
    output_tail_bytes: int | None = None
    reference_layers: tuple[ReferenceLayer, ...] = ()

    @property
    def accepted_losses(self) -> set[str]:
        """The loss names the `loss` check accepts (binary cross-entropy's aliases too)."""
        names = set(self.losses)
        return names | set(_BINARY_CROSSENTROPY) if "binary_crossentropy" in names else names

    @classmethod
    def from_spec(cls, spec: ExerciseSpec) -> ExpectedValues:
        def params(check_id: str) -> dict[str, Any]:
            item = spec.rubric_item(check_id)
            return dict(item.params) if item else {}

        def shape(value: Any) -> tuple[int, ...] | None:
            return tuple(int(v) for v in value) if isinstance(value, list | tuple) else None

        rescale, target, mode = (params("generator_rescale"), params("generator_target_size"),
                                 params("generator_class_mode"))
        loss, head, image = params("loss"), params("output_layer"), params("input_shape")
        return cls(
            title=spec.title, classes=tuple(spec.classes),
            accuracy_threshold=spec.accuracy_threshold, epoch_limit=spec.epoch_limit,
            rescale=float(rescale["expected"]) if "expected" in rescale else None,
            rescale_tolerance=float(rescale.get("tolerance", 1e-6)),
            target_size=shape(target.get("expected")),
            class_mode=mode.get("expected"),
            losses=tuple(str(v) for v in loss.get("expected", ())),
            input_shape=shape(image.get("expected")),
            output_units=head.get("units"), output_activation=head.get("activation"),
            time_seconds=spec.time_seconds, memory_mb=spec.memory_mb,
            output_tail_bytes=spec.output_tail_bytes,
            reference_layers=tuple(spec.reference_layers))
