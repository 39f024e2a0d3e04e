"""How much of a document is boilerplate, and how much of the rest another document holds.

Why weights: code the course hands out is removed outright (template k-grams weigh 0),
and code the class shares is worth less the more of the class shares it. A k-gram found
in at most two submissions weighs 1 (it is what a copied pair has and nobody else);
one found in more than the class-common cutoff weighs 0 (MOSS's `-m`); in between the
weight falls with the logarithm of how many share it, as an inverse document frequency
does. So a short generic statement that a fifth of the class writes counts for little
even below the cutoff, and a pair is judged on what is particular to it.

Why exact coverage after the index: winnowed fingerprints are a sample, good for finding
the pairs worth a look but coarse for a share an instructor will read. For each candidate
pair every k-gram is checked: a token of A is found in B when a k-gram covering it
occurs in B; it then counts with the weight of the rarest such k-gram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass
class Masks:
    """One document's k-grams with their weights, and its tokens' weights.

    `kgram_weight[g]` is 0 for template and class-common k-grams; `token_weight[t]` is the
    largest weight of a k-gram covering token t (0 when a template k-gram covers it);
    `template`/`common` mark tokens removed as handed-out or class-common code.
    """

    kgrams: np.ndarray
    sorted_kgrams: np.ndarray
    kgram_weight: np.ndarray
    token_weight: np.ndarray
    template: np.ndarray
    common: np.ndarray
    k: int

    @property
    def tokens(self) -> int:
        return len(self.token_weight)

    @property
    def weight(self) -> float:
        return float(self.token_weight.sum())

    @property
    def kept(self) -> np.ndarray:
        return self.token_weight > 0


def idf_weight(df: np.ndarray, cutoff: float) -> np.ndarray:
    """1 for k-grams in at most two submissions, 0 above the cutoff, log-scaled between."""
    df = np.maximum(df.astype(np.float64), 1.0)
    if not np.isfinite(cutoff):
        return np.ones(len(df))
    if cutoff <= 2:
        return (df <= 2).astype(np.float64)
    weight = np.log(cutoff / df) / np.log(cutoff / 2.0)
    return np.clip(weight, 0.0, 1.0)


def masks(kgrams: np.ndarray, tokens: int, k: int, template_hashes: np.ndarray,
          class_hashes: np.ndarray, class_df: np.ndarray, cutoff: float) -> Masks:
    """Weights for a document whose k-gram hashes are `kgrams`.

    `template_hashes` and `class_hashes` are sorted and unique; `class_df[i]` is how many
    submissions hold class_hashes[i] (a k-gram no submission holds counts as one)."""
    in_template = member(kgrams, template_hashes)
    df = np.ones(len(kgrams), dtype=np.int64)
    if len(class_hashes):
        at = np.minimum(np.searchsorted(class_hashes, kgrams), len(class_hashes) - 1)
        hit = class_hashes[at] == kgrams
        df[hit] = class_df[at[hit]]
    weight = idf_weight(df, cutoff)
    weight[in_template] = 0.0
    template = _spread_max(in_template.astype(np.float64), k, tokens) > 0
    token_weight = _spread_max(weight, k, tokens)
    token_weight[template] = 0.0
    common = (token_weight == 0) & ~template
    return Masks(kgrams, np.unique(kgrams), weight, token_weight, template, common, k)


def found_in(a: Masks, b: Masks) -> np.ndarray:
    """Per token of A, its weight where it is found in B, else 0: a kept token is found
    when a countable (non-zero weight) k-gram covering it also occurs in B."""
    starts = np.where(member(a.kgrams, b.sorted_kgrams), a.kgram_weight, 0.0)
    found = _spread_max_rows(starts[None, :].astype(np.float32), a.k, a.tokens)[0]
    return np.minimum(found, a.token_weight)


def found_in_many(a: Masks, a_unique: np.ndarray, a_local: np.ndarray,
                  partners: list[np.ndarray], block: int = 128
                  ) -> tuple[np.ndarray, np.ndarray]:
    """found_in(a, b) for many b at once: (found weight, tokens found) per partner;
    a found token counts with the weight of the rarest matching k-gram covering it.

    `a_unique` are A's distinct k-gram ids (sorted), `a_local[g]` the index in a_unique
    of A's k-gram g, `partners[j]` partner j's distinct k-gram ids (sorted). Each partner
    is looked up in A's small vocabulary (one binary search of sorted keys), the answers
    are spread back to A's k-gram positions, and coverage is two cumulative sums: a few
    vector operations per block of partners instead of a dozen per pair."""
    weight32 = a.kgram_weight.astype(np.float32)
    token32 = a.token_weight.astype(np.float32)
    weights, counts = np.zeros(len(partners)), np.zeros(len(partners), dtype=np.int64)
    if not len(a_unique) or not partners:
        return weights, counts
    for start in range(0, len(partners), block):
        chunk = partners[start:start + block]
        present = np.zeros((len(chunk), len(a_unique)), dtype=bool)
        for row, ids in enumerate(chunk):
            at = np.searchsorted(a_unique, ids)
            hit = at[(at < len(a_unique))]
            hit = hit[a_unique[hit] == ids[at < len(a_unique)]]
            present[row, hit] = True
        starts = np.where(present[:, a_local], weight32[None, :], np.float32(0))
        found = np.minimum(_spread_max_rows(starts, a.k, a.tokens), token32[None, :])
        weights[start:start + len(chunk)] = found.sum(axis=1, dtype=np.float64)
        counts[start:start + len(chunk)] = (found > 0).sum(axis=1)
    return weights, counts


def share(found: np.ndarray, a: Masks) -> float:
    total = a.weight
    return float(found.sum()) / total if total > 0 else 0.0


def member(values: np.ndarray, sorted_unique: np.ndarray) -> np.ndarray:
    """values[i] in sorted_unique, by binary search (faster than np.isin for many calls)."""
    if len(sorted_unique) == 0 or len(values) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_unique, values)
    at[at == len(sorted_unique)] = 0
    return sorted_unique[at] == values


def _spread_max_rows(per_kgram: np.ndarray, k: int, tokens: int) -> np.ndarray:
    """Per row, per token, the largest value among the k-grams covering it (k-gram g
    covers tokens g .. g+k-1), by k shifted maxima; 0 where no k-gram covers a token."""
    rows, kgrams = per_kgram.shape
    out = np.zeros((rows, tokens), dtype=per_kgram.dtype)
    for shift in range(k):
        end = min(tokens, kgrams + shift)
        if end > shift:
            np.maximum(out[:, shift:end], per_kgram[:, :end - shift], out=out[:, shift:end])
    return out


def _spread_max(per_kgram: np.ndarray, k: int, tokens: int) -> np.ndarray:
    """Per token, the largest value among the k-grams covering it (k-gram g covers tokens
    g .. g+k-1); 0 for tokens no k-gram covers."""
    if tokens == 0:
        return np.zeros(0, dtype=np.float64)
    if len(per_kgram) == 0:
        return np.zeros(tokens, dtype=np.float64)
    padded = np.concatenate([np.zeros(k - 1), per_kgram.astype(np.float64),
                             np.zeros(max(0, tokens - len(per_kgram)))])
    return sliding_window_view(padded, k).max(axis=1)[:tokens]
