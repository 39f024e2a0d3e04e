"""The graded function: record whether the student's code called it and what it returned.

Course notebooks define `train_happy_sad_model()` and call it in a later cell; if a
submission only defines it, the grader calls it once at the end, as the course's hub did.
"""

from __future__ import annotations

import builtins
import functools
from typing import Any

from grader.runner.recorder import current, plain

_grader_calling = False


def describe_return(value: Any) -> dict[str, Any]:
    kind = type(value).__name__
    described: dict[str, Any] = {"type": kind, "value": None, "repr": repr(value)[:200]}
    try:
        if hasattr(value, "history") and isinstance(value.history, dict):
            described["history_keys"] = sorted(str(k) for k in value.history)[:20]
        elif isinstance(value, int | float) or getattr(value, "shape", None) == ():
            described["value"] = float(value)
    except Exception:  # noqa: BLE001 - an odd return value is shown by repr only
        pass
    return plain(described)


def entry_decorator(function: Any) -> Any:
    """Each definition of the graded function is a record (a notebook cell run twice
    defines it twice); each call of it adds a call to the definition called."""
    recorder = current()
    definition = recorder.add("entry_points", {"name": function.__name__, "calls": []})
    recorder.flush()

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = definition["calls"].add({"called_by": "grader" if _grader_calling
                                        else "student", "returned": None, "error": None})
        current().flush()  # a call that never returns (time limit) is still a call
        try:
            value = function(*args, **kwargs)
        except BaseException as exc:
            call["error"] = f"{type(exc).__name__}: {exc}"[:500]
            current().flush()
            raise
        call["returned"] = describe_return(value)
        current().flush()
        return value

    wrapper._grader_entry = True  # type: ignore[attr-defined]
    return wrapper


def install() -> None:
    builtins.__grader_entry__ = entry_decorator  # type: ignore[attr-defined]


def _needs_arguments(function: Any) -> bool:
    import inspect

    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                   p.KEYWORD_ONLY) for p in parameters)


def call_if_uncalled(namespace: dict[str, Any], name: str | None) -> None:
    """Call the entry point once if the student's code defined it but never called it."""
    global _grader_calling
    if not name:
        return
    function = namespace.get(name)
    definitions = current().data["entry_points"]
    if not callable(function) or not getattr(function, "_grader_entry", False) \
            or not definitions:
        return
    if any(definition["calls"] for definition in definitions):
        return
    if _needs_arguments(function):  # 2022: train_happy_sad_model(train_generator)
        current().note(f"{name}() takes arguments and was never called: the grader does not "
                       "guess them")
        return
    current().note(f"{name}() was defined but never called: the grader called it")
    _grader_calling = True
    try:
        function()
    except BaseException as exc:  # noqa: BLE001 - recorded by the wrapper, graded as such
        print(f"{name}() raised {type(exc).__name__}: {exc}")
    finally:
        _grader_calling = False
