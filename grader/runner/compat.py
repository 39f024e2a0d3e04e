"""Legacy-API compatibility: course-era (TF 1.x / 2.0) code keeps running on Keras 3.

Each shim records a note the first time it is used, so the result says exactly which
rewrites a grade depended on ("ran with compatibility: fit_generator → fit").
"""

from __future__ import annotations

import functools
import importlib
import sys
import types
from typing import Any

from grader.runner.recorder import current

KERAS2_ONLY_FIT_ARGS = ("workers", "use_multiprocessing", "max_queue_size")
# Every name under which Keras 3 / TensorFlow expose the refusing legacy optimizers.
LEGACY_OPTIMIZER_MODULES = ("keras.optimizers.legacy", "keras._tf_keras.keras.optimizers.legacy",
                            "tensorflow.keras.optimizers.legacy")


def install() -> None:
    import keras

    _optimizer_lr()
    _legacy_optimizers(keras)
    _generator_methods(keras)
    _keras_preprocessing_image(keras)
    _sequential_input_output(keras)


def _optimizer_lr() -> None:
    """Keras 3 rejects `lr=` and `decay=` (ValueError: Argument(s) not recognized)."""
    from keras.src.optimizers.base_optimizer import BaseOptimizer

    original = BaseOptimizer.__init__

    @functools.wraps(original)
    def __init__(self: Any, learning_rate: Any = None, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
            current().note(f"{name}(lr=...) → {name}(learning_rate=...)")
        if "decay" in kwargs:
            decay = kwargs.pop("decay")
            current().note(f"{name}(decay={decay!r}) dropped: Keras 3 has no 'decay'")
        original(self, learning_rate, *args, **kwargs)

    BaseOptimizer.__init__ = __init__


def _legacy_optimizers(keras: Any) -> None:
    """`tf.keras.optimizers.legacy.X` raises ImportError on Keras 3; serve the Keras 3 class."""

    def legacy_getattr(name: str) -> Any:
        cls = getattr(keras.optimizers, name, None)
        if cls is None:
            raise AttributeError(name)
        current().note(f"optimizers.legacy.{name} → optimizers.{name}")
        return cls

    for module_name in LEGACY_OPTIMIZER_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in list(vars(module)):
            if not name.startswith("_"):
                delattr(module, name)
        module.__getattr__ = legacy_getattr  # type: ignore[attr-defined]


def drop_keras2_args(method: str, kwargs: dict[str, Any]) -> None:
    for name in KERAS2_ONLY_FIT_ARGS:
        if name in kwargs:
            value = kwargs.pop(name)
            current().note(f"{method}({name}={value!r}) dropped: not a Keras 3 argument")


def _generator_methods(keras: Any) -> None:
    """fit_generator & co. were removed; they were fit/evaluate/predict with a generator."""
    for old, new in (("fit_generator", "fit"), ("evaluate_generator", "evaluate"),
                     ("predict_generator", "predict")):

        def method(self: Any, generator: Any, *args: Any, _old: str = old, _new: str = new,
                   **kwargs: Any) -> Any:
            current().note(f"{_old} → {_new}")
            drop_keras2_args(_old, kwargs)
            return getattr(self, _new)(generator, *args, **kwargs)

        method.__name__ = old
        setattr(keras.Model, old, method)


def _keras_preprocessing_image(keras: Any) -> None:
    """`from keras.preprocessing.image import ImageDataGenerator` works only via tf.keras."""
    from keras.src.legacy.preprocessing import image as legacy_image

    module = sys.modules.get("keras.preprocessing.image")
    if not isinstance(module, types.ModuleType):
        return
    moved = {name: getattr(legacy_image, name) for name in
             ("ImageDataGenerator", "DirectoryIterator", "NumpyArrayIterator", "Iterator")}
    previous = getattr(module, "__getattr__", None)

    def image_getattr(name: str) -> Any:
        if name in moved:
            current().note(f"keras.preprocessing.image.{name} → tf.keras.preprocessing.image")
            return moved[name]
        if previous is not None:
            return previous(name)
        raise AttributeError(name)

    module.__getattr__ = image_getattr  # type: ignore[attr-defined]


def alias_of(key: str) -> str | None:
    """'acc' ↔ 'accuracy' (and the 'val_' forms): TF 1.x logged one, TF 2 the other."""
    if key == "accuracy" or key.endswith("_accuracy"):
        return key[: -len("accuracy")] + "acc"
    if key == "acc" or key.endswith("_acc"):
        return key[: -len("acc")] + "accuracy"
    return None


class AliasLogs(dict):  # type: ignore[type-arg]
    """A logs or History dict that also answers to the other accuracy name.

    11 of 31 real student notebooks compile with metrics=['accuracy'] and read
    logs['acc'] (which TF 1.x allowed). The note is recorded only when the other name is
    actually read, so a result lists the rewrites its grade depended on, no more.
    """

    def __init__(self, data: dict[str, Any], where: str) -> None:
        super().__init__(data)
        self._where = where

    def _alias(self, key: Any) -> Any:
        alias = alias_of(key) if isinstance(key, str) else None
        if alias is None or not dict.__contains__(self, alias):
            raise KeyError(key)
        current().note(f"{self._where}['{key}'] read as '{alias}'")
        return dict.__getitem__(self, alias)

    def __missing__(self, key: Any) -> Any:
        return self._alias(key)

    def get(self, key: Any, default: Any = None) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        try:
            return self._alias(key)
        except KeyError:
            return default


def _sequential_input_output(keras: Any) -> None:
    """Keras 2 gave a Sequential built from input_shape a `model.input`/`model.output`
    (the lessons' feature-map cell: Model(inputs=model.input, ...)); Keras 3 raises
    "has never been called" unless the model was called on a symbolic tensor."""
    cls = keras.Sequential

    def shim(attribute: str, plural: str) -> property:
        original = getattr(cls, attribute)

        def getter(self: Any) -> Any:
            try:
                return original.fget(self)
            except (AttributeError, ValueError):
                tensors = getattr(self, plural)
                if not tensors:
                    raise
                current().note(f"Sequential.{attribute} → Sequential.{plural} "
                               "(Keras 2 attribute)")
                return tensors[0] if len(tensors) == 1 else tensors

        return property(getter)

    cls.input = shim("input", "inputs")
    cls.output = shim("output", "outputs")
