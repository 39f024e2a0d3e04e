"""What the submitted code says, read on the trusted side without running it.

Why: the run's account (grader.run.trace) comes from the process that runs the student's
code; the source is the one thing the student gave the grader that the run cannot change.
It corroborates the settings the run reports — a trace saying `rescale=1/255` is
believed when the code passes `rescale=1/255` (or a name bound to it) to
ImageDataGenerator — and it shows tampering: code that reaches for the grader's own probe
(`grader.runner`, its recorder, its callbacks) is trying to change the evidence. Code that
looks for the grader without naming it (the call stack, `sys.modules`, a callback's
`__deepcopy__`) and a metric of the code's own under the name `accuracy` are found by
grader.evidence.seeking. Every cell is read as IPython runs it, magics included
(grader.evidence.magics), so no cell is hidden from this reading.

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

from grader.evidence import magics, seeking
from grader.evidence.names import call_name

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
# getattr by another name, and IPython objects that run code a one-line cell names
_DYNAMIC_CALLS = {"attrgetter", "methodcaller", "Macro", "IPyAutocall"}
# modules whose import alone means code the reading cannot follow. Not base64 or codecs:
# the 2022 and 2024 course templates import base64 (to show images), and decoded bytes
# run only through exec, eval, compile or __import__, which the reading flags itself.
_DYNAMIC_MODULES = {"ctypes", "gc", "inspect", "importlib", "marshal", "pickle", "sys"}


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
    seeking: tuple[str, ...] = ()  # code that looks for the grader (the stack, sys.modules …)
    own_accuracy: tuple[str, ...] = ()  # a metric of the code's own named 'accuracy'
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


def read(cells: Iterable[str], notebook: bool = True) -> SourceFacts:
    """What the code says. `cells` are a notebook's code cells, read as IPython runs them
    (magics resolved), or with `notebook=False` a module's text, read as Python runs it.
    Code nested deeper than the reading can walk (`1+1+…` a thousand times parses, but
    visiting it overflows the stack) is noted as code the reading cannot follow."""
    try:
        return _read(list(cells), notebook)
    except RecursionError:
        return SourceFacts(parsed=False, dynamic=("code nested too deeply for the grader to "
                                                  "read",))


def _read(cells: list[str], notebook: bool) -> SourceFacts:
    budget = magics.Budget()
    pieces = [magics.read_cell(cell, budget) if notebook
              else magics.ReadCell(_parse_module(cell), cell, []) for cell in cells]
    trees = [piece.tree for piece in pieces if piece.tree is not None]
    notes = [note for piece in pieces for note in piece.notes]
    if not trees:
        return SourceFacts(parsed=False, dynamic=tuple(dict.fromkeys(notes)))
    module = ast.Module(body=[node for tree in trees for node in tree.body], type_ignores=[])
    reader = _Reader(_bindings(module))
    reader.visit(module)
    return SourceFacts(
        calls=dict(reader.call_counts), arguments=reader.values(),
        reassigned=frozenset(reader.reassigned),
        tampering=tuple(dict.fromkeys(_tampering(text for piece in pieces
                                                 for text in _texts(piece)))),
        dynamic=tuple(dict.fromkeys(notes + reader.dynamic)),
        seeking=tuple(seeking.seeking(module)), own_accuracy=tuple(seeking.own_accuracy(module)),
        callback_classes=tuple(reader.callbacks), returns=reader.returns)


def python_of(cell: str) -> str:
    """A notebook cell as the Python IPython runs: magics that run Python in the process
    (`%%capture`, `%%time`, `%time stmt`, `%%writefile` bodies) give their code, the others
    stay the calls IPython makes (grader.evidence.magics). A cell that does not parse is
    given as IPython's text of it."""
    try:
        return _texts(magics.read_cell(cell))[-1]
    except RecursionError:
        return cell


def _texts(piece: magics.ReadCell) -> list[str]:
    """The cell's text as IPython rewrote it, then, when a magic's body was read in its
    place, the Python read (names in a body are names, not part of a string)."""
    if not piece.resolved or piece.tree is None:
        return [piece.text]
    try:
        return [piece.text, ast.unparse(piece.tree) + "\n"]
    except (ValueError, RecursionError):
        return [piece.text]


def _parse_module(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _tampering(texts: Iterable[str]) -> list[str]:
    found = []
    for text in texts:
        for kind, token in _tokens(text):
            if kind == tokenize.NAME and _GRADER_IDENTIFIERS.search(token) \
                    or kind == tokenize.STRING and _GRADER_STRINGS.search(token):
                found.append(f"the code names the grader's own machinery ({token[:60]!r})")
    return found[:5]


def _tokens(source: str) -> list[tuple[int, str]]:
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
        name = call_name(node.func)
        if isinstance(node.func, ast.Name) and name in _DYNAMIC:  # the builtins, not
            self.dynamic.append(f"{name}()")                     # model.compile()
        elif name in _DYNAMIC_CALLS:  # operator.attrgetter or attrgetter alike
            self.dynamic.append(f"{name}()")
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
            return call_name(node.func) or UNKNOWN
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

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        """`from importlib import import_module` reaches what `import importlib` does;
        `from sys import argv` is as harmless as `import sys`."""
        root = (node.module or "").split(".")[0]
        if node.level == 0 and root in _DYNAMIC_MODULES and root != "sys":
            self.dynamic.append(f"from {node.module} import "
                                f"{', '.join(a.name for a in node.names)[:40]}")
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
