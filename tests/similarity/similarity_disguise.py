"""Disguised copies of a solution, made the way a copier would hide one (test helper).

Every disguise at once: every identifier the code binds renamed (variables, functions,
classes, parameters, import aliases), comments replaced by new ones, numbers changed
(hyperparameters, layer sizes), independent top-level cells or functions reordered, dead
code inserted, and the notebook written as a module or the module as a notebook. The
output still parses wherever the input did, so the copy is code a student could hand in.
Deterministic for a given seed.
"""

from __future__ import annotations

import ast
import builtins
import io
import json
import keyword
import random
import re
import tokenize
from pathlib import Path

_SHELL = re.compile(r"^(\s*)[!%](.*)$")
_WORDS = ("prepare", "the", "images", "model", "training", "now", "check", "my", "loop",
          "layers", "data", "folder", "accuracy", "stop", "early", "callback", "build")


def read_cells(path: Path) -> list[str]:
    if path.suffix == ".py":
        return [path.read_text(encoding="utf-8")]
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in cells if c["cell_type"] == "code"]


def write_notebook(path: Path, cells: list[str]) -> Path:
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"language_info":
                                                                {"name": "python"}},
                "cells": [{"cell_type": "code", "id": f"c{n}", "metadata": {},
                           "execution_count": None, "outputs": [], "source": cell}
                          for n, cell in enumerate(cells)]}
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


def disguise(source: Path, target_dir: Path, name: str, seed: int,
             convert: bool = True, change_literals: bool = True) -> Path:
    """Write a disguised copy of `source` into target_dir/name.(py|ipynb) and return it.

    With `convert` a notebook becomes a module and a module a notebook; without
    `change_literals` the numbers and strings stay as written (a copier who renames,
    reformats, reorders and pads but keeps the values that make the code work)."""
    rng = random.Random(seed)
    cells = [_shell_to_python(c) for c in read_cells(source)]
    trees: list[ast.Module | None] = []
    for cell in cells:
        try:
            trees.append(ast.parse(cell))
        except SyntaxError:
            trees.append(None)
    mapping = _renames([t for t in trees if t is not None], rng)
    out_cells = []
    for cell, tree in zip(cells, trees, strict=True):
        if tree is None:
            out_cells.append(_token_disguise(cell, mapping))
            continue
        tree = _Renamer(mapping).visit(tree)
        if change_literals:
            tree = _Numbers(rng).visit(tree)
        _insert_dead(tree, rng)
        _reorder_defs(tree.body, rng)
        out_cells.append(_comment(ast.unparse(ast.fix_missing_locations(tree)), rng))
    out_cells = _reorder_cells(out_cells, rng)
    as_module = (source.suffix == ".ipynb") == convert
    if as_module:
        path = target_dir / f"{name}.py"
        path.write_text("\n\n\n".join(out_cells) + "\n", encoding="utf-8")
        return path
    return write_notebook(target_dir / f"{name}.ipynb", _split_cells("\n\n".join(out_cells)))


def _shell_to_python(cell: str) -> str:
    """`!cmd` lines (with `\\` continuations) as nbconvert writes them in a module."""
    lines, out, pending = cell.splitlines(), [], None
    for line in lines:
        if pending is not None:
            pending[1].append(line.rstrip("\\ "))
            if not line.rstrip().endswith("\\"):
                out.append(f"{pending[0]}get_ipython().system({' '.join(pending[1])!r})")
                pending = None
            continue
        found = _SHELL.match(line)
        if found:
            pending = (found.group(1), [found.group(2).rstrip("\\ ")])
            if not line.rstrip().endswith("\\"):
                out.append(f"{pending[0]}get_ipython().system({pending[1][0]!r})")
                pending = None
            continue
        out.append(line)
    return "\n".join(out)


def _renames(trees: list[ast.Module], rng: random.Random) -> dict[str, str]:
    bound: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.alias) and "." not in node.name:
                bound.add(node.asname or node.name)
        for node in ast.walk(tree):  # Keras calls these by name: renaming breaks the code
            if isinstance(node, ast.ClassDef):
                bound.difference_update(f.name for f in node.body
                                        if isinstance(f, ast.FunctionDef))
    bound -= {"self", "cls", "get_ipython", *dir(builtins)}
    names = sorted(bound)
    rng.shuffle(names)
    return {old: f"{rng.choice(_WORDS)}_{n}{rng.choice('xyzqk')}" for n, old in
            enumerate(names)}


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.mapping.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.mapping.get(node.arg, node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        node.name = self.mapping.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        node.name = self.mapping.get(node.name, node.name)
        self.generic_visit(node)
        return node

    def visit_alias(self, node: ast.alias) -> ast.alias:
        bound = node.asname or node.name
        if "." not in node.name and bound in self.mapping:
            node.asname = self.mapping[bound]
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.keyword:
        # a keyword naming one of the code's own parameters is renamed with it
        if node.arg in self.mapping and node.arg not in _API_KEYWORDS:
            node.arg = self.mapping[node.arg]
        self.generic_visit(node)
        return node


_API_KEYWORDS = {"activation", "input_shape", "loss", "optimizer", "metrics", "rescale",
                 "target_size", "batch_size", "class_mode", "steps_per_epoch", "epochs",
                 "verbose", "callbacks", "learning_rate", "lr", "shape", "validation_data",
                 "validation_steps", "logs", "label_mode", "image_size", "seed", "subset",
                 "validation_split", "directory"}


class _Numbers(ast.NodeTransformer):
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        value = node.value
        if isinstance(value, bool):
            return node
        if isinstance(value, int):
            node.value = value * 2 if value > 2 else value + self.rng.choice((1, 2))
        elif isinstance(value, float):
            node.value = round(value * self.rng.choice((0.5, 1.5, 2.0)), 6)
        elif isinstance(value, str) and " " in value:
            node.value = " ".join(self.rng.sample(_WORDS, 4))
        return node


def _expression(rng: random.Random, depth: int, names: list[str]) -> str:
    """A random arithmetic or call expression: each copier writes their own dead code."""
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice([str(rng.randint(0, 99)), rng.choice(names), f"{rng.random():.2f}"])
    kind = rng.randrange(5)
    left = _expression(rng, depth - 1, names)
    right = _expression(rng, depth - 1, names)
    if kind == 0:
        return f"({left} {rng.choice('+-*%')} {right})"
    if kind == 1:
        return f"{rng.choice(('abs', 'int', 'float', 'round', 'len'))}([{left}, {right}][0:1])" \
            if rng.random() < 0.3 else f"abs({left})"
    if kind == 2:
        return f"[{left} for {names[0]} in range({rng.randint(1, 5)})]"
    if kind == 3:
        return f"({left} if {right} else {_expression(rng, depth - 1, names)})"
    return f"max({', '.join(_expression(rng, depth - 1, names) for _ in range(rng.randint(2, 4)))})"


def _dead_statements(rng: random.Random) -> list[ast.stmt]:
    stem = f"{rng.choice(_WORDS)}{rng.randint(0, 999)}"
    names = [f"{stem}_{c}" for c in "abc"]
    value = _expression(rng, rng.randint(1, 4), names[:1] + ["0", "1"])
    shapes = (f"{names[0]} = {value}",
              f"if False:\n    {names[1]} = {value}",
              f"def {stem}_unused({names[0]}, {names[1]}=None):\n    return {value}",
              f"for {names[0]} in range(0):\n    {names[2]} = {value}",
              f"while False:\n    {names[2]} = {value}\n    break")
    return ast.parse(rng.choice(shapes)).body


def _insert_dead(tree: ast.AST, rng: random.Random) -> None:
    """A dead statement after about every third statement, in every block."""
    for node in list(ast.walk(tree)):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                continue
            out: list[ast.stmt] = []
            for statement in block:
                out.append(statement)
                if rng.random() < 0.35:
                    out.extend(_dead_statements(rng))
            setattr(node, name, out)


def _reorder_defs(body: list[ast.stmt], rng: random.Random) -> None:
    """Shuffle each run of consecutive top-level function and class definitions."""
    start = 0
    while start < len(body):
        end = start
        while end < len(body) and isinstance(body[end], ast.FunctionDef | ast.ClassDef):
            end += 1
        if end - start > 1:
            run = body[start:end]
            rng.shuffle(run)
            body[start:end] = run
        start = max(end, start + 1)


def _executed_names(cell: str) -> tuple[set[str], set[str]]:
    """(names the cell binds, names it reads when it runs), function bodies not run."""
    try:
        tree = ast.parse(cell)
    except SyntaxError:
        return set(), {"*"}
    bound, read = set(), set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.ClassDef):
            bound.add(statement.name)
            nodes = [*statement.decorator_list,
                     *(statement.bases if isinstance(statement, ast.ClassDef) else [])]
        else:
            nodes = [statement]
        for node in nodes:
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name):
                    (bound if isinstance(inner.ctx, ast.Store) else read).add(inner.id)
                elif isinstance(inner, ast.alias):
                    bound.add(inner.asname or inner.name.split(".")[0])
    return bound, read


def _reorder_cells(cells: list[str], rng: random.Random) -> list[str]:
    """A random order of the cells that runs the same: a cell may move before another
    unless it reads, when it runs, a name the other binds (or either does not parse)."""
    facts = [_executed_names(c) for c in cells]
    remaining, order = list(range(len(cells))), []
    while remaining:
        ready = [i for i in remaining
                 if all(j >= i or j in order or not _depends(facts[i], facts[j], i, j)
                        for j in remaining if j != i)]
        choice = rng.choice(ready) if ready else remaining[0]
        order.append(choice)
        remaining.remove(choice)
    return [cells[i] for i in order]


def _depends(mine: tuple[set[str], set[str]], theirs: tuple[set[str], set[str]],
             i: int, j: int) -> bool:
    if "*" in mine[1] or "*" in theirs[1]:
        return True
    # i reads what j binds, or i rebinds what j reads or binds (keep the later value)
    return bool(mine[1] & theirs[0] or mine[0] & theirs[1] or mine[0] & theirs[0])


def _comment(code: str, rng: random.Random) -> str:
    """A new comment before each statement that starts a line at its block's indent."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    starts = {(node.lineno, node.col_offset) for node in ast.walk(tree)
              if isinstance(node, ast.stmt)}
    lines = code.splitlines()
    for line_no, column in sorted(starts, reverse=True):
        if rng.random() < 0.6:
            words = " ".join(rng.sample(_WORDS, 3))
            lines.insert(line_no - 1, " " * column + f"# {words}")
    return "\n".join(lines)


def _split_cells(module: str) -> list[str]:
    """A module as notebook cells: each top-level definition its own cell."""
    tree = ast.parse(module)
    lines = module.splitlines()
    cells: list[str] = []
    current: list[str] = []
    for index, node in enumerate(tree.body):
        start = node.lineno - 1 if index else 0
        start = min(start, min((d.lineno - 1 for d in getattr(node, "decorator_list", [])),
                               default=start))
        end = tree.body[index + 1].lineno - 1 if index + 1 < len(tree.body) else len(lines)
        chunk = "\n".join(lines[start:end]).strip("\n")
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            if current:
                cells.append("\n".join(current))
                current = []
            cells.append(chunk)
        else:
            current.append(chunk)
    if current:
        cells.append("\n".join(current))
    return [c for c in cells if c.strip()]


def _token_disguise(cell: str, mapping: dict[str, str]) -> str:
    """A cell that does not parse: rename known names and change numbers token by token."""
    out = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(cell).readline):
            text = tok.string
            if tok.type == tokenize.NAME and previous != "." and \
                    not keyword.iskeyword(text) and text in mapping:
                text = mapping[text]
            elif tok.type == tokenize.NUMBER and text.isdigit():
                text = str(int(text) * 2 + 1)
            elif tok.type == tokenize.COMMENT:
                text = "# " + " ".join(_WORDS[:3])
            out.append((tok.type, text))
            if tok.type not in (tokenize.NL, tokenize.COMMENT):
                previous = tok.string
    except (tokenize.TokenError, IndentationError):
        return cell
    return tokenize.untokenize(out)
