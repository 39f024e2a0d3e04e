"""Chart geometry for the reports: numbers only, drawn as inline SVG by the templates.

Why compute coordinates here rather than in a JS charting library: the files must open
from file:// with the network off and print, so every chart is plain SVG; and numbers
computed in Python can be unit-tested against the result they came from (the stop marker
sits at the recorded stop epoch, a bar's height is its count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from grader.results.result import GradeResult

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 26, 34  # room for tick labels and the legend line


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass
class LineChart:
    """One metric per epoch with the threshold, stop and limit markers."""

    key: str
    title: str
    description: str
    points: list[tuple[float, float]]
    values: list[tuple[int, float]]  # (epoch, value) drawn, for the text alternative
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    limit: int
    limit_x: float
    stop_epoch: int | None
    stop_x: float | None
    threshold: float | None = None
    threshold_y: float | None = None
    width: int = WIDTH
    height: int = HEIGHT
    x0: float = LEFT
    x1: float = WIDTH - RIGHT
    y_top: float = TOP
    y_bottom: float = HEIGHT - BOTTOM

    @property
    def polyline(self) -> str:
        return " ".join(f"{x},{y}" for x, y in self.points)


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _nice_top(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above value: a round axis maximum."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= value - 1e-12)


def epoch_axis(result: GradeResult, limit: int) -> tuple[int, Any]:
    """The last epoch on the axis (the limit, or later if training ran past it) and x()."""
    epochs = [int(e["epoch"]) for e in result.details.get("epochs") or [] if "epoch" in e]
    stop = result.metrics.get("stop_epoch")
    last = max([limit, 2] + epochs + ([int(stop)] if isinstance(stop, int) else []))

    def x(epoch: float) -> float:
        return round(LEFT + (epoch - 1) / (last - 1) * (WIDTH - LEFT - RIGHT), 1)

    return last, x


def _y_of(top: float) -> Any:
    def y(value: float) -> float:
        share = max(0.0, min(1.0, value / top))
        return round(HEIGHT - BOTTOM - share * (HEIGHT - TOP - BOTTOM), 1)

    return y


def _line_chart(result: GradeResult, key: str, values: list[tuple[int, float]], top: float,
                limit: int, threshold: float | None) -> LineChart:
    last, x = epoch_axis(result, limit)
    y = _y_of(top)
    stop = result.metrics.get("stop_epoch")
    stop = int(stop) if isinstance(stop, int) and stop > 0 else None
    step = max(1, -(-last // 10))  # in integers: a run may record epoch 10**300
    # 1 and every multiple of step, made directly: a loop over every epoch up to the
    # last recorded number took as long as the run's largest epoch number said
    x_ticks = [Tick(x(e), str(e)) for e in dict.fromkeys([1, *range(step, last + 1, step)])]
    y_ticks = [Tick(y(v), f"{v:g}") for v in (0.0, top / 2, top)]
    name = "accuracy" if key == "accuracy" else "loss"
    shown = ", ".join(f"epoch {e}: {v:.4g}" for e, v in values)
    description = (f"Training {name} per epoch ({shown or 'no epochs recorded'}). "
                   + (f"Training stopped at epoch {stop}. " if stop else
                      "No callback stopped training. ")
                   + f"Epoch limit {limit}."
                   + (f" Threshold {threshold:g}." if threshold is not None else ""))
    return LineChart(
        key=key, title=f"Training {name} per epoch", description=description,
        points=[(x(e), y(v)) for e, v in values], values=values, x_ticks=x_ticks,
        y_ticks=y_ticks, limit=limit, limit_x=x(limit), stop_epoch=stop,
        stop_x=x(stop) if stop else None, threshold=threshold,
        threshold_y=y(threshold) if threshold is not None else None)


def training_charts(result: GradeResult) -> list[LineChart]:
    """The accuracy chart (0 to 1, with the threshold) and the loss chart (0 to a round
    maximum); empty when no epoch was recorded. Non-finite values (a diverged loss) are
    left out of the line rather than drawn off the chart. The threshold and the epoch
    limit are the ones the grading used, from the result's metrics."""
    epochs = result.details.get("epochs") or []
    limit = int(result.metrics.get("epochs_limit") or 0) or len(epochs) or 1
    threshold = result.metrics.get("accuracy_threshold")
    threshold = float(threshold) if isinstance(threshold, int | float) else None
    accuracy: list[tuple[int, float]] = []
    loss: list[tuple[int, float]] = []
    for row in epochs:
        epoch = row.get("epoch")
        if not isinstance(epoch, int):
            continue
        value = _finite(row.get("accuracy", row.get("acc")))
        if value is not None:
            accuracy.append((epoch, value))
        value = _finite(row.get("loss"))
        if value is not None:
            loss.append((epoch, value))
    charts = []
    if accuracy:
        charts.append(_line_chart(result, "accuracy", accuracy, 1.0, limit, threshold))
    if loss:
        top = _nice_top(max(v for _, v in loss))
        charts.append(_line_chart(result, "loss", loss, top, limit, None))
    return charts


# --- the class summary ------------------------------------------------------------------------

BAR_WIDTH, BAR_HEIGHT = 480, 200


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    total: int
    x: float
    y: float
    width: float
    height: float
    key: str = ""

    @property
    def percent(self) -> float:
        return round(100 * self.count / self.total, 1) if self.total else 0.0


@dataclass
class BarChart:
    title: str
    description: str
    bars: list[Bar] = field(default_factory=list)
    width: int = BAR_WIDTH
    height: int = BAR_HEIGHT


def percent(result: GradeResult) -> float:
    return round(100 * result.score / result.max_score, 1) if result.max_score else 0.0


def histogram_counts(results: list[GradeResult], bins: int = 10) -> list[int]:
    """Submissions per band of 100/bins percent; 100 % falls in the top band."""
    counts = [0] * bins
    for result in results:
        counts[min(bins - 1, int(percent(result) * bins // 100))] += 1
    return counts


def score_histogram(results: list[GradeResult], bins: int = 10) -> BarChart:
    counts = histogram_counts(results, bins)
    top = max(counts + [1])
    plot_left, plot_bottom, plot_top = 36, BAR_HEIGHT - 34, 16
    slot = (BAR_WIDTH - plot_left - 8) / bins
    scale = (plot_bottom - plot_top) / top
    bars = []
    for i, count in enumerate(counts):
        low, high = i * 100 // bins, (i + 1) * 100 // bins
        label = f"{low}–{high} %" if i == bins - 1 else f"{low}–<{high} %"
        height = round(count * scale, 1)
        bars.append(Bar(label=label, count=count, total=len(results),
                        x=round(plot_left + i * slot + 2, 1), y=round(plot_bottom - height, 1),
                        width=round(slot - 4, 1), height=height, key=f"{low}-{high}"))
    shown = "; ".join(f"{b.label}: {b.count}" for b in bars)
    return BarChart(title="Scores of the class (percent of the points)",
                    description=f"Number of submissions per score band: {shown}.", bars=bars)


def pass_rates(results: list[GradeResult]) -> BarChart:
    """Per check: passed / submissions where it applied. Partial, failed, not judged (an
    error or a timeout) count as not passed, so the rate is 'students who got it right'."""
    titles: dict[str, str] = {}
    for result in results:
        for check in result.checks:
            titles.setdefault(check.id, check.title)
    label_width, row, plot_width = 170, 24, BAR_WIDTH - 170 - 96
    bars = []
    for i, (check_id, title) in enumerate(titles.items()):
        applicable = [c for r in results for c in r.checks
                      if c.id == check_id and c.status != "not_applicable"]
        passed = sum(1 for c in applicable if c.status == "passed")
        rate = passed / len(applicable) if applicable else 0.0
        bars.append(Bar(label=title, count=passed, total=len(applicable), x=label_width,
                        y=8 + i * row, width=round(rate * plot_width, 1), height=row - 8,
                        key=check_id))
    shown = "; ".join(f"{b.key}: {b.count} of {b.total}" for b in bars)
    return BarChart(title="Pass rate per check",
                    description=f"Submissions that passed each check: {shown}.", bars=bars,
                    height=16 + row * len(bars))
