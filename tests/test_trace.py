"""grader.run.trace.load: the run's artefacts read as untrusted data into typed objects.

Every test writes trace.json / execution.json into a temporary folder, as the runner would
(or as a hostile or broken run might), and checks what the trusted side ends up seeing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.run import artefacts
from grader.run import trace as traces
from grader.run.trace import EntryPoint, Epoch, Execution, FlowCall, Generator, Trace


def write(folder: Path, trace: Any = None, execution: Any = None) -> Path:
    """Write the artefacts as JSON (objects) or verbatim (str/bytes)."""
    for name, content in (("trace.json", trace), ("execution.json", execution)):
        if content is None:
            continue
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text(json.dumps(content))
    return folder


def epoch(number: int, **logs: float) -> dict[str, Any]:
    return {"epoch": number, "logs": logs}


def fit(fit_id: int = 0, epochs: list[dict[str, Any]] | None = None, **extra: Any) -> dict:
    return {"id": fit_id, "epochs_requested": 15, "steps_per_epoch": 8, "batch_size": None,
            "train_flow_id": 0, "has_validation": False, "callbacks": ["myCallback"],
            "epochs": epochs or [], "stopped_by": None, "completed": True, "error": None,
            **extra}


def flow(flow_id: int, generator_id: int, directory: str) -> dict[str, Any]:
    return {"id": flow_id, "generator_id": generator_id, "directory": directory,
            "target_size": [150, 150], "batch_size": 10, "class_mode": "binary",
            "color_mode": "rgb", "images_found": 80,
            "class_indices": {"happy": 0, "sad": 1}, "error": None}


# A trace shaped exactly like the one grader/runner/recorder.py writes for a good notebook.
GOOD_TRACE: dict[str, Any] = {
    "schema": 2,
    "generators": [{"id": 0, "rescale": 1 / 255, "kwargs": {"rescale": 1 / 255},
                    "rescales_used": [1 / 255]}],
    "flows": [flow(0, 0, "/tmp/h-or-s")],
    "datasets": [],
    "compiles": [{"loss": "binary_crossentropy", "loss_class": None, "optimizer": "RMSprop",
                  "optimizer_given_as": "RMSprop", "learning_rate": 0.001,
                  "metrics": ["accuracy"]}],
    "fits": [fit(0, [epoch(1, loss=0.69, accuracy=0.55), epoch(2, loss=0.3, accuracy=0.9),
                     epoch(3, loss=0.01, accuracy=1.0)],
                 stopped_by={"callback": "myCallback", "epoch": 3})],
    "callback_tests": [{"fit_id": 0, "callback": "myCallback", "sequence": 0,
                        "stopped_at": 7, "error": None, "output": ""}],
    "entry_points": [{"name": "train_happy_sad_model", "calls": [
        {"called_by": "student", "returned": {"type": "float", "value": 1.0, "repr": "1.0"},
         "error": None}]}],
    "compat_notes": ["RMSprop(lr=...) → RMSprop(learning_rate=...)"],
    "model_saved": True,
    "model_error": None,
}
GOOD_EXECUTION: dict[str, Any] = {"kind": "notebook", "ran_to_end": True, "error": None,
                                  "kernel_died": False, "code_cells": 6,
                                  "cells": [{"cell": i, "ok": True, "seconds": 0.1}
                                            for i in range(1, 7)]}


# --- a well-formed trace --------------------------------------------------------------------

def test_well_formed_trace_round_trips_into_typed_objects(tmp_path: Path) -> None:
    trace = traces.load(write(tmp_path, GOOD_TRACE, GOOD_EXECUTION))

    assert trace.problems == ()
    assert trace.generators == (Generator(id=0, rescale=1 / 255, kwargs={"rescale": 1 / 255},
                                          rescales_used=(1 / 255,)),)
    assert trace.flows == (FlowCall(id=0, generator_id=0, directory="/tmp/h-or-s",
                                    target_size=(150, 150), batch_size=10, class_mode="binary",
                                    images_found=80, class_indices={"happy": 0, "sad": 1},
                                    error=None),)
    (compiled,) = trace.compiles
    assert (compiled.loss, compiled.optimizer, compiled.learning_rate, compiled.metrics) == (
        "binary_crossentropy", "RMSprop", 0.001, ["accuracy"])

    (only_fit,) = trace.fits
    assert only_fit.epochs_requested == 15 and only_fit.steps_per_epoch == 8
    assert only_fit.train_flow_id == 0 and only_fit.completed and only_fit.error is None
    assert only_fit.callbacks == ("myCallback",)
    assert [e.epoch for e in only_fit.epochs] == [1, 2, 3]
    assert [e.accuracy for e in only_fit.epochs] == [0.55, 0.9, 1.0]
    assert only_fit.epochs[0].logs == {"loss": 0.69, "accuracy": 0.55}
    assert (only_fit.stopped_by, only_fit.stopped_at_epoch) == ("myCallback", 3)

    # what a run says of a callback test is not read at all: the test runs apart
    assert not hasattr(trace, "callback_tests")
    assert trace.entry_point == EntryPoint(name="train_happy_sad_model", called_by="student",
                                           returned_type="float", returned_value=1.0,
                                           error=None)
    assert trace.compat_notes == ("RMSprop(lr=...) → RMSprop(learning_rate=...)",)
    assert trace.model_saved is True and trace.model_error is None
    assert trace.execution == Execution(kind="notebook", ran_to_end=True, kernel_died=False,
                                        code_cells=6, cells_run=6)
    assert trace.training_fit is only_fit
    assert trace.training_flow is trace.flows[0]
    assert trace.generator_of(trace.training_flow) is trace.generators[0]


def test_execution_error_is_read_from_its_nested_record(tmp_path: Path) -> None:
    execution = {**GOOD_EXECUTION, "ran_to_end": False, "cells": GOOD_EXECUTION["cells"][:3],
                 "error": {"cell_index": 4, "ename": "NameError",
                           "evalue": "name 'model' is not defined"}}
    trace = traces.load(write(tmp_path, GOOD_TRACE, execution))

    assert trace.execution.error_name == "NameError"
    assert trace.execution.error_value == "name 'model' is not defined"
    assert trace.execution.error_cell == 4
    assert trace.execution.ran_to_end is False


def test_missing_artefacts_give_an_empty_trace_without_problems(tmp_path: Path) -> None:
    trace = traces.load(tmp_path)

    assert trace == Trace()
    assert trace.training_fit is None and trace.training_flow is None


@pytest.mark.parametrize(("logs", "expected"), [
    ({"accuracy": 0.75, "loss": 0.4}, 0.75),
    ({"acc": 0.6, "loss": 0.4}, 0.6),               # TF 1.x / early 2.x name
    ({"accuracy": 0.8, "acc": 0.1}, 0.8),           # 'accuracy' wins when both are logged
    ({"loss": 0.4}, None),                          # compiled without metrics
])
def test_epoch_accuracy_reads_accuracy_or_acc(logs: dict[str, float],
                                              expected: float | None) -> None:
    assert Epoch(1, logs).accuracy == expected


def test_acc_logs_survive_loading(tmp_path: Path) -> None:
    raw = {"fits": [fit(0, [epoch(1, loss=0.5, acc=0.7), epoch(2, loss=0.1, acc=1.0)])]}
    trace = traces.load(write(tmp_path, raw))

    assert [e.accuracy for e in trace.fits[0].epochs] == [0.7, 1.0]


# --- wrong types become problems and missing values ------------------------------------------

def test_strings_where_ints_are_expected_become_problems(tmp_path: Path) -> None:
    raw = {"fits": [fit("0", [epoch(1, accuracy=0.9)], epochs_requested="15",
                        stopped_by={"callback": "myCallback", "epoch": "1"})],
           "flows": [{**flow(0, 0, "/tmp/h-or-s"), "images_found": "80"}]}
    trace = traces.load(write(tmp_path, raw))

    (loaded_fit,) = trace.fits
    assert loaded_fit.id == -1 and loaded_fit.epochs_requested is None
    assert loaded_fit.stopped_by == "myCallback" and loaded_fit.stopped_at_epoch is None
    assert trace.flows[0].images_found is None
    for key in ("id", "epochs_requested", "epoch", "images_found"):
        assert f"trace field '{key}' has an unexpected type" in trace.problems


def test_booleans_are_not_accepted_as_numbers(tmp_path: Path) -> None:
    raw = {"fits": [fit(0, [epoch(1, accuracy=True, loss=0.3)], epochs_requested=True)],
           "entry_points": [{"name": "f", "calls": [{
               "called_by": "student", "returned": {"type": "bool", "value": True},
               "error": None}]}]}
    trace = traces.load(write(tmp_path, raw))

    assert trace.fits[0].epochs_requested is None
    assert trace.fits[0].epochs[0].logs == {"loss": 0.3}
    assert trace.entry_point is not None and trace.entry_point.returned_value is None
    assert "trace field 'epochs_requested' has an unexpected type" in trace.problems
    assert "trace field 'value' has an unexpected type" in trace.problems


def test_an_int_where_a_float_is_expected_is_widened(tmp_path: Path) -> None:
    raw = {"generators": [{"id": 0, "rescale": 1, "kwargs": {}}]}
    trace = traces.load(write(tmp_path, raw))

    assert trace.generators[0].rescale == 1.0 and isinstance(trace.generators[0].rescale, float)
    assert trace.problems == ()


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", '"nan"', '"inf"'])
def test_non_finite_accuracies_become_missing_values(tmp_path: Path, bad: str) -> None:
    # JSON literals NaN/Infinity (json.dumps writes them) and the runner's repr() strings.
    text = ('{"fits": [{"id": 0, "epochs": [{"epoch": 1, "logs": {"loss": 0.5, '
            f'"accuracy": {bad}}}}}]}}]}}')
    trace = traces.load(write(tmp_path, text))

    (only,) = trace.fits[0].epochs
    assert only.accuracy is None
    assert only.logs == {"loss": 0.5}


def test_non_finite_float_fields_become_missing(tmp_path: Path) -> None:
    text = ('{"generators": [{"id": 0, "rescale": NaN}], '
            '"compiles": [{"loss": "mse", "learning_rate": Infinity}]}')
    trace = traces.load(write(tmp_path, text))

    assert trace.generators[0].rescale is None
    assert trace.compiles[0].learning_rate is None


def test_a_list_where_a_dict_is_expected_is_ignored(tmp_path: Path) -> None:
    raw = {"fits": [fit(0, [{"epoch": 1, "logs": [0.5, 0.9]}],
                        stopped_by=["myCallback", 1])],
           "flows": [{**flow(0, 0, "/tmp/h-or-s"), "class_indices": ["happy", "sad"]}],
           "entry_points": "train_happy_sad_model",
           "generators": [{"id": 0, "rescale": 1 / 255, "kwargs": [1, 2]}]}
    trace = traces.load(write(tmp_path, raw))

    assert trace.fits[0].epochs[0].logs == {}
    assert trace.fits[0].stopped_by is None and trace.fits[0].stopped_at_epoch is None
    assert trace.flows[0].class_indices is None
    assert trace.entry_point is None
    assert trace.generators[0].kwargs == {}
    assert "trace field 'class_indices' has an unexpected type" in trace.problems
    assert "trace field 'kwargs' has an unexpected type" in trace.problems


def test_a_dict_where_a_list_is_expected_is_a_problem(tmp_path: Path) -> None:
    raw = {"fits": {"0": fit(0)}, "flows": "everything", "generators": [1, "two", None]}
    trace = traces.load(write(tmp_path, raw))

    assert trace.fits == () and trace.flows == () and trace.generators == ()
    assert "trace field 'fits' is not a list" in trace.problems
    assert "trace field 'flows' is not a list" in trace.problems


@pytest.mark.parametrize(("trace_text", "execution_text"), [
    ("[1, 2, 3]", None),
    ('"a string"', None),
    ("{}", '[{"kind": "notebook"}]'),
])
def test_a_top_level_value_that_is_not_an_object_is_a_problem(
        tmp_path: Path, trace_text: str, execution_text: str | None) -> None:
    trace = traces.load(write(tmp_path, trace_text, execution_text))

    assert trace.fits == () and trace.execution == Execution()
    assert any("is not a JSON object" in p for p in trace.problems)


def test_strings_are_size_bounded(tmp_path: Path) -> None:
    execution = {**GOOD_EXECUTION, "error": {"ename": "E" * 5000, "evalue": "v" * 50_000,
                                             "cell_index": 1}}
    raw = {"model_error": "m" * 10_000, "compat_notes": ["n" * 10_000] * 500}
    trace = traces.load(write(tmp_path, raw, execution))

    assert len(trace.execution.error_name or "") == 200
    assert len(trace.execution.error_value or "") == 1000
    assert len(trace.model_error or "") == 500
    assert len(trace.compat_notes) == 50 and all(len(n) == 300 for n in trace.compat_notes)


def test_deeply_nested_json_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    depth = 100_000
    text = '{"fits": ' + "[" * depth + "]" * depth + "}"
    trace = traces.load(write(tmp_path, text))

    assert trace.fits == ()
    assert "trace.json is not valid JSON; ignored" in trace.problems


def test_a_trace_larger_than_5_mb_is_ignored(tmp_path: Path) -> None:
    big = dict(GOOD_TRACE, compat_notes=["x" * (artefacts.MAX_JSON_BYTES + 1)])
    trace = traces.load(write(tmp_path, big, GOOD_EXECUTION))

    assert trace.fits == () and trace.compat_notes == ()
    assert trace.execution.ran_to_end is True          # the small file is still read
    assert trace.problems == ("trace.json is larger than 5 MB; ignored",)


@pytest.mark.parametrize("content", [b'{"fits": [', b"not json at all", b"\xff\xfe{}",
                                     b""])
def test_invalid_json_is_a_problem(tmp_path: Path, content: bytes) -> None:
    trace = traces.load(write(tmp_path, content, GOOD_EXECUTION))

    assert trace.fits == ()
    assert trace.problems == ("trace.json is not valid JSON; ignored",)
    assert trace.execution.kind == "notebook"


def test_invalid_execution_json_is_a_problem(tmp_path: Path) -> None:
    trace = traces.load(write(tmp_path, GOOD_TRACE, '{"kind": "notebook", '))

    assert trace.execution == Execution()
    assert trace.problems == ("execution.json is not valid JSON; ignored",)
    assert trace.fits  # the good trace.json is unaffected


def test_a_symlinked_trace_pointing_elsewhere_is_ignored(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write(elsewhere, GOOD_TRACE, GOOD_EXECUTION)
    artefacts = tmp_path / "artefacts"
    artefacts.mkdir()
    (artefacts / "trace.json").symlink_to(elsewhere / "trace.json")
    (artefacts / "execution.json").symlink_to(elsewhere / "execution.json")

    trace = traces.load(artefacts)

    assert trace.fits == () and trace.entry_point is None and not trace.model_saved
    assert trace.execution == Execution()


# --- which fit and which flow were used for training -----------------------------------------

def test_training_fit_is_the_last_fit_that_ran_an_epoch(tmp_path: Path) -> None:
    raw = {"fits": [fit(0, [epoch(1, accuracy=0.5)]),
                    fit(1, [epoch(1, accuracy=0.9), epoch(2, accuracy=1.0)]),
                    fit(2, [], completed=False, error="ValueError: bad input")]}
    trace = traces.load(write(tmp_path, raw))

    assert trace.training_fit is not None and trace.training_fit.id == 1


def test_a_repeat_cut_off_by_the_end_of_the_run_leaves_the_first_call_judged(
        tmp_path: Path) -> None:
    """issue 20, item 1: train_happy_sad_model() run again in a later cell, and the time
    limit ends the run inside that second training. A fit saves the model where it ends:
    the second never ended, so the model is the first's, and the first is judged."""
    first = [epoch(1, accuracy=0.9), epoch(2, accuracy=1.0)]
    raw = {"flows": [flow(0, 0, "/tmp/h-or-s"), flow(1, 0, "/tmp/h-or-s")],
           "fits": [fit(0, first, stopped_by={"callback": "myCallback", "epoch": 2}),
                    fit(1, [epoch(1, accuracy=0.8)], train_flow_id=1, completed=False)]}
    trace = traces.load(write(tmp_path, raw))
    assert trace.training_fit is not None and trace.training_fit.id == 0
    assert trace.cut_off_repeat is not None and trace.cut_off_repeat.id == 1
    assert trace.training_flow is not None and trace.training_flow.id == 0


@pytest.mark.parametrize(("second", "why"), [
    ({"completed": True}, "it ended, and saved its own model"),
    ({"completed": False, "error": "KeyboardInterrupt: "}, "it raised: saved where it raised"),
    ({"completed": False, "epochs_requested": 30}, "other settings: not the same training"),
    ({"completed": False, "train_flow_id": 2}, "a flow of another size"),
])
def test_the_last_fit_stays_judged_unless_it_is_a_cut_off_repeat(
        tmp_path: Path, second: dict[str, Any], why: str) -> None:
    other = {**flow(2, 0, "/tmp/h-or-s"), "target_size": [256, 256]}
    raw = {"flows": [flow(0, 0, "/tmp/h-or-s"), flow(1, 0, "/tmp/h-or-s"), other],
           "fits": [fit(0, [epoch(1, accuracy=1.0)]),
                    fit(1, [epoch(1, accuracy=0.8)], **{"train_flow_id": 1, **second})]}
    trace = traces.load(write(tmp_path, raw))
    assert trace.training_fit is not None and trace.training_fit.id == 1, why
    assert trace.cut_off_repeat is None, why


def test_an_ended_fit_between_a_first_call_and_its_cut_off_repeat_is_judged(
        tmp_path: Path) -> None:
    """The model is the one the last ended fit saved: the first call is judged only when
    no other fit ended after it."""
    raw = {"flows": [flow(0, 0, "/tmp/h-or-s")],
           "fits": [fit(0, [epoch(1, accuracy=1.0)]),
                    fit(1, [epoch(1, accuracy=0.7)], epochs_requested=3),
                    fit(2, [epoch(1, accuracy=0.8)], completed=False)]}
    trace = traces.load(write(tmp_path, raw))
    assert trace.training_fit is not None and trace.training_fit.id == 2
    assert trace.cut_off_repeat is None


def test_training_fit_falls_back_to_the_last_fit_when_none_ran(tmp_path: Path) -> None:
    raw = {"fits": [fit(0, []), fit(1, [], error="ValueError: bad input")]}
    trace = traces.load(write(tmp_path, raw))

    assert trace.training_fit is not None and trace.training_fit.id == 1


def test_training_flow_follows_train_flow_id(tmp_path: Path) -> None:
    raw = {"generators": [{"id": 0, "rescale": None}, {"id": 1, "rescale": 1 / 255}],
           "flows": [flow(0, 0, "/tmp/validation"), flow(1, 1, "/tmp/h-or-s")],
           "fits": [fit(0, [epoch(1, accuracy=0.9)], train_flow_id=1)]}
    trace = traces.load(write(tmp_path, raw))

    assert trace.training_flow is not None and trace.training_flow.directory == "/tmp/h-or-s"
    generator = trace.generator_of(trace.training_flow)
    assert generator is not None and generator.rescale == 1 / 255


@pytest.mark.parametrize("train_flow_id", [None, 7])
def test_training_flow_falls_back_to_the_first_flow(tmp_path: Path,
                                                    train_flow_id: int | None) -> None:
    raw = {"flows": [flow(0, 0, "/tmp/first"), flow(1, 0, "/tmp/second")],
           "fits": [fit(0, [epoch(1, accuracy=0.9)], train_flow_id=train_flow_id)]}
    trace = traces.load(write(tmp_path, raw))

    assert trace.training_flow is not None and trace.training_flow.directory == "/tmp/first"


def test_a_symlinked_artefacts_folder_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    elsewhere = write(tmp_path / "elsewhere", {"model_saved": True})
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "artefacts").symlink_to(elsewhere)
    loaded = traces.load(tmp_path / "run" / "artefacts")
    assert loaded.model_saved is False
    assert any("link" in p for p in loaded.problems)


def test_a_fifo_in_place_of_the_trace_does_not_block(tmp_path: Path) -> None:
    import os
    import time

    os.mkfifo(tmp_path / "trace.json")
    started = time.monotonic()
    loaded = traces.load(tmp_path)
    assert time.monotonic() - started < 2
    assert loaded == Trace(problems=loaded.problems)
    assert artefacts.open_artefact(tmp_path, "trace.json") is None


def test_open_artefact_refuses_links_and_reads_files(tmp_path: Path) -> None:
    import os

    (tmp_path / "model.keras").write_bytes(b"model")
    (tmp_path / "link.keras").symlink_to(tmp_path / "model.keras")
    descriptor = artefacts.open_artefact(tmp_path, "model.keras")
    assert descriptor is not None
    with os.fdopen(descriptor, "rb") as handle:
        assert handle.read() == b"model"
    assert artefacts.open_artefact(tmp_path, "link.keras") is None


def test_free_form_values_are_cut_to_a_bounded_shape(tmp_path: Path) -> None:
    nested: Any = "leaf"
    for _ in range(500):
        nested = {"k": nested}
    write(tmp_path, {"generators": [{"id": 0, "kwargs": {"deep": nested,
                                                        "long": "x" * 10_000}}],
                     "compiles": [{"loss": [nested] * 200, "metrics": nested}]})
    loaded = traces.load(tmp_path)
    kwargs = loaded.generators[0].kwargs
    assert len(kwargs["long"]) <= 300
    assert len(json.dumps(kwargs)) < 1000
    assert len(loaded.compiles[0].loss) <= 50
    assert len(json.dumps(loaded.compiles[0].metrics)) < 200
