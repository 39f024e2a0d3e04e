"""What a similarity run found, in the shapes its readers need.

`SimilarityResult` is the one object the command, the batch and the reports share: the
pairs above the floor, per-submission figures (how much was left after removing the
template and the class's common code, its top match), the files that could not be read,
and `to_json()`/`write()`. It is evidence for a person to read; nothing here changes a
grade.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from grader.similarity.compare import Comparison, Document, Pair
from grader.similarity.sources import Problem

SCHEMA = "similarity/1"
TOO_LITTLE = "too little own code to judge"


@dataclass
class SimilarityResult:
    """A comparison with the context it ran in (exercise, templates, collections)."""

    comparison: Comparison
    exercise: str | None = None
    title: str | None = None
    collections: list[tuple[str, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    course_material: list[str] = field(default_factory=list)  # files, inside the folder

    @property
    def pairs(self) -> list[Pair]:
        """Every pair at or above the floor, most similar first (by `score`)."""
        return self.comparison.pairs

    @property
    def flagged_pairs(self) -> list[Pair]:
        return [p for p in self.pairs if p.flagged]

    @property
    def submissions(self) -> list[Document]:
        return self.comparison.documents[:self.comparison.class_size]

    def too_little(self) -> list[Document]:
        """Submissions whose own code, found whole in another file, could not reach the
        threshold: fewer weighted tokens left to compare (not course material, not the
        class's common code) than threshold x min_tokens. No token share says anything
        about them, so the report says so (never a silent pass); shared literals and
        hyperparameters may still flag them."""
        return [d for d in self.submissions
                if d.masks is not None and d.masks.weight < self.judge_from]

    @property
    def judge_from(self) -> float:
        """The weighted tokens of its own a submission needs to be judged."""
        settings = self.comparison.settings
        return settings.threshold * settings.min_tokens

    def flagged_students(self) -> dict[str, list[tuple[str, float]]]:
        """Each student in a flagged pair -> [(the other student or reference file, the
        pair's score)], highest first. A reference file is never a key: it is not graded."""
        found: dict[str, list[tuple[str, float]]] = {}
        for pair in self.flagged_pairs:
            found.setdefault(pair.a, []).append((pair.b, pair.score))
            if pair.b_role == "submission":
                found.setdefault(pair.b, []).append((pair.a, pair.score))
        return {student: sorted(matches, key=lambda m: (-m[1], m[0]))
                for student, matches in sorted(found.items())}

    def top_matches(self) -> dict[str, Pair]:
        """Each submission's highest-scoring pair (pairs are sorted by score)."""
        best: dict[str, Pair] = {}
        for pair in self.pairs:
            best.setdefault(pair.a, pair)
            if pair.b_role == "submission":
                best.setdefault(pair.b, pair)
        return best

    def to_json(self) -> dict[str, object]:
        settings = self.comparison.settings
        top = self.top_matches()
        flagged = self.flagged_students()
        too_little = {d.source.name for d in self.too_little()}
        submissions = []
        for document in self.submissions:
            assert document.masks is not None
            masks, name = document.masks, document.source.name
            best = top.get(name)
            submissions.append({
                "student": name, "file": document.source.file,
                "tokens": masks.tokens,
                "template_tokens": int(masks.template.sum()),
                "common_tokens": int(masks.common.sum()),
                "kept_tokens": int(masks.kept.sum()),
                "kept_share": round(masks.weight / masks.tokens, 4) if masks.tokens else 0.0,
                "own_tokens": document.own_tokens,
                "compared_weight": round(masks.weight, 2),
                "judgement": TOO_LITTLE if name in too_little else None,
                "flagged": name in flagged,
                "similar_to": [{"name": other, "score": score}
                               for other, score in flagged.get(name, [])],
                "top_match": None if best is None else {
                    "name": best.b if best.a == name else best.a, "score": best.score},
                "notes": document.source.notes + document.normalized.notes,
            })
        return {
            "schema": SCHEMA,
            "exercise": self.exercise, "title": self.title,
            "settings": asdict(settings),
            "templates": [t.source.file for t in self.comparison.templates],
            "course_material": list(self.course_material),
            "judge_from": self.judge_from,
            "collections": [{"name": n, "files": c} for n, c in self.collections],
            "summary": {"submissions": len(self.submissions),
                        "references": len(self.comparison.documents) - len(self.submissions),
                        "pairs": len(self.pairs), "flagged_pairs": len(self.flagged_pairs),
                        "flagged_students": len(flagged), "problems": len(self.problems),
                        "too_little_own_code": len(too_little)},
            "submissions": submissions,
            "pairs": [_pair_json(p, self.comparison) for p in self.pairs],
            "problems": [asdict(p) for p in self.problems],
            "warnings": list(self.warnings),
        }


def _pair_json(pair: Pair, comparison: Comparison) -> dict[str, object]:
    a = comparison.documents[pair.first].source
    b = comparison.documents[pair.second].source
    return {"a": pair.a, "a_file": a.file, "b": pair.b, "b_file": b.file,
            "b_kind": pair.b_role, "b_collection": pair.b_collection,
            "share_a_in_b": pair.share_a, "share_b_in_a": pair.share_b,
            "matched_tokens_a": pair.matched_a, "matched_tokens_b": pair.matched_b,
            "score": pair.score, "flagged": pair.flagged,
            "evidence": {"strings": list(pair.evidence.strings),
                         "comments": list(pair.evidence.comments),
                         "hyperparameters": list(pair.evidence.sequence),
                         "points": pair.evidence.points,
                         "text": pair.evidence.describe()}}
