"""The service's log: one line per record, text or JSON, never a line a request wrote.

Why escaping is done here, in the formatter, and not where each value is logged: a
request's path, a typed instructor name or an exception message can hold a newline or a
control character, and one forgotten call site is enough to let a request write a forged
line ("instructor login …") into the log. The formatter sees every record of every module
(uvicorn's and asyncio's included), so no raw control character can reach the file: a
newline becomes `\\x0a`, a backslash `\\\\`, and a traceback's lines are indented, so
nothing in them can pass for a record of its own.

Why some records are throttled: when the process runs out of file descriptors, asyncio
logs the failed accept() with a traceback on every retry (114,687 lines, 50 MB, in one
flood). A record caused by exhaustion (EMFILE, ENFILE, ENOBUFS, ENOMEM, or one of the
service's own refusals) is written at most once per `interval` seconds per kind, with the
number left out; so are uvicorn's warnings about malformed requests, which anyone can
cause once per request.
"""

from __future__ import annotations

import errno
import json
import logging
import re
import sys
import time
from typing import Any

FORMATS = ("text", "json")
EXHAUSTION = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
THROTTLED = "throttled"  # `extra={THROTTLED: True}`: a record that repeats under a flood
FIELDS = ("method", "path", "status", "duration_ms", "client")  # of the access log
# uvicorn's warnings that anyone can cause at will, one per request
FLOOD_MESSAGES = {"Invalid HTTP request received.", "Exceeded concurrency limit."}
_CONTROL = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape(text: str) -> str:
    r"""`text` with every control character (and the backslash) written as an escape:
    the result holds no line break of any kind, and differs from its input only there."""
    def one(found: re.Match[str]) -> str:
        char = found.group()
        if char == "\\":
            return "\\\\"
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(one, text)


class TextFormatter(logging.Formatter):
    """`time logger LEVEL message`, the message escaped, a traceback indented."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return "\n".join("    | " + escape(line)
                         for line in super().formatException(ei).splitlines())

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return "\n".join("    | " + escape(line) for line in stack_info.splitlines())


class JsonFormatter(logging.Formatter):
    """One JSON object per line (`grader serve --log-format json`), for a log collector:
    time, level, logger, message, the access log's fields, and the traceback if any. JSON
    escapes every control character itself."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        entry.update({name: getattr(record, name) for name in FIELDS if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=True, default=str)


def exhaustion(record: logging.LogRecord) -> bool:
    """Whether `record` is one a flood repeats: running out of descriptors or memory, or
    a warning any client can cause once per request."""
    if getattr(record, THROTTLED, False) or str(record.msg) in FLOOD_MESSAGES:
        return True
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, OSError) and error.errno in EXHAUSTION:
        return True
    return "Too many open files" in str(record.msg)


class Throttle(logging.Filter):
    """At most one record per `interval` seconds of each kind that `exhaustion` picks;
    the next one let through says how many were left out."""

    def __init__(self, interval: float = 60.0) -> None:
        super().__init__()
        self.interval = interval
        self.seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not exhaustion(record):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        last, dropped = self.seen.get(key, (float("-inf"), 0))
        if now - last < self.interval:
            self.seen[key] = (last, dropped + 1)
            return False
        if len(self.seen) > 1000:  # kinds are few (code's messages); bound it anyway
            self.seen.clear()
        self.seen[key] = (now, 0)
        if dropped:
            record.msg = f"{record.msg} [{dropped} more like this in the last " \
                         f"{self.interval:.0f} s were not logged]"
        return True


def setup(log_format: str = "text", interval: float = 60.0) -> None:
    """The process's only log handler: stderr, escaped, throttled under a flood."""
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else
                         TextFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.addFilter(Throttle(interval))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
