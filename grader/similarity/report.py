"""Write similarity.json and similarity.html.

The page follows the other reports: Jinja2 with autoescape (every name and line of code
comes from a submission and is hostile), a Content-Security-Policy that lets nothing
leave the file, and no script at all (pairs open with <details>), so it works offline,
in print and with JavaScript off. Each shown pair puts the two submissions side by side
by cell, with the lines holding matched code highlighted and the template and the
class's common code greyed out: what the shares were computed on is what is shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.files import atomic_write
from grader.reports.pages import REPORT_CSP, environment
from grader.results.layout import OutputLayout
from grader.similarity import coverage
from grader.similarity.compare import Document, Pair
from grader.similarity.result import SimilarityResult

MAX_DETAILED_PAIRS = 150   # side-by-side views
MAX_TABLE_ROWS = 500       # pair table: every flagged pair, then the next most similar
MAX_LINES_SHOWN = 1500     # per document in one view
MATCH, TEMPLATE, COMMON, IGNORED, PLAIN = "m", "t", "c", "x", ""


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    mark: str


@dataclass(frozen=True)
class Cell:
    number: int
    lines: list[Line]


@dataclass(frozen=True)
class Side:
    name: str
    file: str
    kind: str
    share: float
    matched: int
    cells: list[Cell]
    cut: bool


def write(result: SimilarityResult, out_dir: Path,
          json_path: Path | None = None) -> tuple[Path, Path]:
    """similarity.json (or json_path) and similarity.html in out_dir, named as in every
    output folder (grader.results.layout), each written atomically."""
    layout = OutputLayout(out_dir)
    json_path = json_path or layout.similarity_json
    data = result.to_json()
    atomic_write(json_path, json.dumps(data, indent=1, ensure_ascii=False))
    atomic_write(layout.similarity_html, render(result, data))
    return json_path, layout.similarity_html


def render(result: SimilarityResult, data: dict[str, object] | None = None) -> str:
    pages = environment()
    pages.filters["percent"] = lambda v: f"{100 * float(v):.0f} %"
    data = data if data is not None else result.to_json()
    detailed = [p for p in result.pairs if p.flagged] + \
        [p for p in result.pairs if not p.flagged]
    details = [(n, pair, _side(result, pair, True), _side(result, pair, False))
               for n, pair in enumerate(detailed[:MAX_DETAILED_PAIRS], start=1)]
    anchors = {(pair.first, pair.second): n for n, pair, _, _ in details}
    shown = max(MAX_TABLE_ROWS, len(result.flagged_pairs))
    return pages.get_template("similarity.html.j2").render(
        csp=REPORT_CSP, data=data, result=result, details=details, anchors=anchors,
        pairs=result.pairs[:shown], settings=result.comparison.settings,
        hidden_rows=max(0, len(result.pairs) - shown),
        hidden_details=max(0, len(result.pairs) - MAX_DETAILED_PAIRS))


def line_marks(document: Document, found: np.ndarray | None) -> list[str]:
    """One mark per line: matched (at least half its tokens found in the other: a k-gram
    reaching one token into a line does not mark it), template (every token
    is handed-out code), common (every token is template or class-common), ignored (no
    compared token: comments, blank, shell and magic lines), or plain."""
    assert document.masks is not None
    masks, lines = document.masks, document.normalized.lines
    spans = document.normalized.token_lines
    counted = _per_line(spans, np.ones(len(spans), dtype=bool), len(lines))
    template = _per_line(spans, masks.template, len(lines))
    boiler = _per_line(spans, masks.template | masks.common, len(lines))
    matched = _per_line(spans, found > 0 if found is not None else
                        np.zeros(len(spans), dtype=bool), len(lines))
    marks = []
    for i in range(len(lines)):
        if counted[i] and 2 * matched[i] >= counted[i]:
            marks.append(MATCH)
        elif counted[i] == 0:
            marks.append(IGNORED)
        elif template[i] == counted[i]:
            marks.append(TEMPLATE)
        elif boiler[i] == counted[i]:
            marks.append(COMMON)
        else:
            marks.append(PLAIN)
    return marks


def _per_line(spans: np.ndarray, selected: np.ndarray, lines: int) -> np.ndarray:
    """How many selected tokens touch each line (a token spans lines first..last)."""
    marks = np.zeros(lines + 1, dtype=np.int64)
    chosen = spans[selected]
    np.add.at(marks, chosen[:, 0], 1)
    np.add.at(marks, chosen[:, 1] + 1, -1)
    return np.cumsum(marks)[:lines]


def _side(result: SimilarityResult, pair: Pair, first: bool) -> Side:
    documents = result.comparison.documents
    mine, other = (documents[pair.first], documents[pair.second]) if first else \
        (documents[pair.second], documents[pair.first])
    assert mine.masks is not None and other.masks is not None
    marks = line_marks(mine, coverage.found_in(mine.masks, other.masks))
    lines, starts = mine.normalized.lines, mine.normalized.cell_starts
    cells: list[Cell] = []
    shown = 0
    for number, start in enumerate(starts, start=1):
        end = starts[number] if number < len(starts) else len(lines)
        take = max(0, min(end, start + MAX_LINES_SHOWN - shown) - start)
        cells.append(Cell(number, [Line(i - start + 1, lines[i], marks[i])
                                   for i in range(start, start + take)]))
        shown += take
    return Side(mine.source.name, mine.source.file, mine.source.role,
                pair.share_a if first else pair.share_b,
                pair.matched_a if first else pair.matched_b,
                [c for c in cells if c.lines], shown < len(lines))
