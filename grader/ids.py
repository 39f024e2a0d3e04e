"""Student ids and shown file names, made from names that students and their tools chose.

Why one function: a student id becomes a folder name under --out, a gradebook key, a URL
segment and a CSV cell. It must never be `.` or `..` or hold a separator (so it can
never write outside --out), must be printable even when the file name is not UTF-8
(Latin-1 names from old Windows tools arrive as surrogate escapes), and two different
names must never become one id (`bob.py` and `bob .py` are two students, not one student
with two submissions). Escaping is therefore injective, like URL percent-encoding:
letters and digits of any script stay as they are (José stays José), everything else
becomes %XX of its bytes.

One case remains where two ids can still name one folder: ids that differ only by case
(`Bob`, `bob`) on a case-insensitive file system (macOS, Windows shares). `by_case`
keeps them apart with a `~2` suffix, which no escaped name can end with.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping

MAX_ID_BYTES = 120  # UTF-8 bytes: a folder name may hold 255, and José's é takes two
_KEPT = frozenset("_-.@+")
_DIGEST = 12
_UNITS = re.compile(r"%u[0-9A-F]{4}|%[0-9A-F]{2}|.", re.DOTALL)


def _escape(character: str) -> str:
    """%XX of the character's bytes (a Latin-1 byte of a file name, surrogate-escaped by
    Python, is its own byte); a surrogate that stands for no byte gets %uXXXX."""
    try:
        raw = character.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return f"%u{ord(character):04X}"
    return "".join(f"%{byte:02X}" for byte in raw)


def _kept(character: str) -> bool:
    return character in _KEPT or (character.isalnum() and character.isprintable()
                                  and not _is_surrogate(character))


def student_id(name: str) -> str:
    """A student id for `name` (a file stem, a folder name or a roster entry): one safe
    path segment, printable, and different for every different `name`."""
    escaped = "".join(c if _kept(c) else _escape(c) for c in name)
    if escaped.startswith("."):
        escaped = "%2E" + escaped[1:]
    if escaped.endswith("."):
        escaped = escaped[:-1] + "%2E"
    if not escaped:
        return "%00"  # no name at all; no real name escapes to this
    if len(escaped.encode("utf-8")) > MAX_ID_BYTES:
        return _shortened(escaped)
    return escaped


def _shortened(escaped: str) -> str:
    """A prefix that fits MAX_ID_BYTES with a digest of the whole id, so two long names
    that share their first hundred bytes still get two ids."""
    digest = hashlib.sha256(escaped.encode("utf-8")).hexdigest()[:_DIGEST]
    prefix, size = "", 0
    for unit in _UNITS.findall(escaped):  # never half of a %XX
        size += len(unit.encode("utf-8"))
        if size > MAX_ID_BYTES - _DIGEST - 1:
            break
        prefix += unit
    return f"{prefix}~{digest}"


def case_key(student: str) -> str:
    """What a case-insensitive file system compares: `Bob` and `bob` are one folder."""
    return unicodedata.normalize("NFC", student).casefold()


def by_case(names: Mapping[str, str]) -> dict[str, str]:
    """Each id of `names` (id → the name it was made from) mapped to the id to use: ids
    equal ignoring case all stay, the first by original name as it is, the others with
    `~2`, `~3`… (escaped names never hold `~` but before a 12-digit digest)."""
    groups: dict[str, list[str]] = {}
    for student in names:
        groups.setdefault(case_key(student), []).append(student)
    chosen: dict[str, str] = {}
    for group in groups.values():
        group.sort(key=lambda student: (names[student], student))
        for number, student in enumerate(group, start=1):
            chosen[student] = student if number == 1 else f"{student}~{number}"
    return chosen


def display_name(name: str, limit: int | None = None) -> str:
    """A file name as text that can be shown and stored anywhere: bytes that are not
    UTF-8 are written as \\xNN instead of failing every writer downstream. With a
    `limit`, a longer name is cut in the middle (a path 32 folders deep in a message)."""
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        raw = name.encode("utf-8", "backslashreplace")
    shown = raw.decode("utf-8", "backslashreplace")
    if limit is None or len(shown) <= limit:
        return shown
    return f"{shown[:limit // 2]}…{shown[-(limit // 2):]}"


def _is_surrogate(character: str) -> bool:
    return "\ud800" <= character <= "\udfff"
