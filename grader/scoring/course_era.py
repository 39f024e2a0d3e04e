"""Models that course-era code saves, read as what they are, without running any code.

Why: 2019-era answers write `Dense(2, activation=tf.nn.softmax)`. Keras 3 saves a TensorFlow
function it does not know by name as `{"module": "builtins", "class_name": "function",
"config": "softmax_v2"}`, and refuses to load it in safe mode, so the input shape, the
output layer, the convolutions and the hidden accuracy of an honest answer could not be
judged (issue 20, 5), and the student's real mistake (two softmax units) went unreported.
Each `tf.nn` activation the course uses has a Keras activation of the same meaning; the
saved configuration is rewritten to name it, in a copy of the model, before the safe
load. Nothing is imported or called by name from the file: the mapping is a fixed table,
and a function not in it stays unloadable, as before.

Runs in the scorer process (bounded by its memory cgroup, CPU and wall limits), since the
model file is hostile data: its config is read with a size cap, the other members are
copied as they are.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

CONFIG_MEMBER = "config.json"
MAX_CONFIG_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
# tf.nn function names (as Keras 3 saves them) → the Keras activation of the same meaning
TF_NN_ACTIVATIONS = {
    "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh",
    "softmax": "softmax", "softmax_v2": "softmax", "log_softmax": "log_softmax",
    "log_softmax_v2": "log_softmax", "elu": "elu", "selu": "selu", "softplus": "softplus",
    "softsign": "softsign", "silu": "silu", "swish": "silu", "gelu": "gelu",
    "leaky_relu": "leaky_relu", "exp": "exponential",
}


def _function_name(value: Any) -> str | None:
    """The name of a plain function the config refers to, as Keras 3 saves one."""
    if isinstance(value, dict) and value.get("class_name") == "function" \
            and value.get("module") in ("builtins", "tensorflow", "tensorflow.nn") \
            and isinstance(value.get("config"), str):
        return value["config"]
    return None


def _rewrite(value: Any, renamed: dict[str, str], depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = _function_name(item) if key == "activation" else None
            if name in TF_NN_ACTIVATIONS:
                renamed[name] = TF_NN_ACTIVATIONS[name]
                out[key] = TF_NN_ACTIVATIONS[name]
            else:
                out[key] = _rewrite(item, renamed, depth + 1)
        return out
    if isinstance(value, list):
        return [_rewrite(item, renamed, depth + 1) for item in value]
    return value


def _config(archive: zipfile.ZipFile) -> Any:
    """The model file's config.json, parsed, or None when it is larger than the cap."""
    info = archive.getinfo(CONFIG_MEMBER)
    return None if info.file_size > MAX_CONFIG_BYTES else json.loads(archive.read(info))


def keras_named_copy(model: Path, target: Path) -> dict[str, str]:
    """Write `target`: `model` with each course-era `tf.nn` activation named as Keras's.
    Returns what was renamed ({} when nothing was, and then nothing is written)."""
    try:
        with zipfile.ZipFile(model) as archive:
            config = _config(archive)
            renamed: dict[str, str] = {}
            rewritten = _rewrite(config, renamed)
            if not renamed:
                return {}
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
                for member in archive.infolist():
                    if member.filename == CONFIG_MEMBER:
                        out.writestr(CONFIG_MEMBER, json.dumps(rewritten))
                    else:
                        with archive.open(member) as source, out.open(member, "w") as sink:
                            while chunk := source.read(1 << 20):
                                sink.write(chunk)
    except (OSError, KeyError, ValueError, RecursionError, zipfile.BadZipFile):
        return {}
    return renamed


def saved_loss(model: Path) -> str | list[str] | None:
    """The loss the saved model was compiled with, as its `compile_config` names it (None
    when it was saved uncompiled): a name ('binary_crossentropy'), a loss object's own
    name or class (`BinaryCrossentropy()`), or a function's name. Read as JSON, never
    deserialized."""
    try:
        with zipfile.ZipFile(model) as archive:
            config = _config(archive)
    except (OSError, KeyError, ValueError, RecursionError, zipfile.BadZipFile):
        return None
    compiled = config.get("compile_config") if isinstance(config, dict) else None
    loss = compiled.get("loss") if isinstance(compiled, dict) else None
    if isinstance(loss, list):
        names = [_loss_name(item) for item in loss[:10]]
        return [n for n in names if n] or None
    return _loss_name(loss)


def _loss_name(loss: Any) -> str | None:
    if isinstance(loss, str):
        return loss[:100]
    if not isinstance(loss, dict):
        return None
    config = loss.get("config")
    if loss.get("class_name") == "function" and isinstance(config, str):
        return config[:100]
    if isinstance(config, dict) and isinstance(config.get("name"), str):
        return config["name"][:100]
    return str(loss.get("class_name"))[:100] if loss.get("class_name") else None


def note(renamed: dict[str, str]) -> str:
    shown = ", ".join(f"tf.nn.{old.removesuffix('_v2')} as '{new}'"
                      for old, new in sorted(renamed.items()))
    return f"course-era activations read as Keras's own: {shown}"
