"""grader.report.render: the HTML report of one hand-built GradeResult."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from grader import report
from grader.result import CheckResult, GradeResult

STATUS_WORDS = {"passed": "passed", "failed": "failed", "partial": "partial",
                "not_judged": "not judged", "not_applicable": "n/a"}


def epochs(accuracies: list[float]) -> list[dict[str, float]]:
    return [{"epoch": i + 1, "loss": round(1.0 - a, 4), "accuracy": a}
            for i, a in enumerate(accuracies)]


def metrics(stop_epoch: int | None, limit: int = 15, **extra: Any) -> dict[str, Any]:
    """The keys grader.grade._metrics writes for every graded run."""
    return {"hidden_accuracy": 0.925, "train_accuracy_recomputed": 1.0,
            "train_accuracy_recorded": 1.0, "train_accuracy_consistent": True,
            "epochs_run": 0, "epochs_requested": 15, "epochs_limit": limit,
            "first_epoch_above_threshold": stop_epoch,
            "stopped_by_callback": "myCallback" if stop_epoch else None,
            "stop_epoch": stop_epoch, "optimizer": "RMSprop", "learning_rate": 0.001,
            "total_params": 1000, **extra}


def checks() -> list[CheckResult]:
    return [
        CheckResult("runs", "The submission runs to the end", "passed", True, 10.0, 10.0,
                    "ran 6 of 6 code cell(s) without error"),
        CheckResult("loss", "Loss: binary cross-entropy", "failed", False, 0.0, 5.0,
                    "loss is 'mse', expected 'binary_crossentropy'",
                    "two classes and one sigmoid output call for loss='binary_crossentropy'"),
        CheckResult("output_layer", "Output layer", "partial", False, 5.0, 10.0,
                    "the output layer is Dense(2, activation='softmax')", "use one unit"),
        CheckResult("hidden_accuracy", "Hidden accuracy", "not_judged", None, 0.0, 20.0,
                    "not judged: the code never called fit"),
        CheckResult("returns_accuracy", "Returns accuracy", "not_applicable", None, 0.0, 0.0,
                    "no train_happy_sad_model() defined"),
    ]


def graded(accuracies: list[float], stop_epoch: int | None, **fields: Any) -> GradeResult:
    defaults: dict[str, Any] = dict(
        submission="ada.ipynb", student="ada", exercise="happy-or-sad", status="graded",
        score=15.0, max_score=45.0, checks=checks(), metrics=metrics(stop_epoch),
        details={"epochs": epochs(accuracies), "layers": [], "flow": None, "generator": None,
                 "compile": None},
        stdout_tail="Epoch 1/15\n", grader_version="0.1.0", exercise_version="1.0")
    return GradeResult(**{**defaults, **fields})


class _Elements(HTMLParser):
    """Collect every element's attributes by tag and class, and each status cell's text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.status_cells: list[str] = []
        self._in_status = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))
        self._in_status = tag == "td" and dict(attrs).get("class") == "status"
        if self._in_status:
            self.status_cells.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_status = False

    def handle_data(self, data: str) -> None:
        if self._in_status:
            self.status_cells[-1] += data

    def one(self, tag: str, cls: str) -> dict[str, str | None]:
        """The attributes of the only element with this tag and class."""
        (attrs,) = [a for t, a in self.found if t == tag and a.get("class") == cls]
        return attrs


def parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def points(polyline: dict[str, str | None]) -> list[tuple[float, float]]:
    pairs = (p.split(",") for p in (polyline["points"] or "").split())
    return [(float(x), float(y)) for x, y in pairs]


# --- the training chart -------------------------------------------------------------------

@pytest.mark.parametrize(("accuracies", "stop_epoch"), [
    ([0.55, 0.8, 0.93, 0.985, 0.9995], 5),
    ([0.5] * 14 + [1.0], 15),
    ([0.5] * 17 + [1.0], 18),       # stopped after the limit: the axis grows to include it
])
def test_stop_marker_sits_on_the_recorded_stop_epoch(accuracies: list[float],
                                                     stop_epoch: int) -> None:
    elements = parse(report.render(graded(accuracies, stop_epoch)))

    curve = points(elements.one("polyline", "accuracy"))
    stop = elements.one("line", "stop")
    assert len(curve) == len(accuracies)
    assert float(stop["x1"] or "nan") == float(stop["x2"] or "nan") == curve[stop_epoch - 1][0]


def test_stop_marker_is_absent_when_no_callback_stopped_training() -> None:
    elements = parse(report.render(graded([0.5, 0.9, 1.0, 1.0], None)))

    assert not [a for t, a in elements.found if t == "line" and a.get("class") == "stop"]
    assert len(points(elements.one("polyline", "accuracy"))) == 4


def test_threshold_line_is_drawn_at_0_999() -> None:
    elements = parse(report.render(graded([0.5, 0.999, 1.0], 3)))

    (frame,) = [a for t, a in elements.found if t == "rect"]  # the plot area
    top, height = float(frame["y"] or "nan"), float(frame["height"] or "nan")
    bottom = top + height                                   # y of accuracy 0 and 1
    threshold = elements.one("line", "threshold")
    y = float(threshold["y1"] or "nan")
    assert threshold["y1"] == threshold["y2"]
    assert (bottom - y) / height == pytest.approx(0.999, abs=5e-4)
    # and an epoch whose accuracy is exactly 0.999 lies on it
    assert points(elements.one("polyline", "accuracy"))[1][1] == y


def test_chart_reads_the_old_acc_key() -> None:
    result = graded([], 2, details={"epochs": [{"epoch": 1, "loss": 0.5, "acc": 0.7},
                                               {"epoch": 2, "loss": 0.1, "acc": 1.0}]})
    elements = parse(report.render(result))

    curve = points(elements.one("polyline", "accuracy"))
    assert len(curve) == 2 and curve[1][1] < curve[0][1]    # higher accuracy is drawn higher


# --- escaping of everything that came from the submission -----------------------------------

def test_submission_strings_are_escaped() -> None:
    script, image = "<script>alert(1)</script>", '<img src=x onerror="alert(2)">'
    layer = {"cls": "Dense", "name": script, "units": 1, "filters": None,
             "activation": "sigmoid", "output_shape": [None, 1], "params": 513}
    result = graded(
        [0.6, 1.0], 2, student=f"ada{script}",
        stdout_tail=f"Epoch 1/15\n{image}\n", stderr_tail=f"warning {image}",
        notes=[f"trace: {script}"], compat_notes=[image],
        checks=[CheckResult("generator_directory", "Directory", "failed", False, 0.0, 5.0,
                            f"reads '/tmp/{script}'", f"hint {image}")],
        details={"epochs": epochs([0.6, 1.0]), "layers": [layer],
                 "flow": {"directory": f"/tmp/{image}", "target_size": [150, 150],
                          "batch_size": 10, "class_mode": script, "images_found": 0},
                 "generator": {"kwargs": {"rescale": script}},
                 "compile": {"loss": script, "optimizer": image, "learning_rate": 0.001,
                             "metrics": [script]}})

    html = report.render(result)

    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    assert all(tag != "script" and tag != "img" for tag, _ in parse(html).found)


# --- results without a training run ---------------------------------------------------------

def test_an_error_result_without_metrics_still_renders() -> None:
    # Exactly what grader.grade.error_result builds for an unreadable submission.
    result = GradeResult(
        submission="broken.ipynb", student="broken", exercise="happy-or-sad", status="error",
        score=0.0, max_score=100.0,
        checks=[CheckResult("runs", "The submission runs to the end", "not_judged", None, 0.0,
                            10.0, "not judged: not a valid notebook")],
        error="not a valid notebook", timings={"total": 0.01}, grader_version="0.1.0",
        exercise_version="1.0")

    html = report.render(result)

    assert "not a valid notebook" in html and "status: error" in html


def test_an_error_result_with_no_epochs_renders_without_a_chart() -> None:
    result = graded([], None, status="error", error="the code raised NameError",
                    metrics=metrics(None, hidden_accuracy=None, train_accuracy_recomputed=None),
                    details={"epochs": [], "layers": []})

    html = report.render(result)

    assert "status: error" in html and "the code raised NameError" in html
    assert "<svg" not in html and "<polyline" not in html
    assert "<h2>Training</h2>" not in html


# --- pass/fail as words, not only colour ------------------------------------------------------

def test_every_check_status_is_written_as_a_word() -> None:
    elements = parse(report.render(graded([0.6, 1.0], 2)))

    shown = [cell.strip() for cell in elements.status_cells]
    expected = [STATUS_WORDS[c.status] for c in checks()]
    assert len(shown) == len(expected)
    for text, word in zip(shown, expected, strict=True):
        assert re.search(rf"\b{re.escape(word)}\b", text), (text, word)


def test_hints_are_shown_for_failures_but_not_for_passes() -> None:
    passing = CheckResult("runs", "Runs", "passed", True, 10.0, 10.0, "ran fine", "never shown")
    failing = CheckResult("loss", "Loss", "failed", False, 0.0, 5.0, "loss is 'mse'",
                          "use binary_crossentropy")
    html = report.render(graded([0.6, 1.0], 2, checks=[passing, failing]))

    assert "Hint: use binary_crossentropy" in html
    assert "never shown" not in html
