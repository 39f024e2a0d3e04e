"""What survives renaming and reformatting, read beside the token match.

Why: once the course material (lesson and exercise notebooks) is removed, what is left
of a student's own work is often under 50 tokens, too little for a token share to mean
anything. The abstraction that makes the token match robust (names -> V, strings -> S,
numbers -> N) also throws away the parts a copier rarely rewrites: the strings and
printed messages, the comments, and the odd hyperparameters (batch size, steps, epochs,
layer widths, learning rate) in the order they were written. Two students do not
independently print "Stopping: the model is good enough now", nor pick 24, 48, 96, 384,
0.0007, 12 in that order.

Each document gives its *traits*: its normalised strings, its comments of at least
MIN_COMMENT_WORDS words, and its runs of SEQUENCE_RUN numbers in a row (0 and 1 left
out: they are everywhere) that hold an *odd* number, one the course material never
writes (a run of the lesson's 3, 3, 2, 2 is every student's). A trait counts only when
the course material does not hold it, and only when at most two submissions do: a
comment seven students share comes from a version of the handout the instructor did not
give (measured on ../shared/corpus, where seven notebooks keep the Coursera copy's "do
not change the line below" cell), not from a copy. A pair's evidence is one point per
shared string or comment, plus one per shared number run, at most SEQUENCE_CAP from runs
(one long shared run is one choice, not many). The report shows it next to the pair.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from grader.similarity.lexer import literals

SEQUENCE_RUN = 4      # numbers in a row that make one hyperparameter trait
SEQUENCE_CAP = 2.0    # at most this much evidence from the number sequence
MAX_NUMBERS = 400     # numbers kept per document (data tables are not hyperparameters)
MIN_TEXT = 4          # characters a string must have to count
MIN_COMMENT = 10      # ... and a comment
MIN_COMMENT_WORDS = 4  # "# build the model" is anybody's; four words are a sentence
MAX_HOLDERS = 2       # submissions that may hold a trait for it to count
MAX_PLACES = 8        # places of one run looked at when showing the longest shared run
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")   # f-string fields: the names inside are renamed
_SPACE = re.compile(r"\s+")
_QUOTES = re.compile(r"^[rRbBfFuU]{0,2}('''|\"\"\"|'|\")(.*?)(\1)?$", re.DOTALL)
_MACHINE_COMMENT = re.compile(r"^(in\s*\[[\d ]*\]:?|!|-\*-|coding[:=]|noqa|type:|pragma)")
_GENERIC_NUMBERS = {"0", "1"}


@dataclass(frozen=True)
class Traits:
    """One document's strings and comments (normalised) and its numbers in order."""

    strings: frozenset[str]
    comments: frozenset[str]
    numbers: tuple[str, ...]

    def runs(self, usual: frozenset[str] | None = None) -> set[tuple[str, ...]]:
        """Every SEQUENCE_RUN numbers in a row; given the numbers the course material
        writes (`usual`), only the runs holding one it never writes."""
        n = SEQUENCE_RUN
        found = {self.numbers[i:i + n] for i in range(len(self.numbers) - n + 1)}
        return found if usual is None else {r for r in found if not usual.issuperset(r)}


@dataclass(frozen=True)
class Evidence:
    """What two documents share beyond the token match, not from the course material."""

    strings: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()
    sequence: tuple[str, ...] = ()   # the longest shared run of numbers holding a trait
    points: float = 0.0

    def describe(self) -> str:
        """One line for the report, e.g. "shares 4 of its own string literals and the
        hyperparameter sequence 16, 32, 64, 512"."""
        parts = []
        if self.strings:
            parts.append(f"{len(self.strings)} of its own string literal"
                         f"{'' if len(self.strings) == 1 else 's'}")
        if self.comments:
            parts.append(f"{len(self.comments)} own comment"
                         f"{'' if len(self.comments) == 1 else 's'}")
        if self.sequence:
            parts.append(f"the hyperparameter sequence {', '.join(self.sequence)}")
        if not parts:
            return ""
        text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        return f"shares {text} (evidence {self.points:.1f})"


def traits(cells: list[str]) -> Traits:
    """The traits of a document given as its code cells; any text is accepted."""
    strings: set[str] = set()
    comments: set[str] = set()
    numbers: list[str] = []
    for cell in cells:
        for kind, text in literals(cell):
            if kind == "string":
                value = _string(text)
                if value is not None:
                    strings.add(value)
            elif kind == "comment":
                value = _comment(text)
                if value is not None:
                    comments.add(value)
            elif len(numbers) < MAX_NUMBERS:
                value = _number(text)
                if value not in _GENERIC_NUMBERS:
                    numbers.append(value)
    return Traits(frozenset(strings), frozenset(comments), tuple(numbers))


def _string(text: str) -> str | None:
    match = _QUOTES.match(text)
    body = match.group(2) if match else text
    body = _SPACE.sub(" ", _PLACEHOLDER.sub("{}", body)).strip().casefold()
    return body if len(body) >= MIN_TEXT and any(c.isalnum() for c in body) else None


def _comment(text: str) -> str | None:
    body = _SPACE.sub(" ", text.lstrip("#")).strip().casefold()
    if len(body) < MIN_COMMENT or _MACHINE_COMMENT.match(body) \
            or len(body.split()) < MIN_COMMENT_WORDS:
        return None
    return body


def _number(text: str) -> str:
    """16, 16.0 and 1.6e1 are one hyperparameter; what float cannot read stays as written."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        return text.casefold()
    return f"{value:g}"


class EvidenceIndex:
    """The traits of a class (and its reference files), with the material's removed.

    `documents` are the submissions then the references (as in compare.Comparison); only
    the first `class_size` count towards how many hold a trait (a public solution every
    reference copies is still evidence against the student who copied it)."""

    def __init__(self, documents: list[Traits], class_size: int,
                 material: list[Traits]) -> None:
        self.documents = documents
        self.class_size = class_size
        taken_strings = set().union(*(m.strings for m in material))
        taken_comments = set().union(*(m.comments for m in material))
        taken_runs = set().union(*(m.runs() for m in material))
        usual = frozenset().union(*(m.numbers for m in material))
        self.features: list[set[tuple[str, object]]] = []
        for document in documents:
            own: set[tuple[str, object]] = set()
            own |= {("s", s) for s in document.strings - taken_strings}
            own |= {("c", c) for c in document.comments - taken_comments}
            own |= {("h", r) for r in document.runs(usual) - taken_runs}
            self.features.append(own)
        holders: dict[tuple[str, object], int] = defaultdict(int)
        for own in self.features[:class_size]:
            for feature in own:
                holders[feature] += 1
        self.holders = holders

    def weight_of(self, feature: tuple[str, object]) -> float:
        """1 for a trait at most MAX_HOLDERS submissions hold (one only references hold
        included), else 0."""
        return 1.0 if self.holders.get(feature, 0) <= MAX_HOLDERS else 0.0

    def pairs(self, minimum: float) -> dict[tuple[int, int], Evidence]:
        """Every pair (submission with submission, submission with reference; first <
        second) whose evidence reaches `minimum` (> 0), by an inverted index over traits."""
        holders: dict[tuple[str, object], list[int]] = defaultdict(list)
        for number, own in enumerate(self.features):
            for feature in own:
                if self.weight_of(feature) > 0:
                    holders[feature].append(number)
        touched: set[tuple[int, int]] = set()
        for found in holders.values():
            for i, first in enumerate(found):
                if first >= self.class_size:
                    break   # reference files are never paired with each other
                touched.update((first, second) for second in found[i + 1:])
        result = {}
        for pair in touched:
            evidence = self.between(*pair)
            if evidence.points >= minimum:
                result[pair] = evidence
        return result

    def between(self, first: int, second: int) -> Evidence:
        """The evidence two documents share."""
        shared = self.features[first] & self.features[second]
        counted = {f for f in shared if self.weight_of(f) > 0}
        strings = tuple(sorted(str(v) for k, v in counted if k == "s"))
        comments = tuple(sorted(str(v) for k, v in counted if k == "c"))
        runs = {v for k, v in counted if k == "h"}
        points = sum(self.weight_of(f) for f in counted if f[0] != "h")
        points += min(SEQUENCE_CAP, sum(self.weight_of(("h", r)) for r in runs))
        sequence = _longest_run(self.documents[first].numbers,
                                self.documents[second].numbers, runs) if runs else ()
        return Evidence(strings, comments, sequence, round(points, 3))


def _longest_run(a: tuple[str, ...], b: tuple[str, ...],
                 counted: set[object]) -> tuple[str, ...]:
    """The longest run of numbers in both sequences that holds a counted trait: each
    counted run's places in both, extended either way while the numbers agree (linear in
    the sequences, since this runs for every reported pair)."""
    n = SEQUENCE_RUN
    places: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for j in range(len(b) - n + 1):
        if b[j:j + n] in counted and len(places[b[j:j + n]]) < MAX_PLACES:
            places[b[j:j + n]].append(j)
    best: tuple[str, ...] = ()
    for i in range(len(a) - n + 1):
        for j in places.get(a[i:i + n], ()):
            start_a, start_b = i, j
            while start_a and start_b and a[start_a - 1] == b[start_b - 1]:
                start_a, start_b = start_a - 1, start_b - 1
            end_a, end_b = i + n, j + n
            while end_a < len(a) and end_b < len(b) and a[end_a] == b[end_b]:
                end_a, end_b = end_a + 1, end_b + 1
            if end_a - start_a > len(best):
                best = a[start_a:end_a]
    return best
