"""Code that looks for the grader from inside its run, and accuracy that is not Keras's.

Why: the probe that records the run lives in the student's process. A student who has read
this grader's source can look for it there — walk the call stack up from a callback to the
probe's frames (`sys._getframe().f_back`), find its module in `sys.modules` by a name built
from pieces, search the heap (`gc.get_referrers`), install a tracer, or give a callback a
`__deepcopy__` that knows when the grader copies it. None of that names the grader, so the
tampering scan (grader.evidence.source) cannot see it; but honest course code never needs
any of it. Looking for the grader is therefore visible: each finding here sends every claim
to review, saying what was seen (points kept, a person decides).

The recorded accuracy is the other thing the run's account rests on: the callback stops on
`logs['accuracy']`, the training record is compared with it. A metric the code compiles
under the name `accuracy` (or `acc`) that is not one of Keras's accuracy metrics — its own
Metric subclass, `Mean(name='accuracy')`, a function named `accuracy`, a `train_step` that
returns its own logs — makes that number the student's, so the claims resting on it go to
review.

Read with `ast` only; nothing is run. Finding texts name what was seen.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from grader.evidence.names import call_name

STACK = "the code inspects the call stack"
MODULES = "the code looks up loaded modules"
HEAP = "the code searches the interpreter's objects"
TRACER = "the code installs a tracer or audit hook"
IMPORTS = "the code changes how modules are imported"
BUILTINS = "the code patches the builtins"
INTERNALS = "the code reaches into functions' internals"
SHELL = "the code reaches into the notebook shell"
CLASS_SWAP = "the code changes an object's class"

# attribute names no honest course code uses, whatever object they are read from
_ANY_BASE = {
    **dict.fromkeys(("_getframe", "_current_frames", "_getframemodulename", "f_back",
                     "f_locals", "f_globals", "f_builtins", "tb_frame", "gi_frame",
                     "cr_frame", "ag_frame", "currentframe", "getouterframes",
                     "getinnerframes", "extract_stack", "walk_stack", "walk_tb"), STACK),
    **dict.fromkeys(("get_objects", "get_referrers", "get_referents", "__subclasses__"),
                    HEAP),
    **dict.fromkeys(("settrace", "setprofile", "settrace_all_threads",
                     "setprofile_all_threads", "addaudithook"), TRACER),
    **dict.fromkeys(("meta_path", "path_hooks", "path_importer_cache"), IMPORTS),
    **dict.fromkeys(("__globals__", "__closure__", "__wrapped__", "__code__",
                     "__kwdefaults__", "__defaults__", "cell_contents"), INTERNALS),
}
# names that are ordinary elsewhere (np.stack, tf.stack) but not on these modules
_ON_MODULE = {
    "sys": {"modules": MODULES, "__dict__": MODULES, "gettrace": TRACER,
            "getprofile": TRACER, "monitoring": TRACER},
    "inspect": {"stack": STACK, "trace": STACK, "getframeinfo": STACK,
                "getgeneratorlocals": STACK, "getcoroutinelocals": STACK,
                "getclosurevars": INTERNALS, "__dict__": MODULES},
    "traceback": {"format_stack": STACK, "print_stack": STACK, "StackSummary": STACK},
    "gc": {"__dict__": HEAP},
    "builtins": {"__dict__": BUILTINS},
    "threading": {},
}
_MODULES = frozenset(_ON_MODULE)
SHELL_ALIAS = "get_ipython()"
_STRING_NAMES = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _ANY_BASE))) + r")\b")
# a callback that defines one of these controls how it is copied, pickled, compared or how
# its attributes are read and written: what the grader's tests of it see
_CALLBACK_DUNDERS = frozenset({
    "__deepcopy__", "__copy__", "__reduce__", "__reduce_ex__", "__setattr__",
    "__getattribute__", "__getattr__", "__delattr__", "__setstate__", "__getstate__",
    "__class_getitem__", "__init_subclass__", "__new__", "__del__", "__getnewargs__",
    "__getnewargs_ex__"})
_KERAS_CALLBACKS = frozenset({
    "EarlyStopping", "ModelCheckpoint", "History", "ProgbarLogger", "TensorBoard",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "RemoteMonitor",
    "TerminateOnNaN", "BackupAndRestore", "SwapEMAWeights", "BaseLogger"})
_SHELL_METHODS = frozenset({"run_cell_magic", "run_line_magic", "system", "getoutput",
                            "magic"})
_CALLBACK_METHODS = frozenset({"on_epoch_end", "on_epoch_begin", "on_train_batch_end",
                               "on_batch_end", "on_train_end", "on_train_begin"})

ACCURACY_NAMES = frozenset({"accuracy", "acc"})
_OWN_METRIC = "the code compiles its own metric under the name"
# Keras's own accuracy metrics: under the name 'accuracy' they measure what Keras would
_KERAS_ACCURACY = frozenset({"Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
                             "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
                             "SparseTopKCategoricalAccuracy"})
_KERAS_METRICS = _KERAS_ACCURACY | {
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Reduce", "AUC", "Precision", "Recall",
    "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
    "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "Hinge", "KLDivergence",
    "LogCoshError", "MeanIoU", "IoU", "Poisson", "RootMeanSquaredError", "F1Score",
    "FBetaScore", "R2Score", "TruePositives", "TrueNegatives", "FalsePositives",
    "FalseNegatives", "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
    "SpecificityAtSensitivity", "CosineSimilarity", "MeanTensor"}
# methods of a Model subclass whose return value becomes the epoch's logs
_OWN_LOGS = frozenset({"train_step", "test_step", "compute_metrics", "get_metrics_result",
                       "make_train_function"})


def seeking(module: ast.Module) -> list[str]:
    """What in the code looks for the grader inside the run (empty for course code)."""
    aliases = _aliases(module)
    found: list[str] = []
    for node in ast.walk(module):
        found += _node_findings(node, aliases)
    found += _callback_findings(module)
    return _grouped(found)[:5]


def _grouped(found: list[str]) -> list[str]:
    """'what (how)' findings of one kind as one: "the code inspects the call stack
    (sys._getframe, .f_back, .f_locals)"."""
    kinds: dict[str, list[str]] = {}
    for finding in found:
        kind, _, detail = finding.partition(" (")
        details = kinds.setdefault(kind, [])
        if detail[:-1] not in details:
            details.append(detail[:-1])
    return [f"{kind} ({', '.join(details[:3])})" for kind, details in kinds.items()]


def _aliases(module: ast.Module) -> dict[str, str]:
    """Names bound to the modules looked at here: `import sys as s`, `s = os.sys`."""
    bound = {name: name for name in _MODULES}
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _MODULES:
                    bound[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for alias in node.names:
                if alias.name in _MODULES:  # from os import sys
                    bound[alias.asname or alias.name] = alias.name
                elif alias.name == "get_ipython" and alias.asname:
                    bound[alias.asname] = "get_ipython"
    for _ in range(3):  # s = sys; t = s
        for node in ast.walk(module):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                target = _module_of(node.value, bound)
                if target is not None:
                    bound[node.targets[0].id] = target
    return bound


def _module_of(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """The module an expression names: `sys`, an alias of it, `os.sys`, `__import__('sys')`."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr in _MODULES:
        return node.attr
    if not isinstance(node, ast.Call):
        return None
    called = call_name(node.func)
    if called == "get_ipython" or called is not None and aliases.get(called) == "get_ipython":
        return SHELL_ALIAS
    if called in ("__import__", "import_module") and node.args \
            and isinstance(node.args[0], ast.Constant) and node.args[0].value in _MODULES:
        return str(node.args[0].value)
    return None


def _node_findings(node: ast.AST, aliases: dict[str, str]) -> list[str]:
    if isinstance(node, ast.Attribute):
        return _attribute(node, aliases)
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        root = node.module.split(".")[0]
        found = []
        for alias in node.names:
            what = (_ANY_BASE.get(alias.name)
                    or _ON_MODULE.get(root, {}).get(alias.name))
            if alias.name == "*" and root in _ON_MODULE:
                found.append(f"the code imports every name of {root} "
                             f"(from {node.module} import *)")
            elif what:
                found.append(f"{what} (from {node.module} import {alias.name})")
        return found
    if isinstance(node, ast.Name) and node.id == "__builtins__":
        return [f"{BUILTINS} (__builtins__)"]
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) \
            else [node.target]
        return [finding for target in targets for finding in _assigned(target, aliases)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        match = _STRING_NAMES.search(node.value[:10_000])
        if match:
            return [f"{_ANY_BASE[match.group(1)]} ({match.group(1)!r} in a string)"]
    if isinstance(node, ast.Call) and call_name(node.func) in ("getattr", "hasattr") \
            and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) \
            and isinstance(node.args[1].value, str):  # getattr(sys, "modules")
        return _attribute(ast.Attribute(node.args[0], node.args[1].value, ast.Load()),
                          aliases)
    return []


def _attribute(node: ast.Attribute, aliases: dict[str, str]) -> list[str]:
    module = _module_of(node.value, aliases)
    if module is not None and node.attr in _ON_MODULE.get(module, {}):
        return [f"{_ON_MODULE[module][node.attr]} ({module}.{node.attr})"]
    if node.attr in _ANY_BASE:
        shown = f"{module}.{node.attr}" if module else f".{node.attr}"
        return [f"{_ANY_BASE[node.attr]} ({shown})"]
    if module == SHELL_ALIAS and (node.attr not in _SHELL_METHODS
                                  or not isinstance(node.value, ast.Call)):
        # get_ipython().user_ns, .events, .ast_transformers …, or the shell kept in a
        # variable, whose magic calls the reading does not resolve
        return [f"{SHELL} (get_ipython().{node.attr})"]
    return []


def _assigned(target: ast.expr, aliases: dict[str, str]) -> Iterator[str]:
    """Writing to the builtins, to `__class__`/`__bases__`, or to a dunder that changes
    how an object is copied or read (`Callback.__deepcopy__ = …`)."""
    if isinstance(target, ast.Attribute):
        if _module_of(target.value, aliases) == "builtins":
            yield f"{BUILTINS} (builtins.{target.attr} = …)"
        elif target.attr in ("__class__", "__bases__"):
            yield f"{CLASS_SWAP} ({target.attr} = …)"
        elif target.attr in _CALLBACK_DUNDERS:
            yield (f"the code changes how an existing class is copied or read "
                   f"({target.attr} = …)")
    elif isinstance(target, ast.Subscript) and _module_of(target.value, aliases) == "builtins":
        yield f"{BUILTINS} (builtins[…] = …)"
    elif isinstance(target, ast.Tuple | ast.List):
        for item in target.elts:
            yield from _assigned(item, aliases)


def _classes(module: ast.Module) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.walk(module) if isinstance(n, ast.ClassDef)}


def _base_names(cls: ast.ClassDef) -> list[str]:
    return [name for name in map(call_name, cls.bases) if name]


def _derives(cls: ast.ClassDef, own: dict[str, ast.ClassDef], test: frozenset[str],
             suffix: str = "", seen: frozenset[str] = frozenset()) -> bool:
    """Whether `cls` derives from a base in `test` (or named `…suffix`), directly or
    through classes the code itself defines."""
    for base in _base_names(cls):
        if base in test or suffix and base.endswith(suffix):
            return True
        if base in own and base not in seen and base != cls.name \
                and _derives(own[base], own, test, suffix, seen | {cls.name}):
            return True
    return False


def _callback_findings(module: ast.Module) -> list[str]:
    own = _classes(module)
    found = []
    for cls in own.values():
        if not _derives(cls, own, _KERAS_CALLBACKS, "Callback") and not any(
                isinstance(n, ast.FunctionDef) and n.name in _CALLBACK_METHODS
                for n in cls.body):
            continue
        defined = [n.name for n in cls.body
                   if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                   and n.name in _CALLBACK_DUNDERS]
        defined += [t.id for n in cls.body if isinstance(n, ast.Assign) for t in n.targets
                    if isinstance(t, ast.Name) and t.id in _CALLBACK_DUNDERS]
        if any(k.arg == "metaclass" for k in cls.keywords):
            defined.append("a metaclass")
        if defined:
            found += [f"the callback {cls.name} changes how the grader copies it or reads "
                      f"its attributes ({name})" for name in defined]
    return found


# --- accuracy that is not Keras's --------------------------------------------------------

def own_accuracy(module: ast.Module) -> list[str]:
    """Why the `accuracy` the run records may be the code's own number, not Keras's."""
    own = _classes(module)
    metrics = {name for name, cls in own.items()
               if _derives(cls, own, _KERAS_METRICS, "Metric")}
    found = [f"{_OWN_METRIC} {default!r} (class {name})" for name in sorted(metrics)
             if (default := _default_name(own[name], own)) in ACCURACY_NAMES]
    functions = {n.name for n in ast.walk(module)
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.name in ACCURACY_NAMES}
    for node in ast.walk(module):
        if isinstance(node, ast.Call):
            found += _metric_call(node, metrics, functions)
        elif isinstance(node, ast.ClassDef) and _derives(node, own, frozenset({"Model",
                                                                                "Sequential"})):
            steps = [n.name for n in node.body if isinstance(n, ast.FunctionDef)
                     and n.name in _OWN_LOGS]
            if steps:
                found.append(f"the code computes its own training logs "
                             f"({node.name}.{steps[0]}), so their 'accuracy' need not be "
                             "Keras's")
        elif isinstance(node, ast.Assign):
            found += [f"{_OWN_METRIC} {_string(node.value)!r} ({t.attr} = …)"
                      for t in node.targets
                      if isinstance(t, ast.Attribute) and t.attr in ("__name__", "__qualname__")
                      and _string(node.value) in ACCURACY_NAMES]
    return list(dict.fromkeys(found))[:5]


def _metric_call(node: ast.Call, metrics: set[str], functions: set[str]) -> list[str]:
    callee = call_name(node.func) or ""
    found = []
    if callee == "compile":
        given = [k.value for k in node.keywords if k.arg in ("metrics", "weighted_metrics")]
        given += node.args[2:3]
        for value in given:
            for name in ast.walk(value):
                if isinstance(name, ast.Name) and name.id in functions:
                    found.append(f"{_OWN_METRIC} {name.id!r} (def {name.id})")
    named = [_string(k.value) for k in node.keywords if k.arg == "name"]
    if callee in metrics or callee in _KERAS_METRICS - _KERAS_ACCURACY:
        named += [_string(a) for a in node.args]
    elif callee not in _KERAS_ACCURACY and not callee.endswith(("Metric", "MetricWrapper")):
        return found
    for name in named:
        if name in ACCURACY_NAMES and (callee in metrics or callee not in _KERAS_ACCURACY):
            found.append(f"{_OWN_METRIC} {name!r} ({callee}(name={name!r}))")
    return found


def _default_name(cls: ast.ClassDef, own: dict[str, ast.ClassDef]) -> str | None:
    """The name a metric class gets when none is passed: a literal it hands to
    `super().__init__(name=…)` or its `name` parameter's default; else Keras's rule
    (a direct Metric subclass is named after its class in snake_case, a subclass of a
    Keras metric keeps that metric's default)."""
    for node in ast.walk(cls):
        if isinstance(node, ast.Call) and call_name(node.func) == "__init__":
            for keyword in node.keywords:
                if keyword.arg == "name" and _string(keyword.value) is not None:
                    return _string(keyword.value)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            given = node.args
            positional = given.args[len(given.args) - len(given.defaults):]
            for argument, default in [*zip(positional, given.defaults, strict=True),
                                      *zip(given.kwonlyargs, given.kw_defaults, strict=True)]:
                if argument.arg == "name" and _string(default) is not None:
                    return _string(default)
    for base in _base_names(cls):
        if base in own and base != cls.name:
            return _default_name(own[base], {k: v for k, v in own.items() if k != cls.name})
        if base in ("Metric", "MeanMetricWrapper") or base.endswith("Metric"):
            return _snake(cls.name)
        return _snake(base)
    return None


def _snake(name: str) -> str:
    """Keras's auto_name (keras.src.utils.naming.to_snake_case)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _string(node: ast.AST | None) -> str | None:
    """A string the code spells out: a literal, or literals joined with `+`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _string(node.left), _string(node.right)
        return None if left is None or right is None else left + right
    return None


