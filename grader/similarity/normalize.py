"""Turn a submission's code cells into the token stream that similarity is measured on.

Why this shape: what a copier changes cheaply must not change the stream, and what the
exercise makes everybody write the same way is removed later (templates, class-common
code), not here. So:

* only code cells count (the caller passes them); shell and magic lines (`!wget`,
  `%matplotlib`, `%%capture`) and `get_ipython()` calls (what nbconvert turns them into)
  are dropped, so a notebook and the module exported from it give the same stream;
* comments, docstrings (a statement that is only a string) and import statements are
  dropped: imports are declarations a copier can reorder freely, and the course hands
  them out;
* names the student chooses become `V`, strings `S`, numbers `N`, so a renamed variable or
  a changed learning rate is not a difference; attribute names after a dot and keyword
  names in calls stay as written (`.fit`, `activation=`), because they are the library's
  API and renaming them breaks the code; a parameter or `self.` attribute the submission
  defines itself is the student's choice again and becomes `V` there too;
* statements end with `;`; indentation is not kept, so wrapping cells in a function (or
  unwrapping a function into cells) changes only the few tokens around the wrapper;
* a trailing comma before a closing bracket is dropped (formatters add them).

Course templates are not always valid Python (`class myCallback(# Your Code):`); when the
tokenizer stops on such a cell the cell is tokenized line by line with a bracket-depth
heuristic instead, so the template's remaining lines still match what students kept.
"""

from __future__ import annotations

import keyword
import re
import tokenize
from dataclasses import dataclass, field

import numpy as np

from grader.similarity.lexer import Token as _Tok
from grader.similarity.lexer import lex

ABSTRACT_NAME, ABSTRACT_STRING, ABSTRACT_NUMBER, END = "V", "S", "N", ";"
_NON_PYTHON_CELL_MAGICS = {"bash", "sh", "script", "html", "javascript", "js", "latex",
                           "markdown", "svg", "perl", "ruby", "writefile", "file", "sql"}
_SHELL_OR_MAGIC = re.compile(r"^\s*(?:[!%]|[A-Za-z_]\w*\s*=\s*[!%])")
_HELP = re.compile(r"^\s*[\w.]+\s*\?{1,2}\s*$")
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER, tokenize.TYPE_COMMENT}
_OPEN, _CLOSE = "([{", ")]}"


@dataclass
class Normalized:
    """The abstracted tokens of one submission and where each came from.

    `lines` are the code cells' own lines (comments and magics included, for display);
    `cell_starts[i]` is the index in `lines` of cell i's first line; `token_lines[t]` is
    the (first, last) line of token t (an int32 array of shape (tokens, 2): small to keep
    and to send between processes), so matches can be shown where they were written.
    """

    tokens: list[str] = field(default_factory=list)
    token_lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))
    lines: list[str] = field(default_factory=list)
    cell_starts: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def normalize(cells: list[str]) -> Normalized:
    """The normalised stream of a submission given as its code cells, in order."""
    result = Normalized()
    tokenized: list[tuple[int, list[_Tok]]] = []
    for number, cell in enumerate(cells, start=1):
        offset = len(result.lines)
        cell_lines = cell.splitlines()
        result.cell_starts.append(offset)
        result.lines.extend(cell_lines)
        code_lines, dropped_cell = _strip_shell(cell_lines)
        if dropped_cell:
            continue
        raw, clean = _tokens("\n".join(code_lines) + "\n")
        if not clean:
            result.notes.append(f"cell {number} is not valid Python; compared line by line")
        tokenized.append((offset, raw))
    own: set[str] = set()
    for _, raw in tokenized:
        own |= _own_names(raw)
    lines: list[tuple[int, int]] = []
    for offset, raw in tokenized:
        for text, first, last in _abstract(raw, own):
            result.tokens.append(text)
            lines.append((first + offset, last + offset))
    result.token_lines = np.array(lines, dtype=np.int32).reshape(-1, 2)
    return result


def _strip_shell(lines: list[str]) -> tuple[list[str], bool]:
    """Blank out shell, magic and help lines (keeping line numbers); drop non-Python cells."""
    first = next((line.strip() for line in lines if line.strip()), "")
    out = list(lines)
    if first.startswith("%%"):
        name = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if name in _NON_PYTHON_CELL_MAGICS:
            return [], True
        out[next(i for i, line in enumerate(lines) if line.strip())] = ""
    continued = False
    for i, line in enumerate(out):
        if continued or _SHELL_OR_MAGIC.match(line) or _HELP.match(line):
            continued = line.rstrip().endswith("\\")  # `!wget \` goes on on the next line
            out[i] = ""
    return out, False


def _tokens(source: str) -> tuple[list[_Tok], bool]:
    """A cell's Python tokens; (tokens, True) or, if it is not well formed, a fallback."""
    found, clean = lex(source)
    return (found, True) if clean else (_line_by_line(source.splitlines()), False)


def _line_by_line(lines: list[str]) -> list[_Tok]:
    """Tokens of a cell that does not tokenize as a whole (a template with placeholders).

    Each line is tokenized on its own; a statement is taken to end at a line's end when the
    bracket depth is back to zero, or when the next code line is indented no deeper than
    the line that opened the bracket and does not start by closing it (a placeholder
    comment ate the closing bracket)."""
    found: list[_Tok] = []
    depth, opener_indent = 0, 0
    for number, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if depth > 0 and indent <= opener_indent and stripped[0] not in _CLOSE:
            found.append(_Tok(tokenize.NEWLINE, "\n", number, number))
            depth = 0
        line_tokens = _tokenize_line(line.strip(), number)
        if depth == 0:
            opener_indent = indent
        for tok in line_tokens:
            if tok.kind == tokenize.OP and tok.text in _OPEN:
                depth += 1
            elif tok.kind == tokenize.OP and tok.text in _CLOSE:
                depth = max(0, depth - 1)
        found.extend(line_tokens)
        if depth == 0:
            found.append(_Tok(tokenize.NEWLINE, "\n", number, number))
    return found


def _tokenize_line(text: str, number: int) -> list[_Tok]:
    """One line's tokens, whatever follows it (an unclosed bracket is fine here)."""
    return [_Tok(t.kind, t.text, number, number) for t in lex(text)[0]
            if t.kind != tokenize.NEWLINE]


def _abstract(raw: list[_Tok], own: set[str]) -> list[tuple[str, int, int]]:
    """Abstracted (token, first line, last line), statement by statement."""
    out: list[tuple[str, int, int]] = []
    statement: list[tuple[str, int, int]] = []
    brackets: list[str] = []
    toks = [t for t in raw if t.kind not in _SKIPPED
            and not (t.kind == tokenize.ERRORTOKEN and (not t.text.strip() or t.text in "!?$"))]
    for i, tok in enumerate(toks):
        if tok.kind == tokenize.NEWLINE or (tok.kind == tokenize.OP and tok.text == ";"):
            _close(statement, out)
            statement = []
            brackets.clear()  # valid code has none open here; a broken template may
            continue
        text = _abstract_one(toks, i, brackets, own)
        if text is None:
            continue
        if text == ABSTRACT_STRING and statement and statement[-1][0] == ABSTRACT_STRING:
            statement[-1] = (ABSTRACT_STRING, statement[-1][1], tok.last)  # "a" "b"
            continue
        statement.append((text, tok.first, tok.last))
    _close(statement, out)
    return out


def _abstract_one(toks: list[_Tok], i: int, brackets: list[str],
                  own: set[str]) -> str | None:
    tok = toks[i]
    if tok.kind == tokenize.OP:
        if tok.text in _OPEN:
            brackets.append(tok.text)
        elif tok.text in _CLOSE and brackets:
            brackets.pop()
        following = toks[i + 1] if i + 1 < len(toks) else None
        if tok.text == "," and following is not None and following.text in _CLOSE:
            return None  # trailing comma
        return tok.text
    if tok.kind == tokenize.NUMBER:
        return ABSTRACT_NUMBER
    if tok.kind == tokenize.STRING:  # f-strings too: one token on Python 3.11
        return ABSTRACT_STRING
    if tok.kind == tokenize.NAME:
        if keyword.iskeyword(tok.text):
            return tok.text
        previous = toks[i - 1] if i > 0 else None
        following = toks[i + 1] if i + 1 < len(toks) else None
        after_dot = previous is not None and previous.text == "."
        keyword_arg = (following is not None and following.text == "=" and brackets
                       and brackets[-1] == "(")
        if (after_dot or keyword_arg) and tok.text not in own:
            return tok.text
        return ABSTRACT_NAME
    return tok.text if tok.text.strip() else None


def _close(statement: list[tuple[str, int, int]], out: list[tuple[str, int, int]]) -> None:
    """Append a finished statement unless it is one the comparison ignores."""
    if not statement:
        return
    head = statement[0][0]
    if head in ("import", "from"):
        return
    if all(t[0] == ABSTRACT_STRING for t in statement):
        return  # a docstring or a bare string
    if head == ABSTRACT_NAME and len(statement) > 1 and statement[1][0] == "(" and \
            _is_get_ipython(statement):
        return
    out.extend(_without_redundant_parentheses(statement))
    out.append((END, statement[-1][2], statement[-1][2]))


def _without_redundant_parentheses(
        statement: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """`if(x > y):` as `if x > y:`, `return (x)` as `return x`: the course-era style and a
    formatter's differ only there."""
    head = statement[0][0]
    if head not in ("if", "elif", "while", "return", "assert") or len(statement) < 3 or \
            statement[1][0] != "(":
        return statement
    closing = len(statement) - (2 if head in ("if", "elif", "while") else 1)
    if head in ("if", "elif", "while") and statement[-1][0] != ":":
        return statement
    depth = 0
    for at in range(1, closing + 1):
        text = statement[at][0]
        depth += 1 if text in _OPEN else -1 if text in _CLOSE else 0
        if depth == 0:
            if at != closing or text != ")":
                return statement
            return [statement[0], *statement[2:closing], *statement[closing + 1:]]
    return statement


def _is_get_ipython(statement: list[tuple[str, int, int]]) -> bool:
    # The name was abstracted; the shape V ( ) . system|run_line_magic|run_cell_magic (
    # identifies nbconvert's rewrite of a shell or magic line.
    return len(statement) > 4 and statement[2][0] == ")" and statement[3][0] == "." and \
        statement[4][0] in ("system", "run_line_magic", "run_cell_magic", "getoutput")


def _own_names(raw: list[_Tok]) -> set[str]:
    """Parameter names and `self.` attributes a cell defines: the student's choice, so they
    are abstracted even where they stand as keywords or after a dot. Read from the tokens
    (a `def`'s or `lambda`'s parameters; `self.x =`), which costs far less than a parse."""
    names: set[str] = set()
    toks = [t for t in raw if t.kind in (tokenize.NAME, tokenize.OP)]
    for i, tok in enumerate(toks):
        if tok.kind == tokenize.NAME and tok.text == "self" and i + 3 < len(toks) and \
                toks[i + 1].text == "." and toks[i + 3].text == "=":
            names.add(toks[i + 2].text)
        elif tok.kind == tokenize.NAME and tok.text in ("def", "lambda"):
            if tok.text == "def":
                names.update(_parameters(toks, i + 3, ")"))
            else:
                names.update(_parameters(toks, i + 1, ":"))
    names.difference_update(("self", "cls"))
    return names


def _parameters(toks: list[_Tok], start: int, until: str) -> list[str]:
    """The parameter names of a signature starting at toks[start] and ending at `until`
    at bracket depth 0 (`)` after `def f(`, `:` after `lambda`)."""
    found: list[str] = []
    depth, expecting = 0, True
    for tok in toks[start:start + 400]:
        if depth == 0 and tok.text == until:
            break
        if tok.text in _OPEN:
            depth += 1
        elif tok.text in _CLOSE:
            depth -= 1
            if depth < 0:
                break
        elif depth == 0 and tok.text == ",":
            expecting = True
        elif depth == 0 and expecting and tok.kind == tokenize.NAME:
            found.append(tok.text)
            expecting = False
    return found
