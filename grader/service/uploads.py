"""What the service accepts from a student, checked before any job exists.

In order, each with its own status so a client can tell what to fix: the body is no
larger than the limit (413), the file is named .ipynb or .py (415), its bytes are UTF-8
text and a notebook is notebook JSON with a code cell (422), the link is still valid,
the deadline allows it (409), an attempt is left (409), the cooldown has passed (429).
The bytes are stored (fsynced) before the transaction that creates the attempt and its
job commits; only then does the client hear "accepted".

Why not the grader's full notebook validation here: nbformat's schema validation takes
tens of milliseconds of CPU per notebook in the web process; the grader validates again
when it loads the file and reports a schema problem as the attempt's error. Here we
refuse what is plainly not a submission.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from grader.ids import display_name
from grader.results.gradebook import retrying
from grader.service import auth, courses, db, groupcommit, policy, queue
from grader.service.storage import Storage, TooLarge

SUFFIXES = {".ipynb": "notebook", ".py": "module"}
DEFAULT_LIMIT = 20 * 1024 * 1024


class Refused(Exception):
    """An upload the service will not take; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass(frozen=True)
class Accepted:
    job_id: int
    attempt_id: int
    number: int
    sha256: str
    position: int  # in the queue when accepted


def shown_name(filename: str | None) -> str:
    """The name to show: the last part of what the browser sent, printable, bounded."""
    last = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return display_name(last)[:200] or "submission"


def suffix_of(filename: str | None) -> str:
    name = shown_name(filename).lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    raise Refused(415, "only a Jupyter notebook (.ipynb) or a Python module (.py) can be "
                       f"submitted; got {shown_name(filename)!r}")


def check_content(data: bytes, suffix: str) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(422, f"the file is not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise Refused(422, "the file is empty")
    if suffix == ".py":
        return
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Refused(422, f"not notebook JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise Refused(422, "the notebook JSON is nested too deeply") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise Refused(422, "not a Jupyter notebook: no list of 'cells'")
    if notebook.get("nbformat") != 4:
        raise Refused(422, f"notebook format {notebook.get('nbformat')!r} is not supported "
                           "(save it as nbformat 4, what Jupyter and Colab write)")
    if not any(isinstance(c, dict) and c.get("cell_type") == "code" and "".join(
            c["source"] if isinstance(c.get("source"), list) else [str(c.get("source", ""))]
    ).strip() for c in notebook["cells"]):
        raise Refused(422, "the notebook has no code cell")


def accept(engine: Engine, storage: Storage, student: auth.Student, source: BinaryIO,
           filename: str | None, limit: int = DEFAULT_LIMIT) -> Accepted:
    """Check, store and enqueue one upload; raises Refused with the reason otherwise."""
    suffix = suffix_of(filename)
    try:
        with storage.staged(source, limit) as staged:
            with staged.path.open("rb") as handle:
                check_content(handle.read(), suffix)
            storage.keep(staged)
    except TooLarge:
        raise Refused(413, f"the file is larger than {limit / 2**20:g} MB") from None
    recorder = groupcommit.group_commit(engine)
    return retrying(lambda: recorder.run(lambda connection: _record(
        connection, student, staged.sha256, staged.size, suffix, shown_name(filename))))


# Built once, with bound parameters: building a statement costs more CPU than SQLite
# takes to run it, and every upload runs these. Few: on PostgreSQL each is a round trip,
# and each round trip of twenty uploads at once waits its turn for this process's GIL.
def _state_of_link() -> Any:
    """The link's assignment rules, whether it was revoked, and the attempts made with it:
    in one query."""
    tokens, attempts = db.tokens, db.attempts.c
    mine = (attempts.assignment_id == tokens.c.assignment_id) & \
        (attempts.student_id == tokens.c.student_id)
    return select(
        *courses.assignment_columns(),  # first: policy.Assignment(*row[:_RULES])
        tokens.c.revoked_at,
        select(func.count()).where(mine).scalar_subquery().label("used"),
        select(func.max(attempts.submitted_at)).where(mine).scalar_subquery().label("last"),
        select(func.coalesce(func.max(attempts.number), 0)).where(mine).scalar_subquery()
        .label("highest"),
    ).select_from(tokens.join(db.assignments, db.assignments.c.id == tokens.c.assignment_id)) \
        .where(tokens.c.id == bindparam("token_id"))


_RULES = len(fields(policy.Assignment))
_LINK = _state_of_link()
# PostgreSQL: one upload at a time per student and assignment, by locking the link's token
# row (never the assignment's, which other students share) in a statement of its own. A
# query that waited for the lock would still count the attempts of the snapshot it began
# with, before the upload that held the lock committed; the next statement sees it.
_LOCK_LINK = select(db.tokens.c.id).where(db.tokens.c.id == bindparam("token_id")) \
    .with_for_update()
_STORE = {"sqlite": sqlite_insert(db.uploads).on_conflict_do_nothing(),
          "postgresql": postgresql_insert(db.uploads).on_conflict_do_nothing()}
_ATTEMPT = db.attempts.insert()


def _record(connection: Connection, student: auth.Student, sha256: str, size: int,
            suffix: str, filename: str) -> Accepted:
    """The attempt and its job, in the write transaction of its group (groupcommit)."""
    if not db.is_sqlite(connection):
        connection.execute(_LOCK_LINK, {"token_id": student.token_id})
    link = connection.execute(_LINK, {"token_id": student.token_id}).first()
    if link is None or link.revoked_at is not None:
        raise Refused(401, "this link has been revoked; ask your instructor for a new one")
    assignment = policy.Assignment(*link[:_RULES])
    used, last, highest = link.used, link.last, link.highest
    moment = db.now()
    if policy.refuses(assignment, moment):
        raise Refused(409, f"the deadline ({assignment.deadline} UTC) has passed and this "
                           "assignment does not accept late work")
    mine = {"assignment_id": assignment.id, "student_id": student.student_id}
    if assignment.max_attempts is not None and used >= assignment.max_attempts:
        raise Refused(409, f"all {assignment.max_attempts} attempt(s) are used")
    if assignment.cooldown_seconds and last:
        waited = (datetime.now(UTC) - db.parse(last)).total_seconds()
        if waited < assignment.cooldown_seconds:
            wait = int(assignment.cooldown_seconds - waited) + 1
            raise Refused(429, f"wait {wait} s before the next attempt (at least "
                               f"{assignment.cooldown_seconds} s between attempts)", wait)
    connection.execute(_STORE[connection.dialect.name], {
        "sha256": sha256, "size": size, "kind": SUFFIXES[suffix], "stored_at": moment})
    number = int(highest or 0) + 1
    attempt = int(connection.execute(_ATTEMPT, {
        **mine, "number": number, "upload_sha256": sha256, "filename": filename,
        "suffix": suffix, "submitted_at": moment}).inserted_primary_key[0])
    job = queue.enqueue(connection, attempt)
    return Accepted(job, attempt, number, sha256, queue.position_of_new(connection, job))
