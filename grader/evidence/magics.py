"""A notebook cell as the Python the IPython shell runs, so no cell is hidden from the reader.

Why: the run executes every code cell through IPython, which rewrites its special syntax
before Python sees it — `%%capture`, `%%time` and `%%timeit` cells run their body as an
ordinary cell, `%time stmt` runs `stmt`, `>>> ` prompts are stripped, a `%` at the start
of a continuation line is the modulo operator, not a magic. A reader that skipped cell
magics or blanked every line starting with `%` left whole cells out of its view (a class
defined under `%%capture` was invisible; `x = (1\\n% 2)` made a cell unparseable, so the
rest of it was never read). So the cell is transformed by IPython's own
`TransformerManager` (the same installation the run uses), and the magics are resolved
here, on the trusted side, without running anything:

- magics that run a body as Python in this process (`%%capture`, `%%time`, `%%timeit`,
  `%%prun`, `%time`, `%timeit`, `%prun`) have that body read in their place;
- `%%writefile` bodies are Python the code may import later: they are read too;
- magics that run code the reading cannot see (`%run`, `%%bash`, `%%script`, `%load`,
  `%macro`, an unknown magic, …) are noted: the grading goes to review, never loses points;
- display-only cell magics (`%%javascript`, `%%html`, …) and magics that run no Python in
  this process (`%matplotlib`, `%pip`, `!shell`, …) are left as the calls IPython makes.

IPython re-tokenises a cell once per magic it rewrites, so a hostile cell could make the
transformation slow; a character budget shared by the submission's cells bounds it, and a
cell beyond it is noted, not skipped silently.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from grader.evidence.names import call_name

MAX_NESTING = 4  # %%time of %%capture of …: deeper is noted, not followed
BUDGET_CHARS = 2_000_000  # characters IPython may tokenise for one submission
LOOP_LIMIT = 500  # IPython's own TRANSFORM_LOOP_LIMIT: past it the cell raises in the run

CODE_CELL_MAGICS = frozenset({"capture", "time", "timeit", "prun"})
CODE_LINE_MAGICS = frozenset({"time", "timeit", "prun"})
WRITE_CELL_MAGICS = frozenset({"writefile", "file"})
# they show their body in a browser; nothing runs in the notebook's Python process
DISPLAY_CELL_MAGICS = frozenset({"javascript", "js", "html", "markdown", "latex", "svg"})
# they run no Python code of the notebook's in its process: shell commands (as `!` lines
# do), package installs, plotting set-up, introspection and history display
HARMLESS_LINE_MAGICS = frozenset({
    "matplotlib", "pip", "conda", "mamba", "micromamba", "uv", "env", "cd", "pwd", "ls",
    "ll", "lf", "lk", "lx", "ldir", "mkdir", "rmdir", "rm", "cp", "mv", "cat", "clear",
    "less", "more", "man", "sx", "system", "sc", "alias", "unalias", "bookmark", "dhist",
    "dirs", "popd", "pushd", "load_ext", "reload_ext", "unload_ext", "autoreload",
    "aimport", "tensorflow_version", "tensorboard", "who", "whos", "who_ls", "pinfo",
    "pinfo2", "pdef", "pdoc", "psource", "pfile", "psearch", "lsmagic", "magic",
    "quickref", "history", "hist", "precision", "xmode", "colors", "doctest_mode", "page",
    "pprint", "automagic", "autoawait", "pdb", "tb", "save", "logstart", "logstop", "logon",
    "logoff", "logstate", "gui", "killbgscripts", "notebook", "pycat", "rehashx",
})
# %config may turn on autocall and the like; figure and completer settings are harmless
_HARMLESS_CONFIG = re.compile(r"^\s*(InlineBackend|IPCompleter|Completer)\b")
_OPTIONS_WITH_VALUE = {"timeit": {"-n", "-r", "-p", "-v"},
                       "prun": {"-l", "-r", "-s", "-T", "-D"}}
_PROMPT = re.compile(r"^\s*(>>>|\.\.\.|In \[)", re.MULTILINE)
_MAGIC_CALLS = {"run_cell_magic", "run_line_magic", "system", "getoutput", "magic"}
_KNOWN_LINE_MAGICS = (CODE_LINE_MAGICS | HARMLESS_LINE_MAGICS
                      | {"run", "load", "loadpy", "macro", "rerun", "recall", "edit", "debug",
                         "store", "autocall", "reset", "reset_selective", "config", "paste",
                         "cpaste", "script", "bash", "sh", "python", "python3", "perl",
                         "ruby", "pypy"})


@dataclass
class Budget:
    """What is left of the tokenising IPython may do for one submission."""

    chars: int = BUDGET_CHARS


@dataclass
class ReadCell:
    """One cell as read: its Python (None when it does not parse), its text (for the
    token scan), and notes on what of it the reading cannot follow."""

    tree: ast.Module | None
    text: str
    notes: list[str]
    resolved: bool = False  # a magic's body was read in its place: `tree` is not `text`


def read_cell(cell: str, budget: Budget | None = None, depth: int = 0) -> ReadCell:
    """`cell` as the IPython shell would run it, magics resolved (see the module doc)."""
    budget = budget if budget is not None else Budget()
    # plain Python, with no prompt IPython would strip, is what IPython runs unchanged:
    # none of its rewrites applies to a line that starts a valid statement
    tree = None if _PROMPT.search(cell) else _parse(cell)
    text, notes = (cell, []) if tree is not None else _transform(cell, budget)
    tree = tree if tree is not None else _parse(text)
    if tree is None and text.strip() and len(text.strip().splitlines()) == 1:
        # a one-line cell may be an automagic (`run x.py` runs %run x.py)
        word = re.match(r"\s*([A-Za-z_]\w*)", text)
        if word and word.group(1) in _KNOWN_LINE_MAGICS:
            text, notes = _transform("%" + cell.strip(), budget)
            tree = _parse(text)
    if tree is None:
        return ReadCell(None, text, notes)
    resolver = _Magics(budget, depth, notes)
    tree = resolver.visit(tree)
    ast.fix_missing_locations(tree)
    return ReadCell(tree, text, resolver.notes, resolver.resolved)


def _transform(cell: str, budget: Budget) -> tuple[str, list[str]]:
    """IPython's static transformation of a cell, within the budget."""
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    try:
        lines = (cell if cell.endswith("\n") else cell + "\n").splitlines(keepends=True)
        for transform in manager.cleanup_transforms + manager.line_transforms:
            lines = transform(lines)
        for _ in range(LOOP_LIMIT):
            budget.chars -= sum(map(len, lines))
            if budget.chars < 0:
                return cell, ["a cell too large for the grader to read with its magics"]
            changed, lines = manager.do_one_token_transform(lines)
            if not changed:
                return "".join(lines), []
    except (SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
        return cell, []  # not IPython syntax either: the cell raises in the run
    return cell, ["a cell with more magics than IPython rewrites"]


def _parse(text: str) -> ast.Module | None:
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _magic_call(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """(method, arguments) of a `get_ipython().method(...)` call, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in _MAGIC_CALLS and isinstance(node.func.value, ast.Call) \
            and call_name(node.func.value.func) == "get_ipython":
        return node.func.attr, list(node.args)
    return None




def _strings(arguments: list[ast.expr]) -> list[str] | None:
    if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in arguments):
        return [a.value for a in arguments]  # type: ignore[attr-defined]
    return None


def without_options(magic: str, line: str) -> str:
    """The statement of a `%timeit -n1 -r1 stmt` line: its leading options dropped."""
    words = line.strip().split(" ")
    takes_value = _OPTIONS_WITH_VALUE.get(magic, set())
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in takes_value and words:
            words.pop(0)
    return " ".join(words)


class _Magics(ast.NodeTransformer):
    """Puts the Python a magic runs where IPython's call to it stands; notes the rest."""

    def __init__(self, budget: Budget, depth: int, notes: list[str]) -> None:
        self.budget, self.depth, self.notes = budget, depth, list(notes)
        self.resolved = False

    def visit_Expr(self, node: ast.Expr) -> ast.AST | list[ast.stmt]:
        found = _magic_call(node.value)
        if found is None:
            return self.generic_visit(node)
        statements = self._statements(*found)
        return node if statements is None else statements or [ast.Pass()]

    def visit_Call(self, node: ast.Call) -> ast.AST:
        """A magic used as a value (`x = %time f()`): its expression, when it is one."""
        found = _magic_call(node)
        if found is None:
            return self.generic_visit(node)
        statements = self._statements(*found)
        if statements and len(statements) == 1 and isinstance(statements[0], ast.Expr):
            return statements[0].value
        if statements:
            self.notes.append("a magic that runs statements inside an expression")
        return node

    def _statements(self, method: str, arguments: list[ast.expr]) -> list[ast.stmt] | None:
        """What replaces the call: the statements it runs ([] for nothing the reading
        needs), or None to keep the call as it stands."""
        given = _strings(arguments)
        if given is None:
            self.notes.append(f"get_ipython().{method}() with a computed argument")
            return None
        if method in ("system", "getoutput"):
            return None  # a shell command, as `!cmd`
        if method == "magic":  # the old spelling: get_ipython().magic("time f()")
            name, _, line = (given[0] if given else "").lstrip("%").partition(" ")
            return self._line_magic(name, line)
        if method == "run_line_magic":
            return self._line_magic(*(given + ["", ""])[:2])
        return self._cell_magic(*(given + ["", "", ""])[:3])

    def _line_magic(self, name: str, line: str) -> list[ast.stmt] | None:
        if name in CODE_LINE_MAGICS:
            return self._body(without_options(name, line), f"%{name}")
        if name == "config":
            if line.strip() and not _HARMLESS_CONFIG.match(line):
                self.notes.append(f"%config {line.strip()[:40]}")
        elif name not in HARMLESS_LINE_MAGICS:
            self.notes.append(f"%{name}")
        return None

    def _cell_magic(self, name: str, line: str, body: str) -> list[ast.stmt] | None:
        if name in DISPLAY_CELL_MAGICS:
            return None
        if name in WRITE_CELL_MAGICS:
            return self._written(line, body)
        if name not in CODE_CELL_MAGICS:
            self.notes.append(f"a %%{name} cell")
            return None
        setup: list[ast.stmt] = []
        if name == "timeit":  # the line after its options is setup code
            setup = self._body(without_options(name, line), "%%timeit") or []
        return [*setup, *(self._body(body, f"%%{name}") or [])]

    def _body(self, code: str, where: str) -> list[ast.stmt] | None:
        if not code.strip():
            return []
        if self.depth >= MAX_NESTING:
            self.notes.append(f"{where} nested too deeply to read")
            return None
        inner = read_cell(code, self.budget, self.depth + 1)
        self.notes += inner.notes
        if inner.tree is None:
            self.notes.append(f"{where} with code the grader cannot parse")
            return None
        self.resolved = True
        return inner.tree.body

    def _written(self, line: str, body: str) -> list[ast.stmt] | None:
        """A %%writefile body: read as Python when it is, since it may be imported; a
        `.py` file whose body is not Python is noted."""
        inner = read_cell(body, self.budget, self.depth + 1) \
            if self.depth < MAX_NESTING else ReadCell(None, body, [])
        if inner.tree is not None:
            self.notes += inner.notes
            self.resolved = True
            return inner.tree.body
        target = without_options("writefile", line).strip().strip("'\"")
        if target.endswith((".py", ".pyw", ".ipy")):
            self.notes.append(f"a %%writefile {target[:40]} cell the grader cannot parse")
        return None
