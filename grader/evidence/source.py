"""What the submitted code says, read on the trusted side without running it.

Why: the run's account (grader.run.trace) comes from the process that runs the student's
code; the source is the one thing the student gave the grader that the run cannot change.
It corroborates the settings the run reports — a trace saying `rescale=1/255` is
believed when the code passes `rescale=1/255` (or a name bound to it) to
ImageDataGenerator — and it shows tampering: code that reaches for the grader's own probe
(`grader.runner`, its recorder, its callbacks) is trying to change the evidence.

The reading is deliberately simple: literal arguments, names bound to literals by plain
assignments anywhere in the file, arithmetic on them, and the keyword or position of each
argument in the calls the course uses. Anything else is UNKNOWN, which leads to review by
a person, never to lost points (grader.evidence.claims).
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = object()  # a value the reading cannot tell
MAX_DEPTH = 8

# positional order of the arguments read from each call (Keras 3 signatures)
_POSITIONS = {
    "flow_from_directory": ("directory", "target_size", "color_mode", "classes",
                            "class_mode", "batch_size"),
    "compile": ("optimizer", "loss"),
    "image_dataset_from_directory": ("directory", "labels", "label_mode", "class_names",
                                     "color_mode", "batch_size", "image_size"),
    "Rescaling": ("scale", "offset"),
    "ImageDataGenerator": (),  # 13 flags before rescale: always given by keyword
}
_DEFAULTS = {
    ("ImageDataGenerator", "rescale"): None,
    ("flow_from_directory", "target_size"): (256, 256),
    ("flow_from_directory", "class_mode"): "categorical",
    ("image_dataset_from_directory", "image_size"): (256, 256),
    ("image_dataset_from_directory", "label_mode"): "int",
}
# the grader's own names and files, which a submission has no reason to touch: checked in
# its names and strings, never in its comments ("# for the grader" is fine)
_GRADER_IDENTIFIERS = re.compile(r"^grader$|__grader|_grader_|^GRADER_|^FitRecorder$|"
                                 r"^watch_stop_training$|^test_callbacks$|^EPOCH_RUNS$")
_GRADER_STRINGS = re.compile(r"grader\.runner|/grader/run|GRADER_EVENTS_FD|trace\.json|"
                             r"execution\.json|\bartefacts\b")
_DYNAMIC = {"exec", "eval", "compile", "__import__", "globals", "setattr", "getattr",
            "delattr", "vars"}
_DYNAMIC_MODULES = {"ctypes", "gc", "inspect", "importlib", "marshal", "pickle", "base64",
                    "codecs", "sys"}


@dataclass(frozen=True)
class Values:
    """The values an argument may take in the code: `known` (normalised), and whether some
    call's value could not be read."""

    known: frozenset[Any] = frozenset()
    unknown: bool = False

    def admits(self, value: Any) -> bool | None:
        """True when the code sets `value`, False when it sets only other values it
        reveals, None when it cannot tell."""
        wanted = normalise(value)
        if wanted in self.known or any(_close(wanted, k) for k in self.known):
            return True
        return None if self.unknown or not self.known else False


@dataclass(frozen=True)
class SourceFacts:
    parsed: bool = True  # at least one cell could be read
    calls: dict[str, int] = field(default_factory=dict)  # call name → how many in the code
    arguments: dict[tuple[str, str], Values] = field(default_factory=dict)
    reassigned: frozenset[str] = frozenset()  # attributes assigned after construction
    tampering: tuple[str, ...] = ()  # the code reaches for the grader's own machinery
    dynamic: tuple[str, ...] = ()  # code the reading cannot follow (exec, getattr …)
    callback_classes: tuple[str, ...] = ()  # classes whose on_epoch_end sets stop_training
    returns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # function → returns

    def values(self, call: str, argument: str) -> Values:
        return self.arguments.get((call, argument), Values(unknown=True))


def normalise(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(normalise(v) for v in value)
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return float(value)
    return value


def _close(a: Any, b: Any) -> bool:
    return isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-6)


def read(cells: Iterable[str]) -> SourceFacts:
    trees = [tree for tree in (_parse(cell) for cell in cells) if tree is not None]
    if not trees:
        return SourceFacts(parsed=False)
    module = ast.Module(body=[node for tree in trees for node in tree.body], type_ignores=[])
    reader = _Reader(_bindings(module))
    reader.visit(module)
    return SourceFacts(
        calls=dict(reader.call_counts), arguments=reader.values(),
        reassigned=frozenset(reader.reassigned),
        tampering=tuple(dict.fromkeys(_tampering(cells))),
        dynamic=tuple(dict.fromkeys(reader.dynamic)),
        callback_classes=tuple(reader.callbacks), returns=reader.returns)


def python_of(cell: str) -> str | None:
    """A cell as plain Python: IPython's `!shell` and `%magic` lines (with their `\\`
    continuation lines) read as `pass`; None for a `%%cell` magic cell."""
    if cell.lstrip().startswith("%%"):
        return None
    lines, continued = [], False
    for line in cell.splitlines():
        if continued or re.match(r"^\s*[!%]", line):
            lines.append("" if continued else re.sub(r"^(\s*)[!%].*$", r"\1pass", line))
            continued = line.rstrip().endswith("\\")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


def _parse(cell: str) -> ast.Module | None:
    source = python_of(cell)
    if source is None:
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _tampering(cells: Iterable[str]) -> list[str]:
    found = []
    for cell in cells:
        for kind, text in _tokens(cell):
            if kind == tokenize.NAME and _GRADER_IDENTIFIERS.search(text) \
                    or kind == tokenize.STRING and _GRADER_STRINGS.search(text):
                found.append(f"the code names the grader's own machinery ({text[:60]!r})")
    return found[:5]


def _tokens(cell: str) -> list[tuple[int, str]]:
    source = python_of(cell) or ""
    try:
        return [(t.type, t.string) for t in
                tokenize.generate_tokens(io.StringIO(source).readline)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [(tokenize.NAME, word) for word in re.findall(r"[A-Za-z_]\w*", source)]


def _bindings(module: ast.Module) -> dict[str, list[ast.expr]]:
    """Every `name = value` (and `name: T = value`) anywhere in the code."""
    bound: dict[str, list[ast.expr]] = {}
    for node in ast.walk(module):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            bound.setdefault(node.target.id, []).append(node.value)
    return bound


class _Reader(ast.NodeVisitor):
    def __init__(self, bindings: dict[str, list[ast.expr]]) -> None:
        self.bindings = bindings
        self.call_counts: dict[str, int] = {}
        self.found: dict[tuple[str, str], list[Any]] = {}
        self.reassigned: set[str] = set()
        self.dynamic: list[str] = []
        self.callbacks: list[str] = []
        self.returns: dict[str, tuple[str, ...]] = {}

    def values(self) -> dict[tuple[str, str], Values]:
        out = {}
        for key, seen in self.found.items():
            known = frozenset(normalise(v) for v in seen if v is not UNKNOWN)
            out[key] = Values(known, any(v is UNKNOWN for v in seen))
        return out

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node.func)
        if isinstance(node.func, ast.Name) and name in _DYNAMIC:  # the builtins, not
            self.dynamic.append(f"{name}()")                     # model.compile()
        if name in _POSITIONS:
            self.call_counts[name] = self.call_counts.get(name, 0) + 1
            self._arguments(name, node)
        self.generic_visit(node)

    def _arguments(self, name: str, node: ast.Call) -> None:
        given: dict[str, Any] = {}
        for index, argument in enumerate(node.args):
            if isinstance(argument, ast.Starred):
                given = {key: UNKNOWN for key in _interesting(name)}
                break
            if index < len(_POSITIONS[name]):
                given[_POSITIONS[name][index]] = self.evaluate(argument)
        for keyword in node.keywords:
            if keyword.arg is None:  # **options: anything may be in there
                given.update({key: UNKNOWN for key in _interesting(name)
                              if key not in given})
            else:
                given[keyword.arg] = self.evaluate(keyword.value)
        if "loss" in given and name == "compile":  # a loss is also named by its object
            loss = next((k.value for k in node.keywords if k.arg == "loss"),
                        node.args[1] if len(node.args) > 1 else None)
            given["loss"] = self.loss(loss) if loss is not None else given["loss"]
        for key in _interesting(name):
            # not given: Keras's default, when this reading knows it
            value = given[key] if key in given else _DEFAULTS.get((name, key), UNKNOWN)
            self.found.setdefault((name, key), []).append(value)

    def evaluate(self, node: ast.expr, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            return UNKNOWN
        if isinstance(node, ast.Constant):
            literal = node.value is None or isinstance(node.value, int | float | str) \
                and not isinstance(node.value, bool)
            return node.value if literal else UNKNOWN
        if isinstance(node, ast.Tuple | ast.List):
            items = [self.evaluate(e, depth + 1) for e in node.elts]
            return UNKNOWN if any(i is UNKNOWN for i in items) else tuple(items)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            value = self.evaluate(node.operand, depth + 1)
            return -value if isinstance(value, int | float) else UNKNOWN
        if isinstance(node, ast.BinOp):
            return _arithmetic(node.op, self.evaluate(node.left, depth + 1),
                               self.evaluate(node.right, depth + 1))
        if isinstance(node, ast.Name):
            bound = self.bindings.get(node.id, [])
            values = {self.evaluate(v, depth + 1) for v in bound} if len(bound) == 1 \
                else {UNKNOWN}
            return values.pop() if len(values) == 1 else UNKNOWN
        return UNKNOWN

    def loss(self, node: ast.expr) -> Any:
        """A loss as the course writes it: 'binary_crossentropy' (or a name bound to it),
        the function tf.keras.losses.binary_crossentropy, or an object
        tf.keras.losses.BinaryCrossentropy()."""
        if isinstance(node, ast.Call):
            return _call_name(node.func) or UNKNOWN
        if isinstance(node, ast.Attribute):
            return node.attr
        return self.evaluate(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Attribute) and target.attr in ("rescale", "target_size",
                                                                     "class_mode"):
                self.reassigned.add(target.attr)
                if target.attr == "rescale":  # a generator's rescale changed after it
                    self.found.setdefault(("ImageDataGenerator", "rescale"), []).append(
                        self.evaluate(node.value))
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.dynamic += [f"import {a.name}" for a in node.names
                         if a.name.split(".")[0] in _DYNAMIC_MODULES and a.name != "sys"]
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name == "on_epoch_end" and any(
                    isinstance(n, ast.Attribute) and n.attr == "stop_training"
                    for n in ast.walk(item)):
                self.callbacks.append(node.name)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        found = tuple(ast.unparse(n.value) for n in ast.walk(node)
                      if isinstance(n, ast.Return) and n.value is not None)
        self.returns[node.name] = found[:10]
        self.generic_visit(node)


def _interesting(call: str) -> tuple[str, ...]:
    return {"ImageDataGenerator": ("rescale",),
            "flow_from_directory": ("target_size", "class_mode"),
            "compile": ("loss",),
            "image_dataset_from_directory": ("image_size", "label_mode"),
            "Rescaling": ("scale",)}[call]


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _arithmetic(op: ast.operator, left: Any, right: Any) -> Any:
    if not isinstance(left, int | float) or not isinstance(right, int | float) \
            or isinstance(left, bool) or isinstance(right, bool):
        return UNKNOWN
    try:
        if isinstance(op, ast.Div):
            return left / right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Pow) and abs(right) < 64:
            return left ** right
    except (ZeroDivisionError, OverflowError):
        return UNKNOWN
    return UNKNOWN
