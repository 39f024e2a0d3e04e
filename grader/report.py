"""HTML report for one result (Jinja2, autoescaped; templates live in top-level templates/).

Everything that came from a submission is escaped by the template engine; the training
chart is inline SVG computed here as numbers, so the file is self-contained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from grader.result import GradeResult

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES),
                       autoescape=select_autoescape(["html", "j2"]),
                       trim_blocks=True, lstrip_blocks=True)


def training_chart(result: GradeResult, width: int = 480, height: int = 200) -> dict[str, Any]:
    """Points for the accuracy curve, the threshold line and the stop-epoch marker."""
    epochs = result.details.get("epochs") or []
    limit = int(result.metrics.get("epochs_limit") or 15)
    last = max([limit] + [int(e["epoch"]) for e in epochs])
    pad = 30

    def x(epoch: float) -> float:
        return round(pad + (epoch - 1) / max(last - 1, 1) * (width - 2 * pad), 1)

    def y(value: float) -> float:
        return round(height - pad - max(0.0, min(1.0, value)) * (height - 2 * pad), 1)

    accuracy = [(x(e["epoch"]), y(e.get("accuracy", e.get("acc", 0.0)))) for e in epochs
                if "accuracy" in e or "acc" in e]
    loss_values = [e["loss"] for e in epochs if "loss" in e]
    top = max(loss_values + [1.0])
    loss = [(x(e["epoch"]), y(e["loss"] / top)) for e in epochs if "loss" in e]
    stop = result.metrics.get("stop_epoch")
    return {
        "width": width, "height": height,
        "accuracy": " ".join(f"{a},{b}" for a, b in accuracy),
        "loss": " ".join(f"{a},{b}" for a, b in loss),
        "threshold_y": y(0.999), "limit_x": x(limit), "stop_x": x(stop) if stop else None,
        "stop_epoch": stop, "limit": limit, "x0": pad, "x1": width - pad,
        "y0": y(0.0), "y1": y(1.0),
    }


def render(result: GradeResult) -> str:
    template = _environment().get_template("report.html.j2")
    columns: list[str] = []
    for epoch in result.details.get("epochs") or []:
        columns += [key for key in epoch if key != "epoch" and key not in columns]
    return template.render(result=result, chart=training_chart(result), epoch_columns=columns)


def write(result: GradeResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(render(result), encoding="utf-8")
    tmp.replace(path)
