"""The comparison's tuning knobs, apart from the code that uses them: the command line
reads their defaults without loading numpy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Tuning knobs; the defaults are the ones docs/similarity.md measured.

    k: tokens per k-gram (noise threshold: shorter shared runs never count);
    window: winnowing window (a shared run of k + window - 1 tokens is always seen);
    threshold: a pair is flagged when its score (the larger share, discounted below
    min_tokens) reaches it;
    floor: pairs below it on both sides are not reported;
    common_share, common_min: a k-gram is class-common when more than common_share of
    the submissions, and more than common_min of them, hold it (common_share 1 turns
    this off);
    min_tokens: a share resting on fewer matched (weighted) tokens is scaled down in
    proportion (a nearly empty submission matching one line is not evidence);
    evidence_flag: with the course material given, a pair is also flagged when the
    strings, comments and hyperparameter runs it shares outside it and nobody else
    holds (grader/similarity/evidence.py) reach this many points;
    evidence_support, evidence_share: ... or this many points where one side's own
    code is also at least evidence_share found in the other.
    """

    k: int = 10
    window: int = 6
    threshold: float = 0.6
    floor: float = 0.25
    common_share: float = 0.5
    common_min: int = 3
    min_tokens: int = 40
    evidence_flag: float = 3.0
    evidence_support: float = 2.0
    evidence_share: float = 0.5
