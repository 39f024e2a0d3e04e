"""k-gram hashes of a token stream and their winnowed fingerprints.

Winnowing (Schleimer, Wilkerson and Aiken, SIGMOD 2003): hash every k-gram of tokens,
slide a window of `window` consecutive hashes and keep the smallest hash of each window
(the rightmost one on ties, recorded once). Any shared run of at least
k + window - 1 tokens is then guaranteed to share a fingerprint, runs shorter than k never
do, and a document keeps about 2 / (window + 1) of its hashes: the index stays small
and its cost grows with the total code, not with the number of pairs.

Why numpy rather than Python loops: a class of a thousand submissions is about a million
k-grams; vectorised, hashing and winnowing them takes a fraction of a second. Hashes are
derived from blake2b of each token's text, not Python's `hash()`, so they are the same in
every process and every run (PYTHONHASHSEED does not change a report).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-64 prime: odd, so the rolling product mixes
_MIX_1 = np.uint64(0xFF51AFD7ED558CCD)  # splitmix/murmur finaliser constants
_MIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_token_ids: dict[str, int] = {}


def token_id(token: str) -> int:
    """A stable 64-bit number for a token's text (cached: the vocabulary is small)."""
    found = _token_ids.get(token)
    if found is None:
        found = int.from_bytes(hashlib.blake2b(token.encode("utf-8", "surrogatepass"),
                                               digest_size=8).digest(), "little")
        _token_ids[token] = found
    return found


def token_array(tokens: list[str]) -> np.ndarray:
    """The tokens as uint64 ids."""
    return np.fromiter((token_id(t) for t in tokens), dtype=np.uint64, count=len(tokens))


def kgram_hashes(ids: np.ndarray, k: int) -> np.ndarray:
    """Hash of each k-gram: element i covers tokens i .. i+k-1 (empty when fewer than k)."""
    count = len(ids) - k + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):  # Horner's rule over the k positions, modulo 2**64
            hashes = hashes * _MULTIPLIER + ids[j:j + count]
        hashes ^= hashes >> np.uint64(33)  # finaliser: spread the bits before min-selection
        hashes *= _MIX_1
        hashes ^= hashes >> np.uint64(33)
        hashes *= _MIX_2
        hashes ^= hashes >> np.uint64(33)
    return hashes


def winnow(hashes: np.ndarray, window: int) -> np.ndarray:
    """Positions (k-gram starts, ascending) of the fingerprints robust winnowing selects."""
    if len(hashes) == 0:
        return np.zeros(0, dtype=np.int64)
    if window <= 1:
        return np.arange(len(hashes), dtype=np.int64)
    if len(hashes) <= window:
        flipped = hashes[::-1]
        return np.array([len(hashes) - 1 - int(np.argmin(flipped))], dtype=np.int64)
    windows = sliding_window_view(hashes, window)
    # argmin on the reversed window finds the rightmost minimum, as the paper asks
    rightmost = window - 1 - np.argmin(windows[:, ::-1], axis=1)
    return np.unique(rightmost + np.arange(len(windows)))


@dataclass
class Fingerprints:
    """One document's hashes: every k-gram's (for exact coverage) and the winnowed ones."""

    kgrams: np.ndarray      # uint64, one per k-gram start
    selected: np.ndarray    # int64 positions into kgrams chosen by winnowing

    @property
    def selected_hashes(self) -> np.ndarray:
        return self.kgrams[self.selected]


def fingerprint(tokens: list[str], k: int, window: int) -> Fingerprints:
    hashes = kgram_hashes(token_array(tokens), k)
    return Fingerprints(hashes, winnow(hashes, window))

