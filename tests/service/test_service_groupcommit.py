"""Group commit of uploads (grader/service/groupcommit.py): uploads that arrive together
share one transaction, each in its own savepoint."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from grader.service import db, groupcommit

pytestmark = pytest.mark.timeout(120)  # a hand-over that never comes fails in minutes


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Any]:
    engine = db.connect(f"sqlite:///{tmp_path / 'service.sqlite'}")
    with db.writing(engine) as connection:
        connection.execute(text("CREATE TABLE rows (name TEXT UNIQUE)"))
    yield engine
    engine.dispose()


def _names(engine: Any) -> list[str]:
    with db.reading(engine) as connection:
        return sorted(r[0] for r in connection.execute(text("SELECT name FROM rows")))


def _insert(name: str) -> Any:
    def action(connection: Connection) -> str:
        connection.execute(text("INSERT INTO rows VALUES (:n)"), {"n": name})
        return name
    return action


release = threading.Event()  # lets the first action of a test finish


def _run_together(recorder: groupcommit.GroupCommit, actions: list[Any],
                  first_holds: threading.Event) -> list[Any]:
    """Start the first action, which holds its group open until the others are waiting,
    then the others; what each returned or raised."""
    outcomes: list[Any] = [None] * len(actions)

    def run(index: int) -> None:
        try:
            outcomes[index] = recorder.run(actions[index])
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    threads[0].start()
    assert first_holds.wait(30)
    for thread in threads[1:]:
        thread.start()
    for _ in range(3000):  # until every other one is queued (30 s at most)
        if len(recorder._waiting) >= len(actions) - 1:
            break
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "an upload waited forever for its group"
    return outcomes


def _holding(name: str, started: threading.Event) -> Any:
    def action(connection: Connection) -> str:
        started.set()
        assert release.wait(30)
        return _insert(name)(connection)  # type: ignore[no-any-return]
    return action


def test_uploads_waiting_together_are_recorded_in_one_transaction(
        engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    groups: list[int] = []
    real = groupcommit._record
    monkeypatch.setattr(groupcommit, "_record",
                        lambda e, group: (groups.append(len(group)), real(e, group))[1])
    release.clear()
    started = threading.Event()
    actions = [_holding("first", started)] + [_insert(f"n{i:02d}") for i in range(12)]
    outcomes = _run_together(groupcommit.GroupCommit(engine), actions, started)
    assert outcomes == ["first"] + [f"n{i:02d}" for i in range(12)]
    assert groups == [1, 12]  # the first alone, then all who waited behind it: one commit
    assert _names(engine) == sorted(["first"] + [f"n{i:02d}" for i in range(12)])


def test_an_upload_refused_inside_a_group_leaves_no_trace_and_keeps_the_others(
        engine: Any) -> None:
    def refused(connection: Connection) -> None:
        connection.execute(text("INSERT INTO rows VALUES ('half-done')"))
        raise ValueError("its deadline passed")

    release.clear()
    started = threading.Event()
    actions = [_holding("first", started), _insert("a"), refused, _insert("a"), _insert("b")]
    outcomes = _run_together(groupcommit.GroupCommit(engine), actions, started)
    assert outcomes[:2] == ["first", "a"]
    assert isinstance(outcomes[2], ValueError)
    assert "UNIQUE" in str(outcomes[3])  # the same name twice: the second one's own error
    assert outcomes[4] == "b"
    assert _names(engine) == ["a", "b", "first"]


def test_a_commit_that_fails_fails_every_upload_of_its_group(
        engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = db.writing

    @contextmanager
    def failing_commit(engine: Any) -> Iterator[Connection]:
        with real(engine) as connection:
            yield connection
            connection.rollback()
        raise OperationalError("COMMIT", None, Exception("disk I/O error"))

    monkeypatch.setattr(groupcommit.db, "writing", failing_commit)
    outcome = None
    try:
        groupcommit.GroupCommit(engine).run(_insert("lost"))
    except OperationalError as exc:
        outcome = exc
    assert outcome is not None and "disk I/O error" in str(outcome)
    assert _names(engine) == []


def test_postgresql_gets_a_transaction_per_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    class Postgres:
        dialect = type("Dialect", (), {"name": "postgresql"})()

    @contextmanager
    def writing(engine: Any) -> Iterator[str]:
        seen.append("transaction")
        yield "connection"

    monkeypatch.setattr(groupcommit.db, "writing", writing)
    recorder = groupcommit.GroupCommit(Postgres())  # type: ignore[arg-type]
    assert recorder.run(lambda connection: connection + " used") == "connection used"
    assert seen == ["transaction"]
