"""The fast lexer gives Python's own tokens: compared with `tokenize` on every Python file
and notebook code cell of the repository (and of the course corpus when it is there)."""

from __future__ import annotations

import io
import json
import tokenize

import pytest
from similarity_fixtures import CORPUS, REPO

from grader.similarity.lexer import lex

COMPARED = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING, tokenize.OP, tokenize.NEWLINE,
            tokenize.ERRORTOKEN}


def stdlib(source: str) -> list[tuple[int, str, int, int]]:
    out = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in COMPARED or (tok.type == tokenize.ERRORTOKEN
                                        and not tok.string.strip()):
            continue
        text = "" if tok.type == tokenize.NEWLINE else tok.string
        out.append((tok.type, text, tok.start[0] - 1, tok.end[0] - 1))
    return out


def ours(source: str) -> list[tuple[int, str, int, int]]:
    tokens, clean = lex(source)
    assert clean
    return [(t.kind, "" if t.kind == tokenize.NEWLINE else t.text, t.first, t.last)
            for t in tokens]


def sources() -> list[tuple[str, str]]:
    found = []
    files = sorted(REPO.glob("grader/**/*.py")) + sorted(REPO.glob("tests/**/*.py")) + \
        sorted(REPO.glob("benchmarks/*.py")) + sorted(REPO.glob("reference/**/*.py")) + \
        sorted(REPO.glob("submissions/**/*.py"))
    for path in files:
        try:
            found.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, OSError):
            continue  # a deliberately broken fixture (tests/security): not Python text
    notebooks = sorted(REPO.glob("reference/**/*.ipynb")) + \
        sorted(REPO.glob("submissions/**/*.ipynb"))
    if CORPUS.is_dir():
        notebooks += sorted(CORPUS.glob("*.ipynb"))
    for path in notebooks:
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (UnicodeDecodeError, ValueError, KeyError, OSError):
            continue  # a deliberately broken sample (corrupt notebook)
        for n, cell in enumerate(cells):
            if cell["cell_type"] == "code":
                text = "".join(cell["source"]) if isinstance(cell["source"], list) \
                    else cell["source"]
                found.append((f"{path.name} cell {n}", text + "\n"))
    return found


def test_same_tokens_as_tokenize_on_every_valid_file_and_cell() -> None:
    compared = 0
    for name, source in sources():
        try:
            expected = stdlib(source)
        except (tokenize.TokenError, IndentationError, SyntaxError):
            continue  # not valid Python (a template, a shell cell): nothing to compare with
        assert ours(source) == expected, name
        compared += 1
    assert compared > 100


@pytest.mark.parametrize("source", [
    "x = 0x_1F + 0b1 + 0o7 + 1_000.5e-3j + .5 + 1. + 1e5 + 10j\n",
    "s = rb'a' + Rb\"b\" + f'{x!r}' + u'c' + '''multi\nline''' + \"esc \\\" quote\"\n",
    "a = [1,\n     2]  # comment\n\nb = {k: v for k, v in x.items()}\n",
    "if a:\n    b = c \\\n        + d\n",
    "def f(*args, **kw) -> None: ...\nx @= y; z **= 2\nw := 3\n",
    "price = $5\nok = a?b\n",
    "é = 'ünïcode'\n",
])
def test_same_tokens_on_tricky_lines(source: str) -> None:
    assert ours(source) == stdlib(source)


def test_an_unclosed_bracket_or_string_is_not_well_formed() -> None:
    assert lex("class myCallback(# Your Code):\n  pass\n")[1] is False
    assert lex("x = '''never closed\n")[1] is False
    assert lex("x = (1,\n 2)\n")[1] is True
