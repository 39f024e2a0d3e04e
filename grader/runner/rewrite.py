"""Source rewrites applied to student code before it runs (module and notebook cells alike).

Two, both invisible to the student's logic: the entry-point function gets a recording
decorator, and — only when no sandbox can give the run a private /tmp — string literals
naming /tmp/... are pointed at the run's own tmp folder.
"""

from __future__ import annotations

import ast
import re

ENTRY_DECORATOR = "__grader_entry__"
_TMP_PATH = re.compile(r"(?<![\w./~-])/tmp(?=/|\b|$)")


class SubmissionTransformer(ast.NodeTransformer):
    def __init__(self, entry_function: str | None, tmp_remap: str | None) -> None:
        self.entry_function = entry_function
        self.tmp_remap = tmp_remap

    def visit_Module(self, node: ast.Module) -> ast.Module:
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) \
                    and statement.name == self.entry_function:
                statement.decorator_list.append(ast.Name(id=ENTRY_DECORATOR, ctx=ast.Load()))
        self.generic_visit(node)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if self.tmp_remap and isinstance(node.value, str) and "/tmp" in node.value:
            node.value = _TMP_PATH.sub(self.tmp_remap.replace("\\", "\\\\"), node.value)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.JoinedStr:
        # f-string parts are Constants too; generic_visit reaches them.
        self.generic_visit(node)
        return node


def transform(tree: ast.Module, entry_function: str | None,
              tmp_remap: str | None) -> ast.Module:
    return ast.fix_missing_locations(SubmissionTransformer(entry_function, tmp_remap)
                                     .visit(tree))
