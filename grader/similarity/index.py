"""Inverted index from fingerprint to documents, and the pairs it says share code.

Why an index and not every pair: comparing each pair of a class costs the square of its
size even when almost nothing is shared. The index is a sparse document x fingerprint
matrix (each column is one fingerprint's postings list); multiplying it by its
transpose adds, for every fingerprint, one to each pair of documents that hold it. The
cost is the sum over fingerprints of (documents holding it) squared: linear in the total
code when fingerprints are rare, which is what removing template and class-common
fingerprints first makes them. Reference documents (past terms, public solutions) are
only paired with the class, never with each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class Candidates:
    """Pairs of documents sharing at least one fingerprint of non-zero weight.

    `first` and `second` are document numbers (class documents come first, then the
    references); `shared` is the summed weight of the fingerprints the two have in
    common; `total[d]` is the summed weight of document d's fingerprints.
    """

    first: np.ndarray
    second: np.ndarray
    shared: np.ndarray
    total: np.ndarray


def candidates(selected: list[np.ndarray], weights: list[np.ndarray],
               class_size: int) -> Candidates:
    """Pairs sharing fingerprints, given each document's winnowed hashes and their weights.

    `selected[d]` are document d's fingerprints, `weights[d]` theirs (0: template or
    class-common, left out of the index); the first `class_size` documents are the class.
    """
    documents = len(selected)
    if documents == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(empty, empty, np.zeros(0), np.zeros(0))
    lengths = np.array([len(s) for s in selected], dtype=np.int64)
    hashes = np.concatenate(selected) if lengths.sum() else np.zeros(0, dtype=np.uint64)
    weight = np.concatenate(weights) if lengths.sum() else np.zeros(0)
    rows = np.repeat(np.arange(documents, dtype=np.int64), lengths)
    keep = weight > 0
    hashes, rows, weight = hashes[keep], rows[keep], weight[keep]
    # one entry per (document, fingerprint): a repeated fingerprint counts once
    unique_hashes, columns = np.unique(hashes, return_inverse=True)
    pairs = np.unique(rows * (len(unique_hashes) + 1) + columns, return_index=True)[1]
    rows, columns, weight = rows[pairs], columns[pairs], weight[pairs]
    shape = (documents, len(unique_hashes))
    weighted = sparse.csr_matrix((weight, (rows, columns)), shape=shape)
    present = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=shape)
    total = np.asarray(weighted.sum(axis=1)).ravel()
    ours = weighted[:class_size]
    within = sparse.triu(ours @ present[:class_size].T, k=1).tocoo()
    across = (ours @ present[class_size:].T).tocoo()
    first = np.concatenate([within.row, across.row]).astype(np.int64)
    second = np.concatenate([within.col, across.col + class_size]).astype(np.int64)
    shared = np.concatenate([within.data, across.data])
    return Candidates(first, second, shared, total)


def document_frequency(hash_sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(unique hashes, in how many of the given documents each occurs)."""
    nonempty = [np.unique(h) for h in hash_sets if len(h)]
    if not nonempty:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(nonempty), return_counts=True)
