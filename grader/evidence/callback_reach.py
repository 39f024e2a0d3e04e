"""Whether a callback class can reach the model it is given, or only its logs.

Why: the callback test (grader.run.callback_test) trains the student's own saved model so
that a callback that looks at `self.model` finds what it found in the graded run. Loading
and tracing that model is most of the test's cost: 1.45-1.53 CPU-seconds on the
reference's model against 0.74-0.88 on the harness's small stand-in (docs/performance.md).
A callback whose code can do nothing with its model but set `self.model.stop_training`
behaves the same on any model: every decision it makes is a function of its logs (the
secret runs of epochs, set before it sees them) and the epoch number. For such a class the
test trains the stand-in, and what it finds is the same by construction.

The judgement is an allowlist over the class and the scope carried out with it
(grader.evidence.callback_source). Anything not on it keeps the student's model: a
method other than the epoch-level ones (batch-level logs carry the real step's loss), an
attribute of anything but the class's own public state, a call of anything but a few
builtins, `logs.get` and `super().__init__`, a function of the code's own, a loop, a
comprehension, a name bound over one of those builtins. Keeping a class on the student's
model when it did not need it costs time, never a verdict, so the list stays short.
"""

from __future__ import annotations

import ast

EPOCH_METHODS = frozenset({"__init__", "on_train_begin", "on_epoch_begin", "on_epoch_end"})
PURE_BUILTINS = frozenset({"print", "float", "int", "str", "bool", "round", "abs", "min",
                           "max", "len", "format"})
PROTECTED_NAMES = PURE_BUILTINS | {"super"}
KERAS_SETS = frozenset({"model", "params", "validation_data"})  # Keras's own on a callback
STOP_FLAG = "stop_training"
HOOK_PREFIXES = ("on_", "set_")  # Keras calls these on a callback

_OPERATORS = (ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.expr_context)


def logs_only(module_source: str, class_name: str, constructor: str) -> bool:
    """True when the class `class_name` of `module_source` (a class with its scope, as
    grader.evidence.callback_source cuts it out), made by `constructor`, can read only its
    logs, the epoch and literals, and touch its model only to set `stop_training`."""
    try:
        tree = ast.parse(module_source)
        made = ast.parse(constructor, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    scope = _Scope()
    try:
        for statement in tree.body:
            if not scope.admit(_unguarded(statement)):
                return False
        # what the class is made with ends up in its state: literals only
        return isinstance(made, ast.Call) and isinstance(made.func, ast.Name) \
            and made.func.id == class_name \
            and all(scope.constant(a) for a in made.args) \
            and all(k.arg is not None and scope.constant(k.value) for k in made.keywords) \
            and scope.class_logs_only(class_name, set())
    except RecursionError:
        return False


def _unguarded(statement: ast.stmt) -> ast.stmt:
    """callback_source wraps each import and constant in `try: … except Exception: pass`."""
    if isinstance(statement, ast.Try) and len(statement.body) == 1 \
            and not statement.orelse and not statement.finalbody \
            and all(h.name is None and all(isinstance(s, ast.Pass) for s in h.body)
                    for h in statement.handlers):
        return statement.body[0]
    return statement


class _Scope:
    """The module-level names of the cut-out source: imports, constants, classes."""

    def __init__(self) -> None:
        self.imported: dict[str, str] = {}  # bound name → what was imported under it
        self.constants: set[str] = set()
        self.classes: dict[str, ast.ClassDef] = {}

    @property
    def module_names(self) -> set[str]:
        return {*self.imported, *self.constants, *self.classes}

    def admit(self, node: ast.stmt) -> bool:
        if isinstance(node, ast.Import | ast.ImportFrom):
            source = f"{node.module}." if isinstance(node, ast.ImportFrom) else ""
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                if bound in PROTECTED_NAMES or alias.name == "*":
                    return False
                self.imported[bound] = source + (alias.name if alias.asname or source
                                                 else bound)
            return True
        if isinstance(node, ast.Assign) and node.targets \
                and all(isinstance(t, ast.Name) and t.id not in PROTECTED_NAMES
                        for t in node.targets) and self.constant(node.value):
            self.constants |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            return True
        if isinstance(node, ast.ClassDef) and node.name not in PROTECTED_NAMES:
            self.classes[node.name] = node
            return True
        return False

    def constant(self, node: ast.expr) -> bool:
        """A value computed from literals and other constants alone."""
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name):
                if inner.id not in self.constants:
                    return False
            elif not isinstance(inner, (ast.Constant, ast.UnaryOp, ast.BinOp, ast.BoolOp,
                                        ast.Compare, ast.Tuple, ast.List, *_OPERATORS)):
                return False
        return True

    def class_logs_only(self, name: str, seen: set[str]) -> bool:
        cls = self.classes.get(name)
        if cls is None or name in seen or cls.decorator_list or cls.keywords \
                or not cls.bases:
            return False
        seen = seen | {name}
        if not all(self._plain_base(base, seen) for base in cls.bases):
            return False
        for statement in cls.body:
            if isinstance(statement, ast.Pass) or _docstring(statement):
                continue
            if isinstance(statement, ast.Assign) and self.constant(statement.value) \
                    and all(isinstance(t, ast.Name) and t.id not in PROTECTED_NAMES
                            and t.id not in KERAS_SETS and not t.id.startswith("_")
                            for t in statement.targets):
                continue
            if isinstance(statement, ast.FunctionDef) and statement.name in EPOCH_METHODS \
                    and _Method(statement, self.module_names).logs_only():
                continue
            return False
        return True

    def _plain_base(self, base: ast.expr, seen: set[str]) -> bool:
        """Keras's own `Callback` (under any module path), or one of the code's classes
        that passes the same test; never another Keras callback, whose own methods do
        more than read logs."""
        if isinstance(base, ast.Name):
            if base.id in self.classes:
                return self.class_logs_only(base.id, seen)
            return self.imported.get(base.id, "").endswith("callbacks.Callback")
        if not isinstance(base, ast.Attribute) or base.attr != "Callback":
            return False
        owner = base.value  # `….callbacks`, or a name imported as a `callbacks` module
        if isinstance(owner, ast.Name):
            return self.imported.get(owner.id, "").endswith("callbacks")
        root: ast.expr = owner
        while isinstance(root, ast.Attribute):
            root = root.value
        return isinstance(owner, ast.Attribute) and owner.attr == "callbacks" \
            and isinstance(root, ast.Name) and root.id in self.imported


def _docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
        and isinstance(statement.value.value, str)


class _Method:
    """One epoch-level method: what its statements and expressions may do."""

    def __init__(self, function: ast.FunctionDef, module_names: set[str]) -> None:
        self.function = function
        self.module_names = module_names
        arguments = function.args
        self.parameters = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                           *(a for a in (arguments.vararg, arguments.kwarg) if a is not None)]
        positional = [*arguments.posonlyargs, *arguments.args]
        self.self_name = positional[0].arg if positional else None

    def logs_only(self) -> bool:
        arguments = self.function.args
        if self.self_name is None or self.function.decorator_list \
                or self.function.returns is not None \
                or any(a.annotation is not None or a.arg in PROTECTED_NAMES
                       for a in self.parameters):
            return False
        defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
        if not all(_literal(d) for d in defaults):
            return False
        return all(self.statement(s) for s in self.function.body)

    def statement(self, node: ast.stmt) -> bool:
        if isinstance(node, ast.Pass) or _docstring(node):
            return True
        if isinstance(node, ast.Expr):
            return self.expression(node.value)
        if isinstance(node, ast.Return):
            return node.value is None or self.expression(node.value)
        if isinstance(node, ast.Assign):
            return all(self.target(t) for t in node.targets) and self.expression(node.value)
        if isinstance(node, ast.AugAssign):
            return self.target(node.target) and self.expression(node.value)
        if isinstance(node, ast.AnnAssign):
            return self.target(node.target) and self.expression(node.annotation) \
                and (node.value is None or self.expression(node.value))
        if isinstance(node, ast.If):
            return self.expression(node.test) and self.block(node.body) \
                and self.block(node.orelse)
        if isinstance(node, ast.Try):
            return self.block(node.body) and self.block(node.orelse) \
                and self.block(node.finalbody) and all(
                    (h.type is None or self.exception_type(h.type))
                    and h.name not in PROTECTED_NAMES and self.block(h.body)
                    for h in node.handlers)
        return False

    def block(self, statements: list[ast.stmt]) -> bool:
        return all(self.statement(s) for s in statements)

    def exception_type(self, node: ast.expr) -> bool:
        names = node.elts if isinstance(node, ast.Tuple) else [node]
        return all(isinstance(n, ast.Name) for n in names)

    def target(self, node: ast.expr) -> bool:
        """A local name, the class's own public state, or the stop flag."""
        if isinstance(node, ast.Name):
            return node.id not in PROTECTED_NAMES
        if isinstance(node, ast.Subscript):
            return self.target(node.value) and self.expression(node.slice)
        # never one of Keras's hooks: `self.on_train_batch_end = print` would be called
        # with the batch's logs, which carry the model's own loss
        if isinstance(node, ast.Attribute) and node.attr.startswith(HOOK_PREFIXES):
            return False
        return self.own_attribute(node) or self.stop_flag(node)

    def own_attribute(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id == self.self_name and not node.attr.startswith("_") \
            and node.attr not in KERAS_SETS

    def stop_flag(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Attribute) and node.attr == STOP_FLAG \
            and isinstance(node.value, ast.Attribute) and node.value.attr == "model" \
            and isinstance(node.value.value, ast.Name) \
            and node.value.value.id == self.self_name

    def expression(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant | ast.Name):
            return True
        if isinstance(node, ast.Attribute):
            return self.own_attribute(node) or self.stop_flag(node)
        if isinstance(node, ast.Call):
            return self.callable(node.func) \
                and all(not isinstance(a, ast.Starred) and self.expression(a)
                        for a in node.args) \
                and all(k.arg is not None and self.expression(k.value)
                        for k in node.keywords)
        if isinstance(node, ast.FormattedValue):
            return self.expression(node.value) and (node.format_spec is None
                                                    or self.expression(node.format_spec))
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp | ast.Compare | ast.IfExp
                      | ast.JoinedStr | ast.Tuple | ast.List | ast.Set | ast.Dict
                      | ast.Subscript | ast.Slice):
            return all(self.expression(child) for child in ast.iter_child_nodes(node)
                       if not isinstance(child, _OPERATORS))
        return False

    def callable(self, func: ast.expr) -> bool:
        """A pure builtin, `.get` of a local (the logs), `"…".format`, or the base class's
        `__init__` through `super()`."""
        if isinstance(func, ast.Name):
            return func.id in PURE_BUILTINS
        if not isinstance(func, ast.Attribute):
            return False
        owner = func.value
        if func.attr == "get":
            return self.mapping(owner)
        if func.attr == "format":
            return isinstance(owner, ast.Constant) and isinstance(owner.value, str)
        if func.attr == "__init__" and self.function.name == "__init__":
            return isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) \
                and owner.func.id == "super" and not owner.keywords \
                and all(isinstance(a, ast.Name) for a in owner.args)
        return False


    def mapping(self, node: ast.expr) -> bool:
        """What `.get` may be called on: a local or parameter (the logs), an empty dict,
        or `logs or {}` of those; never the callback itself or a module-level name."""
        if isinstance(node, ast.Name):
            return node.id != self.self_name and node.id not in self.module_names
        if isinstance(node, ast.Dict):
            return not node.keys
        if isinstance(node, ast.BoolOp):
            return all(self.mapping(value) for value in node.values)
        return False


def _literal(node: ast.expr) -> bool:
    """A parameter's default: a literal (`logs={}`, `logs=None`, `target=0.999`)."""
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True
