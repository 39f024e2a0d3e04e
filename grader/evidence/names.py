"""The name a call or a base class is written with, read from the source's syntax tree:
`f(...)` and `a.b.f(...)` are both `f`. One definition for every reader of the source
(source.py, magics.py, seeking.py, callback_source.py)."""

from __future__ import annotations

import ast


def call_name(func: ast.AST) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None
