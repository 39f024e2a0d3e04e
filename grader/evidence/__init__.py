"""How far each check's evidence can be trusted, judged from outside the run.

The checks (grader/checks) read the run's account of itself (grader/run/trace) and the
trusted scorer's measurements. The student's code runs in the same process as the probe
that records that account, so a point that rests on it is only as good as what
corroborates it. For every *claim* a check rests on, this package says one of:

- recomputed: measured by the trusted side itself (the saved model, by the scorer);
- corroborated: what the run claims agrees with something it cannot forge — the event
  stream it sent as it ran, the images the kernel saw it read, its own source code, the
  sandbox's exit status;
- review: the evidence is ambiguous for honest code (a disagreement of degree, code the
  reading cannot follow): the points are kept and a person is asked to look;
- not_trusted: the evidence contradicts the claim (the run read the training images for
  epochs it did not record; its saved model is untrained; it rewrote its trace): the
  check scores 0 and says why.

grader.grade applies the verdict to each check (run_rubric); the instructor's report
lists every reason. docs/security.md states what a determined student can still do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RECOMPUTED, CORROBORATED, REVIEW, NOT_TRUSTED = ("recomputed", "corroborated", "review",
                                                "not_trusted")
_RANK = {RECOMPUTED: 0, CORROBORATED: 1, REVIEW: 2, NOT_TRUSTED: 3}

# the claims checks rest on (grader.checks.base.check(claims=…))
EXECUTION, GENERATOR, FLOW, COMPILE, DATASET = ("execution", "generator", "flow", "compile",
                                                "dataset")
TRAINING, CALLBACK, ENTRY, VALIDATION = "training", "callback", "entry", "validation"
MODEL = "model"  # the saved model behaves as a model does (no check rests on it: review only)
CLAIMS = (EXECUTION, GENERATOR, FLOW, COMPILE, DATASET, TRAINING, CALLBACK, ENTRY,
          VALIDATION, MODEL)


@dataclass(frozen=True)
class Trust:
    level: str
    reason: str = ""  # one line: what corroborated the claim, or why it is not trusted

    def worse(self, other: Trust) -> Trust:
        return other if _RANK[other.level] > _RANK[self.level] else self


@dataclass(frozen=True)
class Evidence:
    claims: dict[str, Trust] = field(default_factory=dict)
    facts: dict[str, object] = field(default_factory=dict)  # what was observed, for people

    def trust(self, claims: tuple[str, ...]) -> Trust:
        """The weakest trust among `claims`: a check is as trustworthy as the least
        corroborated thing it rests on. No claims: measured by the grader itself."""
        result = Trust(RECOMPUTED, "measured by the grader from the saved model")
        for claim in claims:
            result = result.worse(self.claims.get(claim, Trust(REVIEW, f"nothing "
                                                              f"corroborates the {claim}")))
        return result

    @property
    def review(self) -> list[str]:
        """Why a person should look at this grading (empty when nothing is doubtful)."""
        return list(dict.fromkeys(t.reason for t in self.claims.values()
                                  if t.level in (REVIEW, NOT_TRUSTED)))
