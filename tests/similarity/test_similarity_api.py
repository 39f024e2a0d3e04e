"""The API the batch uses: compare_class, flagged_students, to_json, write."""

from __future__ import annotations

import json
from pathlib import Path

from similarity_disguise import disguise
from similarity_fixtures import SAMPLES

from grader.similarity import report
from grader.similarity.api import SimilarityResult, compare_class


def _entries(tmp_path: Path) -> list[tuple[str, Path]]:
    entries = [(p.stem, p) for p in sorted(SAMPLES.iterdir()) if p.suffix in (".py", ".ipynb")]
    entries.append(("mallory", disguise(SAMPLES / "correct_modern.py", tmp_path, "m", seed=5)))
    return entries


def test_compare_class_flags_the_copy_both_ways_and_writes_both_files(
        tmp_path: Path, stand_in_template: Path) -> None:
    result = compare_class(_entries(tmp_path), templates=[stand_in_template], against=[],
                           threshold=0.6)
    assert isinstance(result, SimilarityResult)
    flagged = result.flagged_students()
    assert set(flagged) == {"mallory", "correct_modern"}
    (other, score), = flagged["mallory"]
    assert other == "correct_modern" and 0.6 <= score <= 1
    assert flagged["correct_modern"] == [("mallory", score)]
    pair = result.pairs[0]
    assert pair.flagged and {pair.a, pair.b} == {"mallory", "correct_modern"}
    assert 0 < min(pair.share_a, pair.share_b) < max(pair.share_a, pair.share_b) <= 1
    json_path, html_path = report.write(result, tmp_path / "out")
    assert json_path == tmp_path / "out" / "similarity.json"
    assert html_path == tmp_path / "out" / "similarity.html"
    assert json.loads(json_path.read_text()) == json.loads(json.dumps(result.to_json()))
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_the_threshold_only_changes_flags(tmp_path: Path, stand_in_template: Path) -> None:
    low = compare_class(_entries(tmp_path), templates=[stand_in_template], against=[],
                        threshold=0.3)
    high = compare_class(_entries(tmp_path), templates=[stand_in_template], against=[],
                         threshold=0.99)
    assert [(p.a, p.b, p.score) for p in low.pairs] == [(p.a, p.b, p.score) for p in high.pairs]
    assert len(low.flagged_pairs) > len(high.flagged_pairs) == 0
    assert high.flagged_students() == {}


def test_the_report_says_how_much_was_left_after_template_and_class_common_code(
        tmp_path: Path, stand_in_template: Path) -> None:
    without = compare_class(_entries(tmp_path), templates=[], against=[], threshold=None)
    with_template = compare_class(_entries(tmp_path), templates=[stand_in_template],
                                  against=[], threshold=None)
    rows = {r["student"]: r for r in with_template.to_json()["submissions"]}
    rows_without = {r["student"]: r for r in without.to_json()["submissions"]}
    for student, row in rows.items():
        assert row["tokens"] == row["template_tokens"] + row["common_tokens"] + \
            row["kept_tokens"]
        assert row["kept_share"] <= rows_without[student]["kept_share"]
        assert rows_without[student]["template_tokens"] == 0
    assert sum(r["template_tokens"] for r in rows.values()) > 0
    assert sum(r["common_tokens"] for r in rows_without.values()) > 0


def test_unreadable_files_are_problems_not_exceptions(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json", encoding="utf-8")
    result = compare_class([("good", SAMPLES / "correct_modern.py"), ("bad", bad),
                            ("gone", tmp_path / "gone.py")], templates=[], against=[],
                           threshold=None)
    assert [p.name for p in result.problems] == ["bad", "gone"]
    assert [d.source.name for d in result.submissions] == ["good"]
    assert result.pairs == [] and result.flagged_students() == {}


def test_normalising_on_several_processes_gives_the_same_documents(tmp_path: Path) -> None:
    from grader.similarity.compare import Settings, prepare_all
    from grader.similarity.sources import load_entries

    loaded = load_entries(_entries(tmp_path))
    serial = prepare_all(loaded.sources, Settings(), workers=1)
    parallel = prepare_all(loaded.sources, Settings(), workers=2)
    assert [d.source.name for d in parallel] == [d.source.name for d in serial]
    for one, other in zip(serial, parallel, strict=True):
        assert one.normalized.tokens == other.normalized.tokens
        assert (one.normalized.token_lines == other.normalized.token_lines).all()
        assert (one.prints.kgrams == other.prints.kgrams).all()
        assert (one.prints.selected == other.prints.selected).all()
