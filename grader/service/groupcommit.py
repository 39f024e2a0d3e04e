"""Uploads that arrive together are recorded in one SQLite transaction (group commit).

Why: SQLite has one writer, and each commit waits for its fsync. Twenty students
uploading at once made twenty transactions queue for the write lock, one fsync each; the
last upload waited for all of them. Here the first upload to arrive takes the lock and
records, in one transaction, every upload waiting by then; each in its own SAVEPOINT, so
an upload refused halfway (its deadline passed, its attempts used) leaves no trace and
does not undo the others. Then it hands the lead to the next upload waiting, which does
the same for the next group: nobody records more than one group, nobody waits longer
than the group ahead of theirs. A failed commit fails every upload of its group with
the same error (`gradebook.retrying` then tries each again on its own).

On PostgreSQL each action is its own transaction: row locks let writers run side by
side, so there is nothing to group.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from grader.service import db

T = TypeVar("T")
LARGEST_GROUP = 32  # uploads per transaction: bounds how long one group holds the database


class _Waiting:
    def __init__(self, action: Callable[[Connection], Any]) -> None:
        self.action = action
        self.result: Any = None
        self.error: BaseException | None = None
        self.lead = False  # this one records the next group
        self.ready = threading.Event()  # recorded, failed, or asked to lead


class GroupCommit:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._guard = threading.Lock()
        self._waiting: list[_Waiting] = []
        self._leading = False

    def run(self, action: Callable[[Connection], T]) -> T:
        """`action(connection)` inside a write transaction; its result, or its exception."""
        if not db.is_sqlite(self.engine):
            with db.writing(self.engine) as connection:
                return action(connection)
        mine = _Waiting(action)
        with self._guard:
            self._waiting.append(mine)
            mine.lead = not self._leading
            self._leading = True
        if not mine.lead:
            mine.ready.wait()
        if mine.lead:
            self._record_next_group()
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[no-any-return]

    def _record_next_group(self) -> None:
        with self._guard:
            group = self._waiting[:LARGEST_GROUP]  # the leader is the first of them
            del self._waiting[:LARGEST_GROUP]
        try:
            _record(self.engine, group)
        finally:
            with self._guard:
                if self._waiting:
                    self._waiting[0].lead = True
                    self._waiting[0].ready.set()
                else:
                    self._leading = False
            for waiting in group:
                waiting.ready.set()


def _record(engine: Engine, group: list[_Waiting]) -> None:
    try:
        with db.writing(engine) as connection:
            for waiting in group:
                try:
                    with connection.begin_nested():
                        waiting.result = waiting.action(connection)
                except Exception as exc:  # this upload's own refusal: the savepoint undid it
                    waiting.error = exc
    except BaseException as exc:  # BEGIN or COMMIT failed: nothing of the group was kept
        for waiting in group:
            if waiting.error is None:
                waiting.error, waiting.result = exc, None


_GROUPS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
_GROUPS_GUARD = threading.Lock()


def group_commit(engine: Engine) -> GroupCommit:
    """The group commit of an engine (the web process has one engine on its database)."""
    with _GROUPS_GUARD:
        found = _GROUPS.get(engine)
        if found is None:
            found = _GROUPS[engine] = GroupCommit(engine)
        return found
