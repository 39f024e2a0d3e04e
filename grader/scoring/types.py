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
    # The model's output for one image changed with the other images of its batch, so
    # every image was scored alone (grader.scoring.evaluate); the trusted side flags it.
    batch_dependent: bool = False
    batch_difference: float | None = None  # largest |batched − alone| / (1 + |alone|)
    batch_check: Mapping[str, Any] = field(default_factory=dict)
    memory_limit: str | None = None  # "4096 MB (cgroup)", or "none" where not enforced
    memory_peak_mb: int | None = None  # a one-off scorer's peak, where its cgroup says
    scorer_limit: str | None = None  # memory/time/cpu/crash: why scoring stopped early
    notes: tuple[str, ...] = ()  # one line each, for the result's notes
    # the loss the saved model was compiled with (its compile_config), None if not saved
    saved_loss: str | tuple[str, ...] | None = None

    def has_layer(self, cls: str) -> bool:
        """Whether the saved model, as the scorer loaded it, has a layer of class `cls`."""
        return any(layer.cls == cls for layer in self.layers)

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
            evaluated_at=raw.get("evaluated_at", {}),
            batch_dependent=bool(raw.get("batch_dependent")),
            batch_difference=raw.get("batch_difference"),
            batch_check=raw.get("batch_check") or {},
            memory_limit=(raw.get("limits") or {}).get("memory_limit"),
            scorer_limit=raw.get("scorer_limit"),
            notes=scoring_notes(raw), saved_loss=_saved_loss(raw.get("saved_loss")))

    def layers_of(self, *classes: str) -> list[Layer]:
        return [layer for layer in self.layers if layer.cls in classes]


def _saved_loss(raw: Any) -> str | tuple[str, ...] | None:
    if isinstance(raw, str):
        return raw[:100]
    if isinstance(raw, list) and raw and all(isinstance(r, str) for r in raw):
        return tuple(r[:100] for r in raw[:10])
    return None


def scoring_notes(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """What the scorer tells the reader of the result: a model flagged for review, and a
    memory limit that could not be enforced (as the run's note says for the run)."""
    notes = []
    if isinstance(raw.get("loaded_as"), str):
        notes.append(raw["loaded_as"][:300])
    check = raw.get("batch_check") or {}
    if raw.get("batch_dependent"):
        notes.append(f"batch dependent: the model's output for one image changed with the "
                     f"other images of its batch (largest difference "
                     f"{float(raw.get('batch_difference') or 0):.3g}, "
                     f"{check.get('predictions_changed', 0)} of {check.get('sampled', 0)} "
                     "sampled predictions changed); every image was scored alone — review "
                     "this submission")
    limits = raw.get("limits") or {}
    if limits.get("memory_limit") == "none" and limits.get("memory_mb"):
        notes.append(f"the scorer's {limits['memory_mb']} MB memory limit was not enforced: "
                     "no memory cgroup could be created here")
    return tuple(notes)


def at_chance_behind(recorded: float | None, measured: float | None, chance: float) -> bool:
    """Whether the saved model measures within 0.1 of chance on its own training images
    although the last epoch recorded more than 0.9: the model is not what those epochs
    counted (a forgery, or an honest collapse after the counted batches). One rule for the
    evidence, which decides whom to believe, and for the hint a student reads."""
    return recorded is not None and measured is not None and recorded > 0.9 \
        and measured <= chance + 0.1
