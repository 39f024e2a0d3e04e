"""The course secret: what no run can see, and what every unpredictable choice derives from.

Why: a student can read this grader's source, so anything drawn from a public seed can
be drawn again inside the run — the built-in hidden split was one (its seed followed from
the training seed), the grader's callback test another. The secret is 32 random bytes made
once per data folder (`grader data make`, or the first grading) and kept there, 0600,
outside every sandbox. From it come, through HMAC-SHA256 (derive): the built-in hidden
split's seed, and for each submission the order the scorer feeds the images in and the
accuracy sequences the callback test plays.

Every machine grading one course must use the same secret, or a grade would depend on
the machine: `grader batch --cluster` sends it with each task; GRADER_COURSE_SECRET (hex)
sets it explicitly (CI, Gradescope images, a cluster sharing no data folder).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from grader.errors import DataError

SECRET_FILE = "course.secret"
SECRET_ENV = "GRADER_COURSE_SECRET"
SECRET_BYTES = 32
MIN_CONFIGURED_BYTES = 16


def course_secret(data_dir: Path) -> bytes:
    """The secret of the data folder `data_dir` (made now if it has none), or the one
    GRADER_COURSE_SECRET sets."""
    configured = _configured()
    if configured is not None:
        return configured
    path = data_dir / SECRET_FILE
    try:
        value = path.read_bytes()
    except FileNotFoundError:
        return _create(path)
    except OSError as exc:
        raise DataError(f"cannot read the course secret {path}: {exc.strerror}") from None
    if len(value) != SECRET_BYTES:
        raise DataError(f"{path} is not a course secret ({len(value)} bytes, not "
                        f"{SECRET_BYTES}); remove it to make a new one, which redraws "
                        "the built-in hidden split")
    return value


def location(data_dir: Path) -> str:
    """Where the secret `course_secret(data_dir)` returns is kept, for one line of output."""
    if _configured() is not None:
        return f"the {SECRET_ENV} environment variable"
    return str(data_dir / SECRET_FILE)


def _configured() -> bytes | None:
    text = os.environ.get(SECRET_ENV, "").strip()
    if not text:
        return None
    try:
        value = bytes.fromhex(text)
    except ValueError:
        raise DataError(f"{SECRET_ENV} must be hexadecimal") from None
    if len(value) < MIN_CONFIGURED_BYTES:
        raise DataError(f"{SECRET_ENV} must hold at least {MIN_CONFIGURED_BYTES} bytes "
                        f"({2 * MIN_CONFIGURED_BYTES} hex digits)")
    return value


def _create(path: Path) -> bytes:
    """Written whole to a private temporary file, then published with link(2), which
    fails if the name exists: two graders starting at once agree on one secret, and
    neither can read a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(SECRET_BYTES)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return course_secret(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return value


def derive(secret: bytes, *parts: str) -> int:
    """A 63-bit number no one without the secret can predict, the same for the same
    parts (so a regrade is the same grading)."""
    message = "\0".join(parts).encode("utf-8", "surrogateescape")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def hidden_seed(secret: bytes, dataset: str) -> int:
    """The seed of a built-in set's hidden split: unpredictable without the secret."""
    return derive(secret, "hidden", dataset)


def fingerprint(secret: bytes) -> str:
    """What may be written next to data drawn from the secret: it tells whether two data
    sets came from the same secret, and nothing about the secret itself."""
    return hashlib.sha256(b"grader-course-secret\0" + secret).hexdigest()[:16]
