"""The student's callback classes, cut out of the source so they can be tested apart from
the run that trained the model.

Why: a callback tested inside the student's own process can tell it is being tested (the
harness is on its stack, its objects are in `sys.modules`) and the rest of that process's
code can rewrite what the test records. So the trusted side reads each callback class out
of the source with `ast` (never running anything here), together with what it needs from
its scope — the imports, the constants it compares with, the plain functions it calls,
the literal values an enclosing function binds before it — and hands that alone to a
fresh sandboxed process (grader.run.callback_test, grader.runner.callback_harness). Code
that is not a definition, an import or a constant is never carried over: no training,
no file reading, nothing the student's other cells do.

What cannot be carried over (a scope value computed by a call, a class made by `exec`) is
said in `problem`; the harness then reports the error it met, and the check tells an
honest incomplete extraction (review) from a callback that is wrong.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from grader.evidence.callback_reach import logs_only
from grader.evidence.names import call_name
from grader.evidence.source import python_of
from grader.run.callback_test import CallbackSource
from grader.run.trace import Trace

MAX_CLASSES = 64  # callback classes read out of one submission
MAX_TESTED = 8  # of those, tested per grading (each costs four short trainings)
MAX_MODULE_CHARS = 200_000  # what one extracted class with its scope may weigh
_CALLBACK_METHODS = frozenset({"on_epoch_end", "on_epoch_begin", "on_train_batch_end",
                               "on_batch_end", "on_train_end", "on_train_begin"})


def extract(cells: Iterable[str]) -> tuple[CallbackSource, ...]:
    """Every class of the code that is a Keras callback (a base named `…Callback`, or a
    base that is one of the code's own callback classes, or an `on_epoch_end` method)."""
    body: list[ast.stmt] = []
    for cell in cells:
        text = python_of(cell)
        if text is None:
            continue
        try:
            body += ast.parse(text).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
    module = ast.Module(body=body, type_ignores=[])
    found: list[tuple[ast.ClassDef, tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...]]] = []
    _collect(module.body, (), found)
    names = {c.name for c, _ in found}
    callbacks = [(c, enclosing) for c, enclosing in found if _is_callback(c, names)]
    chosen: dict[str, CallbackSource] = {}
    for cls, enclosing in callbacks:
        # the last definition of a name is the one the code used last
        chosen[cls.name] = _source_of(cls, enclosing, module, found)
    return tuple(list(chosen.values())[-MAX_CLASSES:])


def _collect(statements: Sequence[ast.stmt],
             enclosing: tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...],
             found: list[tuple[ast.ClassDef, tuple[ast.FunctionDef | ast.AsyncFunctionDef,
                                                   ...]]]) -> None:
    for node in statements:
        if isinstance(node, ast.ClassDef):
            found.append((node, enclosing))
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            _collect(node.body, (*enclosing, node), found)
            continue
        inner: list[ast.stmt] = []
        for name in ("body", "orelse", "finalbody"):
            inner += [n for n in getattr(node, name, None) or [] if isinstance(n, ast.stmt)]
        for handler in getattr(node, "handlers", None) or []:
            inner += handler.body
        if inner:
            _collect(inner, enclosing, found)


def _base(node: ast.expr) -> str:
    return call_name(node) or ""


def _is_callback(cls: ast.ClassDef, own_classes: set[str]) -> bool:
    bases = {_base(b) for b in cls.bases}
    if any(b.endswith("Callback") for b in bases) or bases & own_classes:
        return True
    return any(isinstance(n, ast.FunctionDef) and n.name in _CALLBACK_METHODS
               for n in cls.body)


def _safe(node: ast.AST | None) -> bool:
    """An expression that computes nothing: constants, names, attributes and arithmetic
    on them. Calls (training, file reading) are never carried over."""
    if node is None:
        return True
    allowed = (ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp, ast.BinOp, ast.BoolOp,
               ast.Compare, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Load, ast.operator,
               ast.unaryop, ast.boolop, ast.cmpop, ast.Subscript, ast.Slice)
    return all(isinstance(n, allowed) for n in ast.walk(node))


def _names_used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _guarded(statement: ast.stmt) -> ast.stmt:
    """`try: statement / except Exception: pass`: an import the test process lacks
    (google.colab) or a constant built on one must not stop the class being defined."""
    return ast.Try(body=[statement],
                   handlers=[ast.ExceptHandler(type=ast.Name("Exception", ast.Load()),
                                               name=None, body=[ast.Pass()])],
                   orelse=[], finalbody=[])


def _scope_statements(statements: Sequence[ast.stmt], stop_at: ast.AST | None,
                      needed: set[str]) -> list[ast.stmt]:
    """The imports and constant bindings of one scope (up to `stop_at`), and the plain
    function definitions the class needs, in the order the code has them."""
    kept: list[ast.stmt] = []
    for node in statements:
        if node is stop_at:
            break
        if isinstance(node, ast.Import | ast.ImportFrom) \
                or isinstance(node, ast.Assign) and _safe(node.value) \
                and all(isinstance(t, ast.Name) for t in node.targets):
            kept.append(_guarded(node))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None and _safe(node.value):
            kept.append(_guarded(ast.Assign(targets=[node.target], value=node.value,
                                            lineno=0)))
        elif isinstance(node, ast.FunctionDef) and node.name in needed \
                and not node.decorator_list \
                and all(_safe(d) for d in node.args.defaults + node.args.kw_defaults):
            kept.append(node)
    return kept


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """An enclosing function's parameters bound to their default values, where they have
    a constant one (`def train(threshold=0.999)`)."""
    arguments = function.args
    positional = arguments.posonlyargs + arguments.args
    bound: list[ast.stmt] = []
    defaults = dict(zip([a.arg for a in positional[len(positional)
                                                   - len(arguments.defaults):]],
                        arguments.defaults, strict=True))
    defaults.update({a.arg: d for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults,
                                              strict=True) if d is not None})
    for name, value in defaults.items():
        if _safe(value):
            bound.append(_guarded(ast.Assign(targets=[ast.Name(name, ast.Store())],
                                             value=value, lineno=0)))
    return bound


def _source_of(cls: ast.ClassDef,
               enclosing: tuple[ast.FunctionDef | ast.AsyncFunctionDef, ...],
               module: ast.Module,
               found: list[tuple[ast.ClassDef, tuple[ast.FunctionDef | ast.AsyncFunctionDef,
                                                     ...]]]) -> CallbackSource:
    needed = _names_used(cls)
    statements = _scope_statements(module.body, None, needed)
    # base classes the code itself defines come first (their own scope is module level)
    own = {c.name: c for c, _ in found if c is not cls}
    for base in cls.bases:
        defined = own.get(_base(base))
        if defined is not None:
            statements.append(defined)
    for function in enclosing:
        statements += _parameters(function)
        stop = function.body[-1]
        for node in function.body:
            if node is cls or any(n is cls for n in ast.walk(node)):
                stop = node
                break
        statements += _scope_statements(function.body, stop, needed)
    statements.append(cls)
    problem = None
    try:
        text = ast.unparse(ast.fix_missing_locations(ast.Module(body=statements,
                                                                type_ignores=[])))
    except (ValueError, RecursionError) as exc:
        text, problem = "", f"the class could not be read out of the code ({exc})"
    if len(text) > MAX_MODULE_CHARS:
        text, problem = "", "the class and its scope are too large to test apart"
    constructor = _constructor(cls.name, module)
    return CallbackSource(cls.name, text, constructor, problem,
                          logs_only=not problem and logs_only(text, cls.name, constructor))


def _constructor(name: str, module: ast.Module) -> str:
    """How the code makes the callback: the first call of the class whose arguments are
    constants (or names of constants), else a call with no arguments."""
    for node in ast.walk(module):
        if isinstance(node, ast.Call) and _base(node.func) == name \
                and all(_safe(a) for a in node.args) \
                and all(_safe(k.value) for k in node.keywords):
            call = ast.Call(func=ast.Name(name, ast.Load()), args=node.args,
                            keywords=node.keywords)
            return ast.unparse(call)
    return f"{name}()"


def to_test(cells: Iterable[str], trace: Trace) -> tuple[CallbackSource, ...]:
    """The classes of the callbacks the run says it passed to the graded fit, as the code
    defines them. Where the graded fit was given none, every callback class the code
    defines (issue 20: a right callback made but never passed loses only `callback_stop`,
    as a TA marks it). None when there is nothing to judge (no fit, or the callback already
    failed in real training), so no test process is started for it."""
    fit = trace.training_fit
    if fit is None or fit.callback_error:
        return ()
    defined = [s for s in extract(cells) if not s.problem]
    if fit.callbacks:
        defined = [s for s in defined if s.name in fit.callbacks]
    return tuple(defined)[:MAX_TESTED]
