"""Student ids and shown file names, made from names that students and their tools chose.

Why one function: a student id becomes a folder name under --out, a gradebook key, a URL
segment and a CSV cell. It must never be `.` or `..` or hold a separator (so it can
never write outside --out), must be printable even when the file name is not UTF-8
(Latin-1 names from old Windows tools arrive as surrogate escapes), and two different
names must never become one id (`bob.py` and `bob .py` are two students, not one student
with two submissions). Escaping is therefore injective, like URL percent-encoding:
letters and digits of any script stay as they are (José stays José), everything else
becomes %XX of its bytes.
"""

from __future__ import annotations

import hashlib

MAX_ID_LENGTH = 120
_KEPT = frozenset("_-.@+")


def _escape(character: str) -> str:
    raw = character.encode("utf-8", "surrogateescape")
    return "".join(f"%{byte:02X}" for byte in raw)


def student_id(name: str) -> str:
    """A student id for `name` (a file stem, a folder name or a roster entry): one safe
    path segment, printable, and different for every different `name`."""
    escaped = "".join(c if (c.isalnum() and c.isprintable() and not _is_surrogate(c))
                      or c in _KEPT else _escape(c) for c in name)
    if escaped.startswith("."):
        escaped = "%2E" + escaped[1:]
    if escaped.endswith("."):
        escaped = escaped[:-1] + "%2E"
    if not escaped:
        return "%00"  # no name at all; no real name escapes to this
    if len(escaped) > MAX_ID_LENGTH:
        digest = hashlib.sha256(escaped.encode()).hexdigest()[:12]
        escaped = f"{escaped[:MAX_ID_LENGTH - 13]}~{digest}"
    return escaped


def display_name(name: str) -> str:
    """A file name as text that can be shown and stored anywhere: bytes that are not
    UTF-8 are written as \\xNN instead of failing every writer downstream."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _is_surrogate(character: str) -> bool:
    return "\ud800" <= character <= "\udfff"
