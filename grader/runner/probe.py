"""Probe hooks: record what the student's code asks Keras to do, without changing it.

Records every ImageDataGenerator, flow_from_directory and image_dataset_from_directory
call, every compile and every fit (arguments, per-epoch logs, which callback stopped
training), and saves the last trained model. Patches are installed on the classes, so
every import path (keras, tf.keras, keras.preprocessing…) sees them.
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any

from grader.runner import callbacks as grader_callbacks
from grader.runner.compat import AliasLogs, drop_keras2_args
from grader.runner.recorder import current, plain
from grader.runner.saving import save_model

LONG_EPOCHS = "repeat"  # the spec's [training] long_epochs: "repeat" or "one_pass"
_UNSET = object()
_ACTIVE_FITS: list[int] = []  # ids of the fits running now, innermost last


def _x_kind(x: Any) -> str:
    """What the fit trains on: only a flow reads its images from disk each epoch, so only
    then can the trusted side see the reads (an array was decoded before the fit)."""
    from keras.src.legacy.preprocessing.image import Iterator

    if isinstance(x, Iterator):
        return "flow"
    module = type(x).__module__ or ""
    if module.startswith("tensorflow") and "data" in module:
        return "dataset"
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return "array"
    if inspect.isgenerator(x):
        return "generator"
    return type(x).__name__[:60]


def _note_outside_fit(call: str) -> None:
    """The first training step of this kind at this place (after which fit, inside which
    fit): training the graded fit's records do not cover."""
    recorder = current()
    fits = recorder.data["fits"]
    record = {"call": call, "after_fit": len(fits) - 1 if fits else None,
              "inside_fit": _ACTIVE_FITS[-1] if _ACTIVE_FITS else None}
    if record not in recorder.data["outside_fit"]:
        recorder.add("outside_fit", record)
        recorder.flush()


def _patch_train_on_batch(keras: Any) -> None:
    original = keras.Model.train_on_batch

    @functools.wraps(original)
    def train_on_batch(self: Any, *args: Any, **kwargs: Any) -> Any:
        _note_outside_fit("train_on_batch")
        return original(self, *args, **kwargs)

    keras.Model.train_on_batch = train_on_batch


def install(long_epochs: str = "repeat") -> None:
    global LONG_EPOCHS
    import keras
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    LONG_EPOCHS = long_epochs
    _patch_image_data_generator(ImageDataGenerator)
    _patch_rescaling(keras)
    _patch_dataset_from_directory(keras)
    _patch_compile(keras)
    _patch_fit(keras)
    _patch_inference(keras)
    _patch_train_on_batch(keras)


def _patch_image_data_generator(cls: Any) -> None:
    original_init = cls.__init__
    original_flow = cls.flow_from_directory
    flow_signature = inspect.signature(original_flow)

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        recorder = current()
        self._grader_id = len(recorder.data["generators"])
        recorder.add("generators", {
            "id": self._grader_id,
            "kwargs": plain(kwargs),
            "positional_args": len(args),
            "rescale": plain(self.rescale),
            "rescales_used": [],  # each rescale its batches were really made with
        })
        recorder.flush()

    @functools.wraps(original_flow)
    def flow_from_directory(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = current()
        bound = flow_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self", None)
        entry: dict[str, Any] = {
            "id": len(recorder.data["flows"]),
            "generator_id": getattr(self, "_grader_id", None),
            "directory": recorder.shown_path(arguments.get("directory")),
            "target_size": plain(arguments.get("target_size")),
            "batch_size": plain(arguments.get("batch_size")),
            "class_mode": plain(arguments.get("class_mode")),
            "color_mode": plain(arguments.get("color_mode")),
            "images_found": None,
            "class_indices": None,
            "error": None,
        }
        entry = recorder.add("flows", entry)
        try:
            iterator = original_flow(self, *args, **kwargs)
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
            recorder.flush()
            raise
        entry["images_found"] = int(iterator.samples)
        entry["class_indices"] = plain(iterator.class_indices)
        iterator._grader_flow_id = entry["id"]
        recorder.flush()
        return iterator

    original_standardize = cls.standardize

    @functools.wraps(original_standardize)
    def standardize(self: Any, x: Any) -> Any:
        """Record the rescale each image is really standardised with: the generator's
        attribute may have been changed after it was created (and recorded)."""
        used = getattr(self, "rescale", None)
        if getattr(self, "_grader_last_rescale", _UNSET) != used:
            self._grader_last_rescale = used
            generator_id = getattr(self, "_grader_id", None)
            recorder = current()
            if isinstance(generator_id, int) and generator_id < len(recorder.data[
                    "generators"]):
                recorder.data["generators"][generator_id]["rescales_used"].add(plain(used))
                recorder.flush()
        return original_standardize(self, x)

    cls.__init__ = __init__
    cls.flow_from_directory = flow_from_directory
    cls.standardize = standardize


def _patch_dataset_from_directory(keras: Any) -> None:
    """image_dataset_from_directory is re-exported under several names; patch each one."""
    from keras.src.utils import image_dataset_utils

    original = image_dataset_utils.image_dataset_from_directory
    signature = inspect.signature(original)

    @functools.wraps(original)
    def image_dataset_from_directory(*args: Any, **kwargs: Any) -> Any:
        recorder = current()
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        entry = {
            "id": len(recorder.data["datasets"]),
            "directory": recorder.shown_path(arguments.get("directory")),
            "image_size": plain(arguments.get("image_size")),
            "batch_size": plain(arguments.get("batch_size")),
            "label_mode": plain(arguments.get("label_mode")),
            "class_names": None,
            "error": None,
        }
        entry = recorder.add("datasets", entry)
        try:
            dataset = original(*args, **kwargs)
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
            recorder.flush()
            raise
        entry["class_names"] = plain(getattr(dataset, "class_names", None))
        recorder.flush()
        return dataset

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "") or ""
        if name.startswith("keras") and getattr(module, "image_dataset_from_directory",
                                                None) is original:
            module.image_dataset_from_directory = image_dataset_from_directory


def _patch_rescaling(keras: Any) -> None:
    """Record Rescaling layers (2024: a dataset's pixels are rescaled by mapping a Rescaling
    layer over it, outside the model, so only the run can say it happened). Recorded at
    the first call, not in __init__: Keras reads __init__'s argument spec for configs."""
    cls = keras.layers.Rescaling
    original_call = cls.call

    @functools.wraps(original_call)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not getattr(self, "_grader_recorded", False):
            self._grader_recorded = True
            recorder = current()
            recorder.add("rescalings", {
                "scale": plain(getattr(self, "scale", None)),
                "offset": plain(getattr(self, "offset", None))})
            recorder.flush()
        return original_call(self, *args, **kwargs)

    cls.call = call


def _name_of(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return [_name_of(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _name_of(v) for k, v in value.items()}
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return value.__name__
    config_name = getattr(value, "name", None)
    return config_name if isinstance(config_name, str) else type(value).__name__


def _learning_rate(optimizer: Any) -> float | None:
    try:
        return float(optimizer.learning_rate.numpy() if hasattr(optimizer.learning_rate,
                                                                  "numpy")
                     else optimizer.learning_rate)
    except Exception:  # noqa: BLE001 - a schedule has no single learning rate
        return None


def _patch_compile(keras: Any) -> None:
    original = keras.Model.compile

    @functools.wraps(original)
    def compile(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = current()
        optimizer_arg = kwargs.get("optimizer", args[0] if args else "rmsprop")
        result = original(self, *args, **kwargs)
        loss = kwargs.get("loss", args[1] if len(args) > 1 else None)
        optimizer = getattr(self, "optimizer", None)
        recorder.add("compiles", {
            "loss": plain(_name_of(loss)),
            "loss_class": None if loss is None or isinstance(loss, str)
            else type(loss).__name__,
            "optimizer": type(optimizer).__name__ if optimizer is not None
            else plain(_name_of(optimizer_arg)),
            "optimizer_given_as": plain(optimizer_arg if isinstance(optimizer_arg, str)
                                        else type(optimizer_arg).__name__),
            "learning_rate": _learning_rate(optimizer) if optimizer is not None else None,
            "metrics": plain(_name_of(kwargs.get("metrics", args[2] if len(args) > 2
                                                 else None))),
        })
        recorder.flush()
        return result

    keras.Model.compile = compile


def _patch_inference(keras: Any) -> None:
    """evaluate and predict read the images too: the trusted side must know when they ran,
    so their reads are not taken for training that went on after the recorded epochs."""
    for name in ("evaluate", "predict"):
        original = getattr(keras.Model, name)

        def call(self: Any, *args: Any, _original: Any = original, _name: str = name,
                 **kwargs: Any) -> Any:
            record = current().add("inferences", {"call": _name, "finished": False})
            try:
                return _original(self, *args, **kwargs)
            finally:
                record["finished"] = True

        setattr(keras.Model, name, functools.wraps(original)(call))


def _patch_fit(keras: Any) -> None:
    original = keras.Model.fit
    signature = inspect.signature(original)

    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        recorder = current()
        drop_keras2_args("fit", kwargs)
        bound = signature.bind(self, *args, **kwargs)
        arguments = bound.arguments
        x = arguments.get("x")
        validation = arguments.get("validation_data")
        given = arguments.get("callbacks") or []
        # Keras flattens what it is given: a single callback, not in a list, is accepted.
        user_callbacks = list(given) if isinstance(given, list | tuple) else [given]
        entry: dict[str, Any] = {
            "id": len(recorder.data["fits"]),
            "epochs_requested": plain(arguments.get("epochs", 1)),
            "steps_per_epoch": plain(arguments.get("steps_per_epoch")),
            "batch_size": plain(arguments.get("batch_size")),
            "train_flow_id": getattr(x, "_grader_flow_id", None),
            "x_kind": _x_kind(x),
            "inside_fit": _ACTIVE_FITS[-1] if _ACTIVE_FITS else None,
            "has_validation": validation is not None,
            "validation_flow_id": getattr(validation, "_grader_flow_id", None),
            "validation_steps": plain(arguments.get("validation_steps")),
            "callbacks": [type(cb).__name__ for cb in user_callbacks],
            "epochs": [],
            "stopped_by": None,
            "completed": False,
            "error": None,
        }
        entry = recorder.add("fits", entry)
        recorder.flush()
        if LONG_EPOCHS == "one_pass":
            _one_pass(arguments, "x", "steps_per_epoch")
            _one_pass(arguments, "validation_data", "validation_steps")
        else:
            arguments["x"] = _repeat_if_short(x, arguments.get("steps_per_epoch"))
            if isinstance(arguments.get("validation_steps"), int):
                arguments["validation_data"] = _repeat_if_short(
                    validation, arguments.get("validation_steps"))
        for callback in user_callbacks:
            grader_callbacks.watch_stop_training(callback, self, entry)
        # the recorder first: it records the logs Keras computed before any student
        # callback can edit them (every callback is handed the same dict)
        arguments["callbacks"] = [grader_callbacks.FitRecorder(entry)] + user_callbacks
        if _ACTIVE_FITS:
            _note_outside_fit("fit inside a fit")
        _ACTIVE_FITS.append(entry["id"])
        try:
            history = original(*bound.args, **bound.kwargs)
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
            recorder.flush()
            # The model and the callbacks still exist: let the trusted side judge them.
            if not entry.get("saved") and getattr(self, "built", False):
                save_model(self)
            raise
        finally:
            _ACTIVE_FITS.remove(entry["id"])
        entry["completed"] = True
        recorder.flush()
        if isinstance(getattr(history, "history", None), dict):
            history.history = AliasLogs(history.history, "history.history")
        return history

    keras.Model.fit = fit


def _repeat_if_short(x: Any, steps_per_epoch: Any) -> Any:
    """Keras 2 generators looped forever; Keras 3 stops training when they run out.

    Course code often asks for more batches than one pass holds (80 images, batch 128,
    steps_per_epoch=8). On TF 1.x the iterator simply wrapped around, so do the same.
    """
    from keras.src.legacy.preprocessing.image import Iterator

    if not isinstance(x, Iterator) or not isinstance(steps_per_epoch, int):
        return x
    batches = len(x)
    if batches == 0 or steps_per_epoch <= batches:
        return x
    current().note(f"steps_per_epoch={steps_per_epoch} > {batches} batch(es) per pass: "
                   "batches repeat as in TF 1.x/2.x")

    def endless() -> Any:
        while True:
            for index in range(batches):
                yield x[index]
            x.on_epoch_end()

    return endless()


def _one_pass(arguments: dict[str, Any], data_key: str, steps_key: str) -> None:
    """Steps beyond one pass over a smaller stand-in data set are capped at one pass.

    The lessons ask for steps_per_epoch=8 batches of 128 because that is one pass over the
    real 1,027 images; on the grader's smaller set one pass is what an epoch meant.
    """
    from keras.src.legacy.preprocessing.image import Iterator

    data, steps = arguments.get(data_key), arguments.get(steps_key)
    if not isinstance(data, Iterator) or not isinstance(steps, int) or len(data) == 0 \
            or steps <= len(data):
        return
    arguments[steps_key] = len(data)
    current().note(f"{steps_key}={steps} > {len(data)} batch(es) in one pass over the "
                   f"grader's smaller data set: capped at one pass per epoch")
