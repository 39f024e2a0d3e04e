"""What the trusted scorer measured on a saved model: the model's layers and its accuracy on
images the run never saw. Never the run's own claims; the checks read these as facts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Layer:
    cls: str
    name: str
    units: int | None
    filters: int | None
    activation: str | None
    output_shape: tuple[Any, ...] | None
    params: int


@dataclass(frozen=True)
class Scoring:
    """What the trusted scorer measured on the saved model (never the run's own claims)."""

    model_loaded: bool = False
    model_error: str | None = None
    input_shape: tuple[Any, ...] | None = None
    layers: tuple[Layer, ...] = ()
    total_params: int | None = None
    hidden_accuracy: float | None = None
    hidden_images: int = 0
    hidden_confusion: tuple[tuple[int, ...], ...] = ()
    hidden_misclassified: tuple[str, ...] = ()
    train_accuracy: float | None = None
    evaluation_error: str | None = None
    evaluated_at: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Scoring:
        hidden = raw.get("hidden") or {}
        train = raw.get("train") or {}
        layers = tuple(Layer(str(r.get("class")), str(r.get("name")), r.get("units"),
                             r.get("filters"), r.get("activation"),
                             tuple(r["output_shape"]) if r.get("output_shape") else None,
                             int(r.get("params") or 0)) for r in raw.get("layers", []))
        return cls(
            model_loaded=bool(raw.get("model_loaded")), model_error=raw.get("model_error"),
            input_shape=tuple(raw["input_shape"]) if raw.get("input_shape") else None,
            layers=layers, total_params=raw.get("total_params"),
            hidden_accuracy=hidden.get("accuracy"), hidden_images=hidden.get("images", 0),
            hidden_confusion=tuple(tuple(r) for r in hidden.get("confusion", [])),
            hidden_misclassified=tuple(hidden.get("misclassified", [])),
            train_accuracy=train.get("accuracy"),
            evaluation_error=raw.get("evaluation_error"),
            evaluated_at=raw.get("evaluated_at", {}))

    def layers_of(self, *classes: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.cls in classes]
