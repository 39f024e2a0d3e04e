"""Compare a class with itself and with reference collections, templates removed.

The steps, each for a reason:
1. normalise and fingerprint every document (`normalize`, `fingerprints`);
2. weights (`coverage`): every k-gram of the templates the course handed out weighs 0,
   and so does every k-gram found in more than `common_share` of the class (and in more
   than `common_min` submissions) — the MOSS `-m` idea, so the default works on a class
   alone, where most of a correct notebook is what everybody was given; k-grams shared
   by fewer weigh less the more submissions share them;
3. candidate pairs from the inverted index of the winnowed fingerprints of non-zero
   weight (`index`), so the work grows with the code, not the square of the class;
4. for candidates whose fingerprint estimate reaches PREFILTER x the floor, exact
   weighted token shares in both directions (`coverage.found_in_many`); pairs at or
   above the floor are kept, scored by the larger share (discounted when it rests on
   fewer than `min_tokens` tokens) and flagged at the threshold;
5. beside the tokens, the strings, comments and hyperparameter runs each pair shares
   outside the course material (`evidence`): they survive renaming and reformatting, so
   a pair is also flagged when they weigh `evidence_flag`, however little own code is
   left to match token by token. Only when the course material was given: without it a
   comment or a hyperparameter the lesson wrote looks like the student's own (two honest
   samples written from the 2019 question notebook share eight of its comments and its
   answer's 27 numbers), so the evidence is then shown, never a flag.
Reference documents count for nothing in step 2: if every public solution shares a line,
that is not the class's common code, and a copied public solution must still show.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import numpy as np

from grader.similarity import coverage, index
from grader.similarity.evidence import Evidence, EvidenceIndex, Traits, traits
from grader.similarity.fingerprints import Fingerprints, fingerprint, kgram_hashes, token_array
from grader.similarity.normalize import Normalized, normalize
from grader.similarity.settings import Settings
from grader.similarity.sources import Source

PARALLEL_FROM = 200  # documents; below this one process is faster
PREFILTER = 0.5  # of the floor: fingerprint estimates below it are not measured exactly


@dataclass
class Document:
    """A source with its normalised tokens, fingerprints and boilerplate masks."""

    source: Source
    normalized: Normalized
    prints: Fingerprints
    traits: Traits
    masks: coverage.Masks | None = None

    @property
    def own_tokens(self) -> int:
        """Tokens not covered by a template or the course material."""
        assert self.masks is not None
        return int(self.masks.tokens - self.masks.template.sum())


@dataclass(frozen=True)
class Pair:
    """Two documents above the floor. `a` is always a submission; `b` a submission or a
    reference file. share_a: how much of A's own code (template and class-common code
    removed) is found in B; share_b the other way; matched_*: those tokens' counts."""

    first: int
    second: int
    a: str
    b: str
    b_role: str
    b_collection: str | None
    share_a: float
    share_b: float
    matched_a: int
    matched_b: int
    flagged: bool
    score: float  # the larger share, discounted below min_tokens; flagged at threshold
    evidence: Evidence = Evidence()  # shared own strings, comments, hyperparameter runs

    @property
    def similarity(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass
class Comparison:
    """What `compare` found, before it is written anywhere."""

    settings: Settings
    documents: list[Document]
    templates: list[Document]
    class_size: int
    pairs: list[Pair]


def prepare(source: Source, settings: Settings) -> Document:
    normalized = normalize(source.cells)
    return Document(source, normalized,
                    fingerprint(normalized.tokens, settings.k, settings.window),
                    traits(source.cells))


def _prepare_chunk(sources: list[Source], settings: Settings) -> list[Document]:
    return [prepare(s, settings) for s in sources]


def prepare_all(sources: list[Source], settings: Settings,
                workers: int | None = None) -> list[Document]:
    """Normalise and fingerprint every source, on every core when there are many.

    Why processes: tokenizing is pure Python and takes most of the time of a large class
    (about 5 ms per submission); documents are independent, so two cores halve it. Small
    classes stay in this process, where starting workers would cost more than it saves."""
    if workers is None:
        workers = min(len(os.sched_getaffinity(0)), 8) if len(sources) >= PARALLEL_FROM else 1
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if workers <= 1 or len(sources) < 2 or (main_file and not os.path.exists(main_file)):
        return _prepare_chunk(sources, settings)  # (a worker could not re-import __main__)
    size = max(16, len(sources) // (workers * 4))
    chunks = [sources[i:i + size] for i in range(0, len(sources), size)]
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["grader.similarity.compare"])
    try:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            done = pool.map(_prepare_chunk, chunks, [settings] * len(chunks))
            return [document for chunk in done for document in chunk]
    except (OSError, BrokenProcessPool):  # no processes here (a sandbox, an odd __main__)
        return _prepare_chunk(sources, settings)


def compare(submissions: list[Source], references: list[Source], templates: list[Source],
            settings: Settings | None = None, workers: int | None = None,
            material_given: bool = False) -> Comparison:
    """Every pair of submissions, and every submission with every reference, compared.

    `workers`: processes for normalising (default: the cores, for 200 documents or more);
    `material_given`: the templates include the course material (lessons and exercise
    notebooks), so shared own literals and hyperparameters may flag a pair."""
    settings = settings or Settings()
    documents = prepare_all(submissions + references, settings, workers)
    template_docs = [prepare(t, settings) for t in templates]
    class_size = len(submissions)
    template_hashes = _template_hashes(template_docs, settings.k)
    class_hashes, class_df = index.document_frequency(
        [d.prints.kgrams for d in documents[:class_size]])
    cutoff = common_cutoff(class_size, settings)
    for document in documents:
        document.masks = coverage.masks(document.prints.kgrams,
                                        len(document.normalized.tokens), settings.k,
                                        template_hashes, class_hashes, class_df, cutoff)
    found = index.candidates([d.prints.selected_hashes for d in documents],
                             [_selected_weights(d) for d in documents], class_size)
    pairs = _measure(documents, found, settings)
    evidence = EvidenceIndex([d.traits for d in documents], class_size,
                             [t.traits for t in template_docs])
    pairs = _with_evidence(pairs, documents, evidence, settings, material_given)
    pairs.sort(key=lambda p: (-p.score, -p.similarity, p.a, p.b))
    return Comparison(settings, documents, template_docs, class_size, pairs)


def _with_evidence(pairs: list[Pair], documents: list[Document], evidence: EvidenceIndex,
                   settings: Settings, flags: bool) -> list[Pair]:
    """The token pairs with their evidence, and (when `flags`) the pairs the evidence
    alone flags (their shares measured exactly: they may be below the floor)."""
    minimum = min(settings.evidence_flag, settings.evidence_support)
    by_evidence = evidence.pairs(minimum) if flags else {}
    out: list[Pair] = []
    for pair in pairs:
        found = by_evidence.pop((pair.first, pair.second), None) or \
            evidence.between(pair.first, pair.second)
        out.append(replace(pair, evidence=found, flagged=pair.flagged or (
            flags and corroborated(found, pair.similarity, settings))))
    for (first, second), found in sorted(by_evidence.items()):
        a, b = documents[first], documents[second]
        assert a.masks is not None and b.masks is not None
        in_b, in_a = coverage.found_in(a.masks, b.masks), coverage.found_in(b.masks, a.masks)
        found_a, found_b = float(in_b.sum()), float(in_a.sum())
        share_a = found_a / a.masks.weight if a.masks.weight > 0 else 0.0
        share_b = found_b / b.masks.weight if b.masks.weight > 0 else 0.0
        if not corroborated(found, max(share_a, share_b), settings):
            continue
        score = max(discounted(share_a, found_a, settings.min_tokens),
                    discounted(share_b, found_b, settings.min_tokens))
        out.append(Pair(first, second, a.source.name, b.source.name, b.source.role,
                        b.source.collection, round(share_a, 4), round(share_b, 4),
                        int((in_b > 0).sum()), int((in_a > 0).sum()),
                        True, round(score, 4), found))
    return out


def corroborated(evidence: Evidence, similarity: float, settings: Settings) -> bool:
    """Whether the shared own literals and hyperparameters flag a pair: enough of them
    alone (`evidence_flag`), or fewer (`evidence_support`) where one side's own code is
    also at least `evidence_share` found in the other. Two independent signals agreeing
    is what catches a copy whose own code is a few lines: its share alone rests on too few
    tokens to flag it, and two literals alone could be chance."""
    return evidence.points >= settings.evidence_flag or (
        evidence.points >= settings.evidence_support
        and similarity >= settings.evidence_share)


def discounted(share: float, evidence: float, min_tokens: int) -> float:
    """A share, scaled down when it rests on fewer than `min_tokens` (weighted) tokens:
    all of a submission that is nearly all template is found anywhere, and says nothing."""
    return share * min(1.0, evidence / min_tokens) if min_tokens > 0 else share


def common_cutoff(class_size: int, settings: Settings) -> float:
    """How many submissions may share a k-gram before it counts as the class's common code
    (infinite when the common filter is off)."""
    if settings.common_share >= 1:
        return float("inf")
    return max(settings.common_share * class_size, float(settings.common_min))


def _template_hashes(templates: list[Document], k: int) -> np.ndarray:
    hashes = [kgram_hashes(token_array(t.normalized.tokens), k) for t in templates]
    return np.unique(np.concatenate(hashes)) if hashes else np.zeros(0, dtype=np.uint64)


def _selected_weights(document: Document) -> np.ndarray:
    assert document.masks is not None
    return document.masks.kgram_weight[document.prints.selected]


def _measure(documents: list[Document], found: index.Candidates,
             settings: Settings) -> list[Pair]:
    """Exact shares for the candidates whose fingerprint overlap could reach the floor.

    A fingerprint share is a sample of the token share; PREFILTER x the floor leaves room
    for the sampling error while skipping the many pairs that share a line or two.
    Measured on the benchmark's 1,000 + 500 documents: measuring every candidate took
    183 s and found 6,231 pairs above the floor; with the prefilter, 1.9 s and 5,704 —
    the 8 % missed were all within a few points of the floor, none flagged. Each
    document measures its side of all its pairs in one batch (coverage.found_in_many)."""
    total = np.maximum(found.total, 1e-9)
    estimate = np.maximum(found.shared / total[found.first],
                          found.shared / total[found.second])
    keep = estimate >= settings.floor * PREFILTER
    first, second = found.first[keep], found.second[keep]
    if not len(first):
        return []
    ids, sorted_ids = _dense_ids(documents)
    local = [np.searchsorted(u, i) for u, i in zip(sorted_ids, ids, strict=True)]
    found_first, count_first = np.zeros(len(first)), np.zeros(len(first), dtype=np.int64)
    found_second, count_second = np.zeros(len(first)), np.zeros(len(first), dtype=np.int64)
    for mine, theirs, weights, counts in ((first, second, found_first, count_first),
                                          (second, first, found_second, count_second)):
        order = np.argsort(mine, kind="stable")
        bounds = np.flatnonzero(np.diff(mine[order])) + 1
        for group in np.split(order, bounds):
            document = documents[int(mine[group[0]])]
            assert document.masks is not None
            number = int(mine[group[0]])
            weights[group], counts[group] = coverage.found_in_many(
                document.masks, sorted_ids[number], local[number],
                [sorted_ids[int(t)] for t in theirs[group]])
    pairs: list[Pair] = []
    for at in range(len(first)):
        a, b = documents[int(first[at])], documents[int(second[at])]
        assert a.masks is not None and b.masks is not None
        share_a = float(found_first[at]) / a.masks.weight if a.masks.weight > 0 else 0.0
        share_b = float(found_second[at]) / b.masks.weight if b.masks.weight > 0 else 0.0
        if max(share_a, share_b) < settings.floor:
            continue
        score = max(discounted(share_a, float(found_first[at]), settings.min_tokens),
                    discounted(share_b, float(found_second[at]), settings.min_tokens))
        pairs.append(Pair(int(first[at]), int(second[at]), a.source.name, b.source.name,
                          b.source.role, b.source.collection, round(share_a, 4),
                          round(share_b, 4), int(count_first[at]), int(count_second[at]),
                          score >= settings.threshold, round(score, 4)))
    return pairs


def _dense_ids(documents: list[Document]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every document's k-grams as small dense ids (per position, and sorted unique)."""
    hashes = [d.prints.kgrams for d in documents]
    if not sum(len(h) for h in hashes):
        empty = np.zeros(0, dtype=np.int64)
        return [empty] * len(documents), [empty] * len(documents)
    inverse = np.unique(np.concatenate(hashes), return_inverse=True)[1]
    ids = np.split(inverse.astype(np.int64), np.cumsum([len(h) for h in hashes])[:-1])
    return ids, [np.unique(i) for i in ids]

