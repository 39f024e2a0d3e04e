"""Winnowing and the inverted index against their definitions."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys

import numpy as np
import pytest

from grader.similarity import index
from grader.similarity.fingerprints import fingerprint, kgram_hashes, token_array, winnow

VOCABULARY = [chr(c) for c in range(ord("a"), ord("a") + 12)]


def random_tokens(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(VOCABULARY) for _ in range(n)]


@pytest.mark.parametrize("seed", range(20))
def test_a_shared_run_of_k_plus_window_minus_one_tokens_always_shares_a_fingerprint(
        seed: int) -> None:
    rng = random.Random(seed)
    k, window = 5, 4
    shared = random_tokens(rng, k + window - 1)
    a = random_tokens(rng, rng.randint(0, 40)) + shared + random_tokens(rng, 30)
    b = random_tokens(rng, rng.randint(0, 40)) + shared + random_tokens(rng, 30)
    fa, fb = fingerprint(a, k, window), fingerprint(b, k, window)
    assert set(fa.selected_hashes.tolist()) & set(fb.selected_hashes.tolist())


def test_winnowing_picks_the_rightmost_minimum_of_every_window_once() -> None:
    hashes = np.array([77, 74, 42, 17, 98, 50, 17, 98, 8, 88, 67, 39, 77, 74, 42, 17, 98],
                      dtype=np.uint64)  # the paper's example (Schleimer et al., fig. 2)
    picked = winnow(hashes, 4)
    assert hashes[picked].tolist() == [17, 17, 8, 39, 17]
    expected = sorted({w + max(i for i in range(4) if hashes[w + i] == min(hashes[w:w + 4]))
                       for w in range(len(hashes) - 3)})
    assert picked.tolist() == expected


def test_density_is_about_two_over_window_plus_one() -> None:
    rng = random.Random(1)
    result = fingerprint(random_tokens(rng, 20_000), 8, 7)
    density = len(result.selected) / len(result.kgrams)
    assert 0.2 < density < 0.3  # 2 / (7 + 1) = 0.25


def test_hashes_do_not_depend_on_the_process_or_its_hash_seed() -> None:
    code = ("from grader.similarity.fingerprints import kgram_hashes, token_array;"
            "print(kgram_hashes(token_array(['V','=','N',';','V','(',')']), 3).tolist())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    here = str(kgram_hashes(token_array(["V", "=", "N", ";", "V", "(", ")"]), 3).tolist())
    assert runs == {here + "\n"}


def test_short_documents_have_no_kgrams_and_no_fingerprints() -> None:
    assert len(kgram_hashes(token_array(["a", "b"]), 5)) == 0
    assert len(fingerprint(["a", "b"], 5, 4).selected) == 0
    assert fingerprint(["a"] * 6, 5, 4).selected.tolist() == [1]  # one window, rightmost


def test_index_pairs_are_the_pairs_a_brute_force_comparison_finds() -> None:
    rng = random.Random(7)
    documents = [np.array(rng.sample(range(60), rng.randint(0, 25)), dtype=np.uint64)
                 for _ in range(12)]
    weights = [np.where(d % 7 == 0, 0.0, 1.0 + (d % 3)) for d in documents]  # 0: excluded
    class_size = 8
    found = index.candidates(documents, weights, class_size)
    got = {(int(a), int(b)): float(s) for a, b, s in
           zip(found.first, found.second, found.shared, strict=True)}
    expected = {}
    for a, b in itertools.combinations(range(len(documents)), 2):
        if a >= class_size:
            continue  # two references are never paired
        weight_of = dict(zip(documents[a].tolist(), weights[a].tolist(), strict=True))
        shared = sum(weight_of[h] for h in set(documents[a].tolist()) & set(
            documents[b].tolist()) if weight_of[h] > 0)
        if shared:
            expected[(a, b)] = shared
    assert got == pytest.approx(expected)
    assert all(b > a for a, b in got)
    assert found.total.tolist() == pytest.approx(
        [float(w[w > 0].sum()) for w in weights])


def test_index_of_nothing_is_empty() -> None:
    found = index.candidates([], [], 0)
    assert len(found.first) == 0
    found = index.candidates([np.zeros(0, dtype=np.uint64)] * 3, [np.zeros(0)] * 3, 3)
    assert len(found.first) == 0 and found.total.tolist() == [0, 0, 0]
