"""Text from a submission made inert before it reaches a terminal.

Why: an instructor runs `grader grade` and `grader batch` in a terminal, and what they
print includes strings a student chose (exception messages, file names, check messages).
A terminal obeys escape sequences in that text: colours, cursor moves, OSC 8 hyperlinks,
OSC 52 clipboard writes, title changes. Every control character except newline and tab
is shown as a visible escape instead, and so are the bidirectional-text overrides that
make a line read differently from what it holds, and the surrogate escapes of a file
name that is not UTF-8 (which no terminal encoding can write: printing one raised).
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff]")


def inert(text: object) -> str:
    """`text` with every unsafe character written as its escape (ESC → '\\x1b', a
    Latin-1 byte of a file name → '\\udce9')."""
    return _UNSAFE.sub(lambda found: found.group(0).encode("unicode_escape").decode("ascii"),
                       str(text))
