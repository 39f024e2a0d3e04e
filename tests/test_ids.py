"""grader.ids: a student id is one safe path segment, printable, and different for every
different name; ids equal but for case are kept apart by `by_case`."""

from __future__ import annotations

import os
import random
import unicodedata

import pytest

from grader.ids import MAX_ID_BYTES, by_case, case_key, display_name, student_id

HOSTILE = ["..", ".", "...", "", " ", "/", "\\", "a/b", "a\\b", "../../etc/passwd",
           "bob", "bob ", " bob", "bob.", ".bob", "Bob", "BOB", "o'brien", "o_brien",
           "o%27brien", "%2E%2E", "José", "Jose\u0301", "Jos\udce9", "Jos\udcc3\udca9",
           "\x1b]8;;http://x\x07", "[bold]x[/bold]", "a\0b", "=1+1", "-x", "@x", "+x",
           "bob~2", "con", "index.html", "\u202eevil", "tab\tname", "new\nline",
           "x" * 500, "x" * 499 + "y", "字" * 100, "字" * 99 + "子", "%" * 200]


def _is_one_safe_segment(student: str) -> bool:
    return bool(student) and student not in (".", "..") and not student.startswith(".") \
        and "/" not in student and "\\" not in student and "\0" not in student \
        and os.sep not in student


@pytest.mark.parametrize("name", HOSTILE)
def test_every_id_is_one_safe_printable_bounded_segment(name: str) -> None:
    student = student_id(name)
    assert _is_one_safe_segment(student), student
    assert student.isprintable()
    assert len(student.encode("utf-8")) <= MAX_ID_BYTES  # encodes: no surrogates left
    assert not student.endswith(".")


def test_distinct_names_never_share_an_id() -> None:
    ids = {student_id(name) for name in HOSTILE}
    assert len(ids) == len(set(HOSTILE))


def test_random_names_never_share_an_id() -> None:
    rng = random.Random(20240607)
    alphabet = "aAbB .-_~%/\\\t\x1bé\u0301字\udce9@+=?#'"
    names = {"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
             for _ in range(20_000)}
    ids = [student_id(name) for name in names]
    assert len(set(ids)) == len(names)
    assert all(_is_one_safe_segment(i) for i in ids)


@pytest.mark.parametrize(("name", "expected"), [
    ("ada", "ada"),
    ("ada.lovelace@uni.edu", "ada.lovelace@uni.edu"),
    ("o'brien", "o%27brien"),  # was o_brien: the old ids merged o'brien with o_brien
    ("bob ", "bob%20"),
    ("José Núñez", "José%20Núñez"),  # letters of any script stay
    ("..", "%2E%2E"),
    ("...", "%2E.%2E"),
    ("a/b", "a%2Fb"),
    ("Jos\udce9", "Jos%E9"),  # a Latin-1 byte, as Linux hands it to Python
    ("", "%00"),
])
def test_ids(name: str, expected: str) -> None:
    assert student_id(name) == expected


def test_long_names_are_cut_by_bytes_with_a_digest() -> None:
    wide = student_id("字" * 100)  # 300 bytes: a folder name may hold 255
    assert len(wide.encode("utf-8")) <= MAX_ID_BYTES and "~" in wide
    assert student_id("字" * 99 + "子") != wide
    escaped = student_id("%" * 200)  # never cut inside a %XX
    assert escaped.split("~")[0].endswith("%25")


def test_display_name_keeps_latin1_bytes_visible() -> None:
    assert display_name("Jos\udce9.py") == "Jos\\xe9.py"
    assert display_name("José.py") == "José.py"
    display_name("\udcff\udcfe").encode("utf-8")


def test_by_case_keeps_every_id_and_suffixes_all_but_the_first() -> None:
    names = {"bob": "bob", "Bob": "Bob", "BOB": "BOB", "ada": "ada"}
    chosen = by_case(names)
    assert chosen == {"BOB": "BOB", "Bob": "Bob~2", "bob": "bob~3", "ada": "ada"}
    assert len({case_key(s) for s in chosen.values()}) == 4
    assert by_case(dict(reversed(names.items()))) == chosen  # order of arrival is no matter


def test_by_case_suffixes_never_collide_with_escaped_names() -> None:
    names = {student_id(n): n for n in ("bob", "Bob", "bob~2", "Bob~2")}
    chosen = by_case(names)
    assert len({case_key(s) for s in chosen.values()}) == 4
    assert student_id("bob~2") == "bob%7E2"


def test_case_key_matches_what_case_insensitive_file_systems_merge() -> None:
    assert case_key("José") == case_key(unicodedata.normalize("NFD", "JOSÉ"))
    assert case_key("bob") != case_key("bob%20")


def test_a_surrogate_that_stands_for_no_byte_is_escaped_not_an_error() -> None:
    assert student_id("\ud800") == "%uD800"
    assert student_id("\ud800") != student_id("\udced\udca0\udc80")
    assert display_name("\ud800").encode("utf-8")
    long = student_id("\ud800" * 40)
    assert long.split("~")[0].endswith("%uD800")
