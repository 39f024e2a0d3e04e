"""A run's output as the grader keeps it: the last bytes of each stream, as a terminal
would show them, with a count of everything the run wrote."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Tail:
    """Keeps the last `limit` bytes of a stream and counts all of it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.total = 0

    def feed(self, stream: object) -> None:
        while chunk := stream.read1(65536):  # type: ignore[attr-defined]
            self.total += len(chunk)
            self.buffer += chunk
            if len(self.buffer) > 128 * self.limit:
                del self.buffer[: -64 * self.limit]

    def text(self) -> str:
        shown = render_terminal(bytes(self.buffer).decode("utf-8", "replace"))
        if self.total > len(self.buffer) or len(shown) > self.limit:
            return "[… earlier output not kept]\n" + shown[-self.limit:]
        return shown


def render_terminal(text: str) -> str:
    """What a terminal would show: progress bars redrawn with \\r and \\b collapse to their
    last state, colour codes dropped. Keeps the kept tail about the run, not the bars."""
    lines = []
    for line in _ANSI.sub("", text).split("\n"):
        line = line.rstrip("\r").rsplit("\r", 1)[-1]
        if "\b" in line:
            kept: list[str] = []
            for char in line:
                if char == "\b":
                    if kept:
                        kept.pop()
                else:
                    kept.append(char)
            line = "".join(kept)
        lines.append(line)
    return "\n".join(lines)
