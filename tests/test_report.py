"""grader.reports.render: the HTML report of one hand-built GradeResult (reports drawn from
real gradings: tests/test_exercise_references.py)."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from grader import exercise
from grader import reports as report
from grader.reports import compare, thumbnails
from grader.reports import view as report_view
from grader.results.layout import OutputLayout
from grader.results.result import CheckResult, GradeResult

SPEC = exercise.load("happy-or-sad")
REFERENCE = SPEC.reference_layers
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
            "total_params": 1000, "accuracy_threshold": 0.999, **extra}


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
    """Collect every element's attributes by tag and class (with the id of the chart it is
    drawn in), and each status cell's text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.charts: list[str | None] = []  # the enclosing <svg>'s id, per element found
        self.status_cells: list[str] = []
        self._in_status = False
        self._svg: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self._svg = dict(attrs).get("id")
        self.found.append((tag, dict(attrs)))
        self.charts.append(self._svg)
        self._in_status = tag == "td" and dict(attrs).get("class") == "status"
        if self._in_status:
            self.status_cells.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))
        self.charts.append(self._svg)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_status = False
        if tag == "svg":
            self._svg = None

    def handle_data(self, data: str) -> None:
        if self._in_status:
            self.status_cells[-1] += data

    def all(self, tag: str, cls: str, chart: str | None = None) -> list[dict[str, str | None]]:
        return [a for (t, a), c in zip(self.found, self.charts, strict=True)
                if t == tag and a.get("class") == cls and (chart is None or c == chart)]

    def one(self, tag: str, cls: str, chart: str | None = None) -> dict[str, str | None]:
        """The attributes of the only element with this tag and class (in this chart)."""
        (attrs,) = self.all(tag, cls, chart)
        return attrs


def parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


def points(polyline: dict[str, str | None]) -> list[tuple[float, float]]:
    pairs = (p.split(",") for p in (polyline["points"] or "").split())
    return [(float(x), float(y)) for x, y in pairs]


def number(attrs: dict[str, str | None], key: str) -> float:
    return float(attrs[key] or "nan")


# --- the training charts ------------------------------------------------------------------

ACC, LOSS = "chart-accuracy", "chart-loss"


@pytest.mark.parametrize(("accuracies", "stop_epoch"), [
    ([0.55, 0.8, 0.93, 0.985, 0.9995], 5),
    ([0.5] * 14 + [1.0], 15),
    ([0.5] * 17 + [1.0], 18),       # stopped after the limit: the axis grows to include it
])
def test_stop_marker_sits_on_the_recorded_stop_epoch(accuracies: list[float],
                                                     stop_epoch: int) -> None:
    elements = parse(report.render(graded(accuracies, stop_epoch)))

    for chart, line in ((ACC, "accuracy"), (LOSS, "loss")):
        curve = points(elements.one("polyline", line, chart))
        stop = elements.one("line", "stop", chart)
        assert len(curve) == len(accuracies)
        assert number(stop, "x1") == number(stop, "x2") == curve[stop_epoch - 1][0]


def test_limit_marker_sits_at_the_epoch_limit() -> None:
    elements = parse(report.render(graded([0.5, 0.7, 0.9, 1.0], 4)))

    curve = points(elements.one("polyline", "accuracy", ACC))
    step = curve[1][0] - curve[0][0]                       # x distance of one epoch
    limit = elements.one("line", "limit", ACC)
    assert number(limit, "x1") == number(limit, "x2")
    assert number(limit, "x1") == pytest.approx(curve[0][0] + 14 * step, abs=0.2)  # epoch 15


def test_stop_marker_is_absent_when_no_callback_stopped_training() -> None:
    elements = parse(report.render(graded([0.5, 0.9, 1.0, 1.0], None)))

    assert not elements.all("line", "stop")
    assert len(points(elements.one("polyline", "accuracy", ACC))) == 4


def test_threshold_line_is_drawn_at_0_999() -> None:
    elements = parse(report.render(graded([0.5, 0.999, 1.0], 3)))

    frame = elements.one("rect", "frame", ACC)             # the plot area
    top, height = number(frame, "y"), number(frame, "height")
    bottom = top + height                                   # y of accuracy 0 and 1
    threshold = elements.one("line", "threshold", ACC)
    y = number(threshold, "y1")
    assert threshold["y1"] == threshold["y2"]
    assert (bottom - y) / height == pytest.approx(0.999, abs=5e-4)
    # and an epoch whose accuracy is exactly 0.999 lies on it
    assert points(elements.one("polyline", "accuracy", ACC))[1][1] == y
    assert not elements.all("line", "threshold", LOSS)     # no 0.999 line on the loss chart


def test_threshold_comes_from_the_grading_that_used_it() -> None:
    result = graded([0.5, 0.95, 1.0], 3)
    result.metrics["accuracy_threshold"] = 0.95
    elements = parse(report.render(result))

    frame = elements.one("rect", "frame", ACC)
    y = number(elements.one("line", "threshold", ACC), "y1")
    bottom = number(frame, "y") + number(frame, "height")
    assert (bottom - y) / number(frame, "height") == pytest.approx(0.95, abs=5e-4)


def test_loss_is_drawn_on_a_round_scale_that_holds_every_value() -> None:
    result = graded([], 2, details={"epochs": [{"epoch": 1, "loss": 1.7, "accuracy": 0.5},
                                               {"epoch": 2, "loss": 0.4, "accuracy": 1.0}]})
    elements = parse(report.render(result))

    frame = elements.one("rect", "frame", LOSS)
    bottom, height = number(frame, "y") + number(frame, "height"), number(frame, "height")
    curve = points(elements.one("polyline", "loss", LOSS))
    top = 2.0                                              # 1.7 rounds up to 2
    assert [(bottom - y) / height * top for _, y in curve] == pytest.approx([1.7, 0.4],
                                                                            abs=0.01)
    assert "Training loss per epoch (epoch 1: 1.7, epoch 2: 0.4)" in report.render(result)


def test_chart_reads_the_old_acc_key() -> None:
    result = graded([], 2, details={"epochs": [{"epoch": 1, "loss": 0.5, "acc": 0.7},
                                               {"epoch": 2, "loss": 0.1, "acc": 1.0}]})
    elements = parse(report.render(result))

    curve = points(elements.one("polyline", "accuracy", ACC))
    assert len(curve) == 2 and curve[1][1] < curve[0][1]    # higher accuracy is drawn higher


def test_a_diverged_loss_is_left_out_not_drawn_off_the_chart() -> None:
    result = graded([], None, details={"epochs": [
        {"epoch": 1, "loss": 0.7, "accuracy": 0.5},
        {"epoch": 2, "loss": float("nan"), "accuracy": 0.5}]})
    elements = parse(report.render(result))

    assert len(points(elements.one("polyline", "loss", LOSS))) == 1
    assert len(points(elements.one("polyline", "accuracy", ACC))) == 2


def test_charts_have_text_alternatives() -> None:
    html = report.render(graded([0.5, 1.0], 2))
    elements = parse(html)

    for chart in (ACC, LOSS):
        (svg,) = [a for t, a in elements.found if t == "svg" and a.get("id") == chart]
        assert svg["role"] == "img" and svg["aria-labelledby"]
        for label in (svg["aria-labelledby"] or "").split():
            assert f'id="{label}"' in html
    assert "Training stopped at epoch 2. Epoch limit 15. Threshold 0.999." in html


# --- escaping of everything that came from the submission -----------------------------------

@pytest.mark.parametrize("view", ["student", "instructor"])
def test_submission_strings_are_escaped(view: str) -> None:
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
                             "metrics": [script]},
                 "hidden_confusion": [[1, 0], [0, 1]], "hidden_misclassified": [script],
                 "execution": {"error_value": script}, "callback_tests": [
                     {"callback": script, "stopped_below": False, "stopped_above": True,
                      "error": image}]})

    html = report.render(result, view, REFERENCE)

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
    assert "No training epoch was recorded: the submission could not be run" in html


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


# --- the two views --------------------------------------------------------------------------

def hidden_result(misclassified: list[str]) -> GradeResult:
    return graded([0.6, 1.0], 2, details={
        "epochs": epochs([0.6, 1.0]), "layers": [],
        "hidden_confusion": [[55, 5], [3, 57]], "hidden_misclassified": misclassified,
        "classes": ["happy", "sad"]})


def hidden_folder(root: Path, names: list[str]) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (150, 150), (200, 180, 40)).save(root / name)
    return root


def test_unknown_view_is_refused() -> None:
    with pytest.raises(ValueError, match="view"):
        report.render(graded([0.6, 1.0], 2), "teacher")


def test_student_view_never_shows_the_hidden_split(tmp_path: Path) -> None:
    names = ["happy/happy-003.png", "sad/sad-017.png"]
    hidden = hidden_folder(tmp_path / "hidden", names)

    html = report.render(hidden_result(names), "student", REFERENCE, hidden_dir=hidden)

    assert "data:image" not in html and "<img" not in html
    assert 'class="confusion"' not in html and "happy-003" not in html
    assert report.render(hidden_result(names)) == report.render(hidden_result(names),
                                                                 "student")


def test_instructor_view_shows_confusion_matrix_and_thumbnails(tmp_path: Path) -> None:
    names = ["happy/happy-003.png", "sad/sad-017.png"]
    hidden = hidden_folder(tmp_path / "hidden", names)

    html = report.render(hidden_result(names), "instructor", REFERENCE, hidden_dir=hidden)
    elements = parse(html)

    cells = re.findall(r'<td class="(?:diag|off)">(\d+)', html)
    assert cells == ["55", "5", "3", "57"]
    assert "112 of 120 hidden images classified correctly" in html
    images = [a for t, a in elements.found if t == "img"]
    assert [(a["src"] or "")[:22] for a in images] == ["data:image/png;base64,"] * 2
    assert images[0]["alt"] == ("hidden image happy/happy-003.png: a happy image the model "
                                "classified as sad")


def test_thumbnails_are_small_and_capped(tmp_path: Path) -> None:
    names = [f"sad/sad-{i:03}.png" for i in range(30)]
    hidden = hidden_folder(tmp_path / "hidden", names)

    found = thumbnails.misclassified(hidden, names, ("happy", "sad"))

    assert len(found.shown) == thumbnails.MAX_THUMBNAILS and found.more == 6
    data = base64.b64decode(found.shown[0].src.split(",", 1)[1])
    with Image.open(io.BytesIO(data)) as image:
        assert max(image.size) <= thumbnails.THUMBNAIL_PX
    html = report.render(hidden_result(names), "instructor", REFERENCE, hidden_dir=hidden)
    assert "and 6 more misclassified image(s) not shown" in html


def test_thumbnails_never_leave_the_hidden_folder(tmp_path: Path) -> None:
    hidden = hidden_folder(tmp_path / "hidden", ["sad/ok.png"])
    hidden_folder(tmp_path, ["secret.png", "outside/x.png"])
    (hidden / "sad" / "link.png").symlink_to(tmp_path / "secret.png")
    (hidden / "happy").symlink_to(tmp_path / "outside")
    names = ["../secret.png", str(tmp_path / "secret.png"), "sad/../../secret.png",
             "sad/link.png", "happy/x.png", "sad\\..\\..\\secret.png", "sad/ok.png"]

    found = thumbnails.misclassified(hidden, names, ("happy", "sad"))

    assert [t.name for t in found.shown] == ["sad/ok.png"]
    assert found.unreadable == names[:-1]


def test_reference_architecture_is_shown_side_by_side_with_differences_marked() -> None:
    reference = REFERENCE
    layers = [{"cls": r.cls, "name": r.cls.lower(), "activation": r.activation,
               "output_shape": [None, *(r.output_shape or ())], "params": r.params}
              for r in reference if r.cls != "MaxPooling2D"]      # no pooling at all
    result = graded([0.6, 1.0], 2, details={"epochs": [], "layers": layers})

    with_reference = report.render(result, "student", REFERENCE)
    without = report.render(result)

    rows = re.findall(r'<tr class="(diff|same)">', with_reference)
    assert len(rows) == len(reference)
    assert rows.count("diff") == 3 and with_reference.count("≠ missing layer") == 3
    assert "Reference" in with_reference and "Reference" not in without


def test_a_missing_conv_block_is_shown_where_it_is_missing() -> None:
    """Two conv blocks where the reference has three (as the suppress_epochs red-team
    submission has): the first two blocks line up with the reference's first two and
    read "same"; the third block is the missing pair; the head lines up again."""
    from grader.reports.compare import layer_rows

    kept = [r for i, r in enumerate(REFERENCE) if i not in (4, 5)]  # no third block
    layers = [{"cls": r.cls, "name": r.cls.lower(), "activation": r.activation,
               "output_shape": [None, *(r.output_shape or ())], "params": r.params}
              for r in kept]
    rows = layer_rows(graded([1.0], 1, details={"epochs": [], "layers": layers}), REFERENCE)
    marks = [row.differences for row in rows]
    assert marks[:4] == [[], [], [], []]
    assert marks[4:6] == [["missing layer"], ["missing layer"]]
    assert [row.student.cls for row in rows[6:] if row.student] == ["Flatten", "Dense",
                                                                     "Dense"]


def test_settings_show_each_checks_own_finding_and_verdict() -> None:
    judged = [
        CheckResult("generator_rescale", "ImageDataGenerator(rescale=1/255)", "passed", True,
                    5.0, 5.0, "pixels are rescaled", found=1 / 255, expected=1 / 255),
        CheckResult("generator_directory", "Directory", "failed", False, 0.0, 5.0,
                    "one class's folder", found="/tmp/h-or-s/happy",
                    expected="the folder holding happy/ and sad/"),
        CheckResult("loss", "Loss", "passed", True, 5.0, 5.0, "the right loss for a softmax "
                    "head", found="sparse_categorical_crossentropy",
                    expected=["binary_crossentropy"]),
        CheckResult("input_shape", "Input", "not_judged", None, 0.0, 5.0, "not judged"),
    ]
    result = graded([0.6, 1.0], 2, checks=judged, details={
        "epochs": [], "layers": [],
        "flow": {"directory": "/tmp/h-or-s/happy", "batch_size": 10, "images_found": 40,
                 "class_indices": {"happy": 0}},
        "compile": {"loss": "sparse_categorical_crossentropy", "optimizer": "RMSprop",
                    "learning_rate": 0.001, "metrics": ["accuracy"]}})

    rows = {row.name: row for row in compare.setting_rows(result)}

    # the verdict is the check's, even where a second look might have judged otherwise
    assert rows["loss"].verdict == "matches" and rows["loss"].check == "loss"
    assert rows["rescale"].verdict == "matches"
    assert rows["directory"].verdict == "differs"
    assert rows["directory"].expected == "'the folder holding happy/ and sad/'"
    assert rows["input shape"].verdict == "not recorded"
    assert rows["batch_size"].verdict == "" and rows["optimizer"].verdict == ""


def test_a_timed_out_run_says_what_happened() -> None:
    result = graded([], None, status="timeout", score=0.0, max_score=100.0,
                    error="stopped after the 120 s time limit",
                    timings={"total": 120.3, "run": 120.1, "score": 0.0},
                    details={"epochs": [], "layers": []})

    for view in ("student", "instructor"):
        html = report.render(result, view, REFERENCE)
        assert "Time limit reached." in html and "stopped after the 120 s time limit" in html
        assert "The run was stopped at the time limit after 120 s" in html
        assert "No training epoch was recorded before the time limit" in html
    # where the run's CPU time was measured, the verdict counts what the limit counts
    result.timings["run_cpu"] = 20.02
    result.error = "stopped at the 20 s limit on CPU time"
    assert "stopped at the time limit after 20 s of CPU time (120 s on the clock)" in \
        report.render(result, "student", REFERENCE)


def test_instructor_view_shows_limits_and_full_logs() -> None:
    lines = "".join(f"line {i}\n" for i in range(100))
    result = graded([0.6, 1.0], 2, stdout_tail=lines, sandbox="bubblewrap")
    result.details["limits"] = {"time_seconds": 120, "memory": "4096 MB (cgroup)"}

    instructor = report.render(result, "instructor", REFERENCE)
    student = report.render(result, "student", REFERENCE)

    assert "line 0\n" in instructor and "4096 MB (cgroup)" in instructor
    assert "120 s" in instructor  # the limit the grading used, not the spec's default
    assert "line 0\n" not in student and "line 99" in student
    assert "60 earlier lines not shown" in student


def test_the_instructor_view_says_which_model_the_callback_test_played_on() -> None:
    result = graded([0.6, 1.0], 2)
    result.details["callback_tests"] = [{"callback": "myCallback", "sequence": 0,
                                         "stopped_at": 1, "error": None}]
    result.details["callback_test_model"] = "a small stand-in model: the callbacks' code " \
        "reads only their logs"

    instructor = report.render(result, "instructor", REFERENCE)

    assert "callback test: myCallback, run 1" in instructor
    assert "stopped at epoch 2" in instructor  # Keras's epoch 1 shown from 1
    assert "callback test played on" in instructor
    assert "reads only their logs" in instructor
    assert "callback test played on" not in report.render(result, "student", REFERENCE)


def test_the_run_section_says_the_cpu_time_used_and_how_the_run_started() -> None:
    result = graded([0.6, 1.0], 2, sandbox="bubblewrap")
    result.details["limits"] = {"time_seconds": 600.0, "time_clock": "600 s of CPU time "
                                "(cgroup)", "memory": "4096 MB (cgroup)"}
    result.timings["run_cpu"] = 7.96
    result.details["run_start"] = "warm"

    rows = dict(report_view.limits(result))

    assert rows["time limit"] == "600 s of CPU time (cgroup)"
    assert rows["CPU time used"] == "8.0 s"  # 7.96 s shown to a tenth
    assert rows["start"].startswith("warm: forked from a sandboxed Python")
    assert list(rows)[:3] == ["sandbox", "time limit", "CPU time used"]
    assert "CPU time used" in report.render(result, "instructor", REFERENCE)


def test_pages_forbid_any_request_leaving_the_file() -> None:
    html = report.render(graded([0.6, 1.0], 2))

    (meta,) = [a for t, a in parse(html).found
               if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in (meta["content"] or "")
    assert "script-src" not in (meta["content"] or "")          # a report runs no script
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_write_submission_writes_the_result_and_both_views(tmp_path: Path) -> None:
    result = graded([0.6, 1.0], 2)
    path = report.write_submission(result, OutputLayout(tmp_path), SPEC)

    assert path == tmp_path / "ada" / "report.html"
    assert "Your report" in path.read_text(encoding="utf-8")
    assert "Instructor view" in (tmp_path / "ada" / "instructor.html").read_text("utf-8")
    assert GradeResult.from_json((tmp_path / "ada" / "result.json").read_text()) == result
    assert sorted(p.name for p in (tmp_path / "ada").iterdir()) == [
        "instructor.html", "report.html", "result.json"]   # no temporary file left behind
